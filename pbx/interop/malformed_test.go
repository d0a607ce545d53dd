package interop

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Malformed and oversized SIP beyond RFC 4475 (issue 8, "Mutation of
// SIP"), sent at a running daemon. For each message the daemon must answer
// with one of the codes the case allows, or drop it, and stay healthy
// afterwards (livePBX.healthy: OPTIONS over UDP, TCP and TLS answered,
// goroutines back near the baseline, no panic in the log).

// sipRequest builds a request from 127.0.0.1 to the daemon at to. cl is
// the Content-Length value to send ("" for the body's true length).
func sipRequest(method, ruri, to, transport string, extra []string, body []byte, cl string) []byte {
	if cl == "" {
		cl = fmt.Sprint(len(body))
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s SIP/2.0\r\n", method, ruri)
	fmt.Fprintf(&b, "Via: SIP/2.0/%s 127.0.0.1:9;branch=z9hG4bK-mal-%d;rport\r\n", transport, time.Now().UnixNano())
	b.WriteString("Max-Forwards: 70\r\n")
	b.WriteString("From: <sip:attacker@127.0.0.1>;tag=mal1\r\n")
	fmt.Fprintf(&b, "To: <sip:101@%s>\r\n", to)
	fmt.Fprintf(&b, "Call-ID: mal-%d@malformed.test\r\n", time.Now().UnixNano())
	fmt.Fprintf(&b, "CSeq: 1 %s\r\n", method)
	fmt.Fprintf(&b, "Contact: <sip:attacker@127.0.0.1:9;transport=%s>\r\n", strings.ToLower(transport))
	for _, h := range extra {
		b.WriteString(h)
		b.WriteString("\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %s\r\n\r\n", cl)
	b.Write(body)
	return b.Bytes()
}

// deepMultipart nests depth multipart/mixed bodies in one another.
func deepMultipart(depth int) (contentType string, body []byte) {
	inner := []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n")
	innerType := "application/sdp"
	for i := range depth {
		boundary := fmt.Sprintf("b%d", i)
		var b bytes.Buffer
		fmt.Fprintf(&b, "--%s\r\nContent-Type: %s\r\n\r\n", boundary, innerType)
		b.Write(inner)
		fmt.Fprintf(&b, "\r\n--%s--\r\n", boundary)
		inner = b.Bytes()
		innerType = fmt.Sprintf("multipart/mixed;boundary=%s", boundary)
	}
	return innerType, inner
}

// malformedCase is one message and what the daemon may do with it.
type malformedCase struct {
	name      string
	transport string // "udp" or "tcp"
	msg       func(to string) []byte
	allow     []int // final or provisional codes allowed; no answer is always allowed
}

// rejectCodes are the refusals the brief names (and 400's kin).
var rejectCodes = []int{400, 413, 416, 513}

func allow(codes ...int) []int { return append(slices.Clone(rejectCodes), codes...) }

func malformedCases() []malformedCase {
	ruri := func(to string) string { return "sip:101@" + to }
	return []malformedCase{
		{"huge-header-60k-tcp", "tcp", func(to string) []byte {
			return sipRequest("OPTIONS", ruri(to), to, "TCP", []string{"Subject: " + strings.Repeat("a", 60_000)}, nil, "")
		}, allow(200)},
		{"10000-headers-tcp", "tcp", func(to string) []byte {
			h := make([]string, 10_000)
			for i := range h {
				h[i] = fmt.Sprintf("X-Junk-%d: %d", i, i)
			}
			return sipRequest("OPTIONS", ruri(to), to, "TCP", h, nil, "")
		}, allow(200)},
		{"10000-via-headers-tcp", "tcp", func(to string) []byte {
			h := make([]string, 10_000)
			for i := range h {
				h[i] = fmt.Sprintf("Via: SIP/2.0/TCP 10.0.%d.%d;branch=z9hG4bK%d", i/250, i%250, i)
			}
			return sipRequest("OPTIONS", ruri(to), to, "TCP", h, nil, "")
		}, allow(200)},
		{"64k-message-tcp", "tcp", func(to string) []byte {
			return sipRequest("OPTIONS", ruri(to), to, "TCP", []string{"Content-Type: text/plain"}, bytes.Repeat([]byte("x"), 64*1024), "")
		}, allow(200, 415)},
		{"huge-udp-datagram", "udp", func(to string) []byte {
			return sipRequest("OPTIONS", ruri(to), to, "UDP", []string{"Subject: " + strings.Repeat("u", 64_000)}, nil, "")
		}, allow(200)},
		{"deep-multipart-invite-tcp", "tcp", func(to string) []byte {
			ct, body := deepMultipart(300)
			return sipRequest("INVITE", ruri(to), to, "TCP", []string{"Content-Type: " + ct}, body, "")
		}, allow(100, 401, 407, 415, 488)},
		{"deeper-multipart-invite-tcp-oversized", "tcp", func(to string) []byte {
			ct, body := deepMultipart(2000)
			return sipRequest("INVITE", ruri(to), to, "TCP", []string{"Content-Type: " + ct}, body, "")
		}, allow(100, 401, 407, 415, 488)},
		{"deep-multipart-options-udp", "udp", func(to string) []byte {
			ct, body := deepMultipart(300)
			return sipRequest("OPTIONS", ruri(to), to, "UDP", []string{"Content-Type: " + ct}, body, "")
		}, allow(200, 415)},
		{"bad-utf8-display-name-invite", "udp", func(to string) []byte {
			m := sipRequest("INVITE", ruri(to), to, "UDP", nil, nil, "")
			return bytes.Replace(m, []byte("From: <sip:attacker"), []byte("From: \"\xff\xfe\xc0\x80\xed\xa0\x80 evil\" <sip:attacker"), 1)
		}, allow(100, 401, 407)},
		{"bad-utf8-display-name-register", "udp", func(to string) []byte {
			m := sipRequest("REGISTER", "sip:"+to, to, "UDP", []string{"Expires: 60"}, nil, "")
			m = bytes.Replace(m, []byte("From: <sip:attacker@127.0.0.1>"), []byte("From: \"\xc3\x28\xa0\xa1\" <sip:101@127.0.0.1>"), 1)
			return bytes.Replace(m, []byte("To: <sip:101@"), []byte("To: \"\xf0\x28\x8c\xbc\" <sip:101@"), 1)
		}, allow(401, 403, 407)},
		{"nul-in-header-value", "udp", func(to string) []byte {
			return sipRequest("OPTIONS", ruri(to), to, "UDP", []string{"Subject: a\x00b\x00c"}, nil, "")
		}, allow(200)},
		{"nul-in-request-uri", "udp", func(to string) []byte {
			return sipRequest("OPTIONS", "sip:1\x0001@"+to, to, "UDP", nil, nil, "")
		}, allow(200, 404)},
		{"nul-in-header-name", "udp", func(to string) []byte {
			return sipRequest("OPTIONS", ruri(to), to, "UDP", []string{"X-\x00Nul: v"}, nil, "")
		}, allow(200)},
		{"nul-body-tcp", "tcp", func(to string) []byte {
			return sipRequest("OPTIONS", ruri(to), to, "TCP", []string{"Content-Type: application/sdp"}, make([]byte, 4096), "")
		}, allow(200, 415, 488)},
		{"content-length-too-short-tcp", "tcp", func(to string) []byte {
			return sipRequest("OPTIONS", ruri(to), to, "TCP", []string{"Content-Type: text/plain"}, bytes.Repeat([]byte("garbage "), 64), "10")
		}, allow(200)},
		{"content-length-too-long-udp", "udp", func(to string) []byte {
			return sipRequest("OPTIONS", ruri(to), to, "UDP", []string{"Content-Type: text/plain"}, []byte("short"), "5000")
		}, allow(200)},
		{"content-length-negative-udp", "udp", func(to string) []byte {
			return sipRequest("OPTIONS", ruri(to), to, "UDP", nil, []byte("abc"), "-3")
		}, allow(200)},
		{"content-length-negative-tcp", "tcp", func(to string) []byte {
			return sipRequest("OPTIONS", ruri(to), to, "TCP", nil, []byte("abc"), "-3")
		}, allow(200)},
		{"content-length-huge-tcp", "tcp", func(to string) []byte {
			return sipRequest("OPTIONS", ruri(to), to, "TCP", nil, []byte("abc"), "99999999999999999999")
		}, allow(200)},
		{"content-length-not-a-number-tcp", "tcp", func(to string) []byte {
			return sipRequest("OPTIONS", ruri(to), to, "TCP", nil, []byte("abc"), "0x10")
		}, allow(200)},
		{"two-content-lengths-tcp", "tcp", func(to string) []byte {
			return sipRequest("OPTIONS", ruri(to), to, "TCP", []string{"Content-Length: 3"}, nil, "0")
		}, allow(200)},
		{"binary-garbage-tcp", "tcp", func(string) []byte {
			b := make([]byte, 8192)
			_, _ = rand.Read(b)
			return b
		}, allow()},
		{"binary-garbage-udp", "udp", func(string) []byte {
			b := make([]byte, 1400)
			_, _ = rand.Read(b)
			return b
		}, allow()},
	}
}

// sendMalformed sends msg and collects the codes of what came back.
func sendMalformed(t *testing.T, addr, transport string, msg []byte) []int {
	t.Helper()
	if transport == "udp" {
		codes, err := sendTortureUDP(addr, 0, msg)
		if err != nil && !strings.Contains(err.Error(), "message too long") {
			t.Fatalf("send: %v", err)
		}
		return codes
	}
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	// The daemon may close the connection before the whole message is in:
	// a write error then is the "drop" outcome.
	_, _ = c.Write(msg)
	codes, _ := readCodes(c, tortureWait)
	return codes
}

func TestMalformedSIP(t *testing.T) {
	p := startLivePBX(t)
	if code, err := optionsPing(p.addr, 0); err != nil || code != 200 {
		t.Fatalf("OPTIONS before the attacks: %d, %v", code, err)
	}
	// Warm every transport's listeners before the baseline check: a
	// daemon's first TLS connection (handshake, sipgo's connection set-up)
	// can take seconds on a loaded machine, which is not what this test
	// looks for.
	for i := range 5 {
		if code, err := tlsOptions(p.tlsAddr, 990+i); err == nil && code == 200 {
			break
		}
	}
	p.healthy(t, settle()+100, 999)
	for i, tc := range malformedCases() {
		t.Run(tc.name, func(t *testing.T) {
			base := settle()
			codes := sendMalformed(t, p.addr, tc.transport, tc.msg(p.addr))
			t.Logf("answered %v", codes)
			for _, c := range codes {
				if !slices.Contains(tc.allow, c) {
					t.Errorf("answered %d (all: %v); allowed %v or no answer", c, codes, tc.allow)
				}
			}
			p.healthy(t, base, 1000+i)
		})
	}
}

// A body that never comes (Content-Length larger than what is sent) over
// TCP: the daemon may wait for it, but the connection's reader must go away
// when the client does, and other clients must not wait behind it.
func TestMalformedContentLengthTooLongTCP(t *testing.T) {
	p := startLivePBX(t)
	base := settle()
	var conns []net.Conn
	for range 20 {
		c, err := net.DialTimeout("tcp", p.addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		_, _ = c.Write(sipRequest("OPTIONS", "sip:101@"+p.addr, p.addr, "TCP", []string{"Content-Type: text/plain"}, []byte("short"), "5000"))
	}
	// While they hang, others are served.
	if code, err := optionsPing(p.addr, 1); err != nil || code != 200 {
		t.Errorf("OPTIONS over UDP while 20 bodies hang: %d, %v", code, err)
	}
	if codes, err := sendTortureTCP(p.addr, []byte(optionsMsg(p.addr, "TCP", 2))); err != nil || finalCode(codes) != 200 {
		t.Errorf("OPTIONS over TCP while 20 bodies hang: %v, %v", codes, err)
	}
	for _, c := range conns {
		codes, _ := readCodes(c, 200*time.Millisecond)
		for _, code := range codes {
			if !slices.Contains(allow(200), code) {
				t.Errorf("a truncated body was answered %d", code)
			}
		}
		c.Close()
	}
	p.healthy(t, base, 3)
}

// Fragmented TCP: a message written a byte at a time, one split at odd
// places, and two messages in one write must all be answered 200.
func TestMalformedFragmentedTCP(t *testing.T) {
	p := startLivePBX(t)
	base := settle()
	cases := []struct {
		name  string
		parts func(m []byte) [][]byte
		want  int // number of 200s
	}{
		{"byte-at-a-time", func(m []byte) [][]byte {
			out := make([][]byte, len(m))
			for i := range m {
				out[i] = m[i : i+1]
			}
			return out
		}, 1},
		{"split-in-crlf", func(m []byte) [][]byte {
			i := bytes.Index(m, []byte("\r\n\r\n"))
			return [][]byte{m[:i+1], m[i+1 : i+3], m[i+3:]}
		}, 1},
		{"split-in-header-name", func(m []byte) [][]byte {
			i := bytes.Index(m, []byte("Call-ID")) + 3
			return [][]byte{m[:i], m[i:]}
		}, 1},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.DialTimeout("tcp", p.addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			for _, part := range tc.parts([]byte(optionsMsg(p.addr, "TCP", 10+i))) {
				if _, err := c.Write(part); err != nil {
					t.Fatalf("write: %v", err)
				}
				time.Sleep(time.Millisecond) // separate segments
			}
			codes, _ := readCodes(c, 3*time.Second)
			if finalCode(codes) != 200 {
				t.Errorf("fragmented OPTIONS answered %v, want 200", codes)
			}
		})
	}
	t.Run("two-in-one-write", func(t *testing.T) {
		c, err := net.DialTimeout("tcp", p.addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		two := optionsMsg(p.addr, "TCP", 20) + optionsMsg(p.addr, "TCP", 21)
		if _, err := c.Write([]byte(two)); err != nil {
			t.Fatal(err)
		}
		var got []int
		for range 2 {
			codes, _ := readCodes(c, 3*time.Second)
			got = append(got, codes...)
			if len(got) >= 2 {
				break
			}
		}
		if len(got) != 2 || got[0] != 200 || got[1] != 200 {
			t.Errorf("two pipelined OPTIONS answered %v, want [200 200]", got)
		}
	})
	p.healthy(t, base, 30)
}

// Slowloris: 100 TCP connections send a request a byte a second for 6 s.
// Meanwhile other clients are served; afterwards the readers are gone.
func TestMalformedSlowloris(t *testing.T) {
	if testing.Short() {
		t.Skip("6 s")
	}
	p := startLivePBX(t)
	base := settle()
	const conns, seconds = 100, 6
	msg := []byte(optionsMsg(p.addr, "TCP", 40))
	var wg sync.WaitGroup
	var mu sync.Mutex
	opened := 0
	for range conns {
		c, err := net.DialTimeout("tcp", p.addr, 5*time.Second)
		if err != nil {
			continue // refusing connections under attack is fine
		}
		opened++
		wg.Go(func() {
			defer c.Close()
			for i := range seconds {
				if _, err := c.Write(msg[i : i+1]); err != nil {
					return // the daemon closed it: fine
				}
				time.Sleep(time.Second)
			}
		})
	}
	time.Sleep(1500 * time.Millisecond)
	if code, err := optionsPing(p.addr, 41); err != nil || code != 200 {
		t.Errorf("OPTIONS over UDP during slowloris: %d, %v", code, err)
	}
	if codes, err := sendTortureTCP(p.addr, []byte(optionsMsg(p.addr, "TCP", 42))); err != nil || finalCode(codes) != 200 {
		mu.Lock()
		t.Errorf("OPTIONS over TCP during slowloris (%d slow connections): %v, %v", opened, codes, err)
		mu.Unlock()
	}
	if code, err := tlsOptions(p.tlsAddr, 43); err != nil || code != 200 {
		t.Errorf("OPTIONS over TLS during slowloris: %d, %v", code, err)
	}
	wg.Wait()
	p.healthy(t, base, 44)
}

// Garbage at the TLS port: random bytes, plain SIP, a truncated
// ClientHello and a handshake abandoned halfway. The TLS listener must
// keep serving.
func TestMalformedTLSGarbage(t *testing.T) {
	p := startLivePBX(t)
	if code, err := tlsOptions(p.tlsAddr, 50); err != nil || code != 200 {
		t.Fatalf("OPTIONS over TLS before: %d, %v", code, err)
	}
	base := settle()
	random := make([]byte, 16384)
	_, _ = rand.Read(random)
	hello := []byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03} // claims 512 bytes, sends 6
	inputs := map[string][]byte{
		"random-bytes":       random,
		"plain-sip":          []byte(optionsMsg(p.tlsAddr, "TLS", 51)),
		"truncated-hello":    hello,
		"huge-record-header": {0x16, 0x03, 0x03, 0xff, 0xff},
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			c, err := net.DialTimeout("tcp", p.tlsAddr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = c.Write(in)
			codes, _ := readCodes(c, 500*time.Millisecond)
			c.Close()
			if len(codes) > 0 {
				t.Errorf("TLS port answered plaintext SIP %v to %s", codes, name)
			}
		})
	}
	t.Run("abandoned-handshakes", func(t *testing.T) {
		var open []net.Conn
		for range 30 {
			c, err := net.DialTimeout("tcp", p.tlsAddr, 5*time.Second)
			if err != nil {
				continue
			}
			open = append(open, c)
			_, _ = c.Write(hello)
		}
		if code, err := tlsOptions(p.tlsAddr, 52); err != nil || code != 200 {
			t.Errorf("OPTIONS over TLS with 30 handshakes hanging: %d, %v", code, err)
		}
		for _, c := range open {
			c.Close()
		}
	})
	// A real TLS client that sends garbage inside the session.
	t.Run("garbage-inside-tls", func(t *testing.T) {
		c, err := tls.Dial("tcp", p.tlsAddr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		_, _ = c.Write(random[:4096])
		codes, _ := readCodes(c, 500*time.Millisecond)
		c.Close()
		for _, code := range codes {
			if !slices.Contains(rejectCodes, code) {
				t.Errorf("garbage inside TLS answered %d", code)
			}
		}
	})
	p.healthy(t, base, 53)
}
