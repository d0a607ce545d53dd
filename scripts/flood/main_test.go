package main

import (
	"bytes"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseSources(t *testing.T) {
	for _, c := range []struct {
		in  string
		n   int
		bad bool
	}{
		{"", 0, false},
		{"10.71.5.2", 1, false},
		{"10.71.5.10-10.71.5.59", 50, false},
		{"10.71.5.2,10.71.5.3", 2, false},
		{"10.71.5.9-10.71.5.2", 0, true},
		{"10.0.0.0-10.0.255.255", 0, true}, // more than maxSources
		{"nonsense", 0, true},
	} {
		got, err := parseSources(c.in)
		if (err != nil) != c.bad || len(got) != c.n {
			t.Errorf("parseSources(%q) = %d addresses, %v; want %d, error %v", c.in, len(got), err, c.n, c.bad)
		}
	}
}

// The flags must bound every run: no -max or -duration, or too much of
// either, is refused.
func TestParseFlagsBounded(t *testing.T) {
	for _, c := range []struct {
		args string
		bad  bool
	}{
		{"-target 10.71.2.2:5060 -duration 10s -max 1000", false},
		{"-target 10.71.2.2:5060 -max 1000", true},
		{"-target 10.71.2.2:5060 -duration 10s", true},
		{"-target 10.71.2.2:5060 -duration 10m -max 1000", true},
		{"-target 10.71.2.2:5060 -duration 10s -max 4000001", true},
		{"-target 10.71.2.2:5060 -duration 10s -max 4000000", false},
		{"-target 10.71.2.2:5060 -duration 10s -max 10 -method BYE", true},
		{"-duration 10s -max 10", true},
		{"-target 10.71.2.2:5060 -duration 2s -max 1000 -answers", false},
	} {
		_, err := parseFlags(strings.Fields(c.args))
		if (err != nil) != c.bad {
			t.Errorf("parseFlags(%q): %v, want error %v", c.args, err, c.bad)
		}
	}
}

// Each request is a complete SIP request whose Content-Length is right.
func TestRequestWellFormed(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	from := netip.MustParseAddrPort("10.71.5.10:40000")
	to := netip.MustParseAddrPort("10.71.2.2:5060")
	for _, m := range []string{"INVITE", "REGISTER", "OPTIONS"} {
		msg := request(m, from, to, 3, r)
		head, body, ok := bytes.Cut(msg, []byte("\r\n\r\n"))
		if !ok || !bytes.HasPrefix(head, []byte(m+" sip:")) {
			t.Fatalf("%s: not a request:\n%s", m, msg)
		}
		if !bytes.Contains(head, []byte("Content-Length: "+itoa(len(body)))) {
			t.Errorf("%s: Content-Length does not match a %d-byte body:\n%s", m, len(body), msg)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// Only final SIP responses count as served requests.
func TestIsFinalResponse(t *testing.T) {
	for _, c := range []struct {
		in   string
		want bool
	}{
		{"SIP/2.0 407 Proxy Authentication Required\r\n", true},
		{"SIP/2.0 200 OK\r\n", true},
		{"SIP/2.0 603 Decline\r\n", true},
		{"SIP/2.0 100 Trying\r\n", false},
		{"SIP/2.0 180 Ringing\r\n", false},
		{"INVITE sip:1@x SIP/2.0\r\n", false},
		{"SIP/2.0 4x7 Bad\r\n", false},
		{"SIP/2.0 40", false},
		{"", false},
	} {
		if got := isFinalResponse([]byte(c.in)); got != c.want {
			t.Errorf("isFinalResponse(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

// countAnswers counts the final responses a target sends back and ends
// when its socket is closed.
func TestCountAnswers(t *testing.T) {
	srv, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	conn, err := net.DialUDP("udp4", nil, srv.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	var n, last atomic.Int64
	done := make(chan struct{})
	go func() { countAnswers(conn, &n, &last); close(done) }()
	if _, err := conn.Write([]byte("INVITE")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	_, from, err := srv.ReadFromUDP(buf)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"SIP/2.0 100 Trying\r\n", "SIP/2.0 407 Proxy Authentication Required\r\n", "SIP/2.0 407 Proxy Authentication Required\r\n"} {
		if _, err := srv.WriteToUDP([]byte(m), from); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for n.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	conn.Close()
	<-done
	if got := n.Load(); got != 2 {
		t.Errorf("counted %d final responses, want 2", got)
	}
	if last.Load() == 0 {
		t.Errorf("no time of the last answer")
	}
}
