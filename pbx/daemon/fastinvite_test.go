package daemon

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"hushbox/pbx/call"
	"hushbox/pbx/sipmsg"
)

func TestMayHaveCredentials(t *testing.T) {
	for _, tc := range []struct {
		name, msg string
		want      bool
	}{
		{"none", "INVITE sip:1@h SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n\r\nv=0\r\n", false},
		{"Proxy-Authorization", "INVITE sip:1@h SIP/2.0\r\nProxy-Authorization: Digest x\r\n\r\n", true},
		{"lower case", "INVITE sip:1@h SIP/2.0\r\nauthorization: Digest x\r\n\r\n", true},
		{"only in the body", "INVITE sip:1@h SIP/2.0\r\nVia: x\r\n\r\na=authorization\r\n", false},
		{"no end of headers", "INVITE sip:1@h SIP/2.0\r\nAUTHORIZATION: x", true},
		{"too short", "INVITE sip:1@h SIP/2.0\r\nAuthoriz", false},
	} {
		if got := mayHaveCredentials([]byte(tc.msg)); got != tc.want {
			t.Errorf("%s: mayHaveCredentials = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestFastInviteAnswers: what a caller without credentials gets from the
// INVITE fast path is the challenge the stack gave before (same dialog
// identifiers, a Proxy-Authenticate, a fresh one for a retransmission),
// and the INVITEs the fast path leaves to the stack (in-dialog) are still
// answered by it.
func TestFastInviteAnswers(t *testing.T) {
	addr := startFloodDaemon(t)
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	local := conn.LocalAddr().String()
	invite := func(branch, toTag string) string {
		body := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
		return fmt.Sprintf("INVITE sip:101@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=%s;rport\r\n"+
			"From: <sip:201@127.0.0.1>;tag=f1\r\nTo: <sip:101@127.0.0.1>%s\r\nCall-ID: fastinv-%s\r\nCSeq: 1 INVITE\r\n"+
			"Contact: <sip:201@%s>\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
			addr, local, branch, toTag, branch, local, len(body), body)
	}
	read := func() string {
		buf := make([]byte, 4096)
		for {
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, err := conn.Read(buf)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			if !bytes.HasPrefix(buf[:n], []byte("SIP/2.0 100 ")) {
				return string(buf[:n])
			}
		}
	}
	header := func(msg, name string) string {
		for _, l := range strings.Split(msg, "\r\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(strings.TrimSpace(k), name) {
				return strings.TrimSpace(v)
			}
		}
		return ""
	}

	var nonces []string
	for range 2 { // the INVITE and its retransmission
		conn.Write([]byte(invite("z9hG4bKfast1", "")))
		res := read()
		if !strings.HasPrefix(res, "SIP/2.0 407 ") {
			t.Fatalf("INVITE without credentials: got %q, want a 407", strings.SplitN(res, "\r\n", 2)[0])
		}
		if v := header(res, "Via"); !strings.Contains(v, "branch=z9hG4bKfast1") || !strings.Contains(v, "rport=") {
			t.Errorf("407 Via = %q: want the request's branch and the rport filled", v)
		}
		if v := header(res, "Call-ID"); v != "fastinv-z9hG4bKfast1" {
			t.Errorf("407 Call-ID = %q", v)
		}
		if v := header(res, "To"); !strings.Contains(v, ";tag=") {
			t.Errorf("407 To = %q: want a tag", v)
		}
		if v := header(res, "CSeq"); v != "1 INVITE" {
			t.Errorf("407 CSeq = %q", v)
		}
		pa := header(res, "Proxy-Authenticate")
		if !strings.Contains(pa, `realm="flood"`) || !strings.Contains(pa, "nonce=") {
			t.Errorf("407 Proxy-Authenticate = %q: want a digest challenge of realm flood", pa)
		}
		if header(res, "Server") != "hushbox/test" {
			t.Errorf("407 Server = %q, want the daemon's", header(res, "Server"))
		}
		nonces = append(nonces, pa)
	}
	if nonces[0] == "" {
		t.Fatal("no challenge")
	}

	// A re-INVITE for a dialog the PBX does not know goes the stack's way
	// and gets its answer (481), not a challenge.
	conn.Write([]byte(invite("z9hG4bKfast2", ";tag=nosuch")))
	if res := read(); !strings.HasPrefix(res, "SIP/2.0 481 ") {
		t.Errorf("re-INVITE of an unknown dialog: got %q, want a 481", strings.SplitN(res, "\r\n", 2)[0])
	}
}

// BenchmarkInviteChallenge is the daemon's cost of one flood INVITE (no
// credentials, answered with a 407) over loopback UDP, with up to 32 in
// flight; run with -cpu 1 to see the cost on one core.
func BenchmarkInviteChallenge(b *testing.B) {
	addr := fmt.Sprintf("127.0.0.1:%d", floodPort(b))
	stop := benchDaemon(b, addr)
	defer stop()
	conn, err := net.Dial("udp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	local := conn.LocalAddr().String()
	body := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
	send := func(i int) {
		fmt.Fprintf(conn, "INVITE sip:101@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bKb%d;rport\r\n"+
			"From: <sip:201@127.0.0.1>;tag=f%d\r\nTo: <sip:101@127.0.0.1>\r\nCall-ID: bench-%d\r\nCSeq: 1 INVITE\r\n"+
			"Contact: <sip:201@%s>\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
			addr, local, i, i, i, local, len(body), body)
	}
	buf := make([]byte, 4096)
	const window = 32
	b.ResetTimer()
	cpu0 := processCPUTime()
	sent, got := 0, 0
	for got < b.N {
		for sent < b.N && sent-got < window {
			send(sent)
			sent++
		}
		conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, err := conn.Read(buf)
		if err != nil {
			got = sent // lost ones (a full queue): go on
			continue
		}
		if bytes.HasPrefix(buf[:n], []byte("SIP/2.0 407")) {
			got++
		}
	}
	// CPU of the whole process (daemon and this client) per INVITE: what
	// a CPU-limited board pays, less sensitive to the host's load than
	// the wall time.
	b.ReportMetric(float64(processCPUTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// processCPUTime is the process's user and system CPU time so far.
func processCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchDaemon runs a daemon on addr for a benchmark; stop ends it.
func benchDaemon(b *testing.B, addr string) (stop func()) {
	b.Helper()
	out := &readyWriter{ready: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{DataDir: filepath.Join(b.TempDir(), "d"), SIPAddr: addr, RTPPorts: "42100-42199",
			Realm: "flood", MediaIP: "127.0.0.1", MediaTimeout: time.Minute, RingTimeout: time.Minute,
			UserAgent: "hushbox/test", Out: out, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	}()
	select {
	case <-out.ready:
	case err := <-done:
		b.Fatalf("daemon stopped before ready: %v", err)
	}
	return func() { cancel(); <-done }
}

// FuzzFastInviteOffer: whatever arrives, the fast path's look at it (the
// quick scan, the parse, the statelessness test) neither panics nor takes
// a datagram that is not an INVITE.
func FuzzFastInviteOffer(f *testing.F) {
	f.Add([]byte("INVITE sip:101@h SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bK1\r\nFrom: <sip:201@h>;tag=a\r\n" +
		"To: <sip:101@h>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"))
	f.Add([]byte("INVITE sip:101@h SIP/2.0\r\nTo: <sip:101@h>;tag=x\r\n\r\n"))
	f.Add([]byte("INVITE \r\n\r\n"))
	f.Add([]byte("REGISTER sip:h SIP/2.0\r\n\r\n"))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	fi := newFastInvite(call.NewManager(call.Config{Log: log}), func(*sip.Request, sip.ServerTransaction) {}, nil,
		newFastRegister(nil, sipmsg.Signer{}, nil, log), log)
	from := &net.UDPAddr{IP: net.IPv4(10, 0, 0, 5), Port: 5070}
	f.Fuzz(func(t *testing.T, data []byte) {
		took := fi.offer(data, from)
		if took && !bytes.HasPrefix(data, invitePrefix) {
			t.Fatalf("took a datagram that is not an INVITE: %q", data)
		}
		select { // keep the queue from filling
		case <-fi.queue:
		default:
		}
	})
}
