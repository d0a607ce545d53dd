package sdp

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sample reads a testdata body.
func sample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("read sample: %v", err)
	}
	return b
}

// mustParse parses a testdata body.
func mustParse(t testing.TB, name string) *Session {
	t.Helper()
	s, err := Parse(sample(t, name))
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return s
}

// codecList renders codecs as "pt:name/rate" for comparisons.
func codecList(cs []Codec) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = fmt.Sprintf("%d:%s/%d", c.PT, c.Name, c.Rate)
	}
	return strings.Join(parts, " ")
}

// lines splits a body we wrote, checking the framing a SIP peer relies on:
// CRLF after every line, no bare LF or CR, "x=" on every line, and the
// v= o= s= c= t= order before the first m=.
func lines(t testing.TB, body []byte) []string {
	t.Helper()
	if !bytes.HasSuffix(body, []byte("\r\n")) {
		t.Fatalf("body does not end in CRLF:\n%s", body)
	}
	ls := strings.Split(strings.TrimSuffix(string(body), "\r\n"), "\r\n")
	for _, l := range ls {
		if strings.ContainsAny(l, "\r\n") || len(l) < 2 || l[1] != '=' {
			t.Fatalf("bad line %q in:\n%s", l, body)
		}
	}
	var head []byte
	for _, l := range ls {
		if l[0] == 'm' {
			break
		}
		head = append(head, l[0])
	}
	if string(head) != "vosct" {
		t.Fatalf("session lines %q, want v o s c t:\n%s", head, body)
	}
	return ls
}

// has reports whether the body contains the exact line.
func has(ls []string, line string) bool {
	for _, l := range ls {
		if l == line {
			return true
		}
	}
	return false
}

// mLines returns the m= lines of a body.
func mLines(ls []string) []string {
	var out []string
	for _, l := range ls {
		if strings.HasPrefix(l, "m=") {
			out = append(out, l)
		}
	}
	return out
}

var (
	relay4 = netip.MustParseAddr("203.0.113.7")
	relay6 = netip.MustParseAddr("2001:db8::7")
)
