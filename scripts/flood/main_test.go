package main

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
	"testing"
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
		{"-target 10.71.2.2:5060 -duration 10s -max 2000000", true},
		{"-target 10.71.2.2:5060 -duration 10s -max 10 -method BYE", true},
		{"-duration 10s -max 10", true},
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
