package daemon

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"regexp"
	"testing"

	"hushbox/pbx/auth"
	"hushbox/pbx/digest"
	"hushbox/pbx/registrar"
	"hushbox/pbx/sipmsg"
	"hushbox/pbx/store"
)

// benchDir is an in-memory extension directory (the daemon's store keeps
// extensions cached in memory too).
type benchDir map[string]store.Extension

func (d benchDir) Extension(num string) (store.Extension, error) {
	if e, ok := d[num]; ok {
		return e, nil
	}
	return store.Extension{}, store.ErrNotFound
}

// sinkConn is a PacketConn whose writes go nowhere but are remembered,
// so the benchmark measures the REGISTER work without the send syscall.
type sinkConn struct {
	net.PacketConn
	last []byte
}

func (s *sinkConn) WriteTo(b []byte, _ net.Addr) (int, error) {
	s.last = append(s.last[:0], b...)
	return len(b), nil
}

const (
	benchRealm = "bench.test"
	benchUser  = "9001"
	benchPW    = "bench-secret-pw"
)

func newBenchFast(b testing.TB) (*fastRegister, *sinkConn) {
	b.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError}))
	dir := benchDir{benchUser: {Number: benchUser, Realm: benchRealm,
		HA1MD5: digest.HA1(digest.MD5, benchUser, benchRealm, benchPW)}}
	a := auth.New(benchRealm, bytes.Repeat([]byte{7}, 32), dir, log)
	a.SetAlgorithms([]string{digest.MD5})
	signer := sipmsg.Signer{Name: "hushbox"}
	reg := registrar.New(registrar.NewLocation(), a, dir, signer, log)
	conn := &sinkConn{}
	return newFastRegister(reg, signer, conn, log), conn
}

// sippRegister is the REGISTER of pbx/interop/testdata/register.xml as sipp
// sends it; authz is the Authorization line or "".
func sippRegister(call int, cseq int, authz string) []byte {
	if authz != "" {
		authz += "\r\n"
	}
	return []byte(fmt.Sprintf("REGISTER sip:127.0.0.1:5060 SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-%d-%d-0\r\n"+
		"From: <sip:9001@127.0.0.1>;tag=4242SIPpTag0%d\r\n"+
		"To: <sip:9001@127.0.0.1>\r\n"+
		"Call-ID: %d-4242@127.0.0.1\r\n"+
		"CSeq: %d REGISTER\r\n"+
		"Contact: <sip:9001@127.0.0.1:5070>\r\n"+
		"%s"+
		"Max-Forwards: 70\r\n"+
		"Expires: 3600\r\n"+
		"User-Agent: sipp-interop\r\n"+
		"Content-Length: 0\r\n\r\n", call, cseq, call, call, cseq, authz))
}

var benchNonceRE = regexp.MustCompile(`nonce="([^"]+)"`)

// sippAuthorization answers a challenge the way sipp does (MD5, no qop).
func sippAuthorization(nonce string) string {
	h := func(s string) string { x := md5.Sum([]byte(s)); return hex.EncodeToString(x[:]) }
	ha1 := h(benchUser + ":" + benchRealm + ":" + benchPW)
	ha2 := h("REGISTER:sip:127.0.0.1:5060")
	return fmt.Sprintf(`Authorization: Digest username="%s",realm="%s",uri="sip:127.0.0.1:5060",nonce="%s",response="%s",algorithm=MD5`,
		benchUser, benchRealm, nonce, h(ha1+":"+nonce+":"+ha2))
}

var benchFrom = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5070}

// BenchmarkFastRegisterChallenge: a REGISTER without credentials, answered
// 401 (the first half of every registration), from the normalized datagram
// to the bytes handed to the socket.
func BenchmarkFastRegisterChallenge(b *testing.B) {
	f, conn := newBenchFast(b)
	msg := sippRegister(1, 1, "")
	b.ReportAllocs()
	for b.Loop() {
		if !f.answer(sipmsg.Normalize(msg), benchFrom) {
			b.Fatal("not answered")
		}
	}
	if !bytes.HasPrefix(conn.last, []byte("SIP/2.0 401 ")) {
		b.Fatalf("got %q", conn.last)
	}
}

// BenchmarkFastRegisterAuthenticated: the second half: a REGISTER with
// MD5 credentials for a fresh nonce, answered 200 with the binding. The
// requests (one nonce each, as sipp does) are prepared in batches outside
// the timer.
func BenchmarkFastRegisterAuthenticated(b *testing.B) {
	f, conn := newBenchFast(b)
	const batch = 512
	msgs := make([][]byte, 0, batch)
	prepare := func(base int) {
		msgs = msgs[:0]
		for i := range batch {
			if !f.answer(sippRegister(base+i, 1, ""), benchFrom) {
				b.Fatal("challenge not answered")
			}
			m := benchNonceRE.FindSubmatch(conn.last)
			if m == nil {
				b.Fatalf("no nonce in %q", conn.last)
			}
			msgs = append(msgs, sippRegister(base+i, 2, sippAuthorization(string(m[1]))))
		}
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if n%batch == 0 {
			b.StopTimer()
			prepare(n)
			b.StartTimer()
		}
		if !f.answer(sipmsg.Normalize(msgs[n%batch]), benchFrom) {
			b.Fatal("not answered")
		}
		if n%batch == 0 && !bytes.HasPrefix(conn.last, []byte("SIP/2.0 200 ")) {
			b.Fatalf("got %q", conn.last)
		}
		n++
	}
}
