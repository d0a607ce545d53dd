package interop

import (
	"bufio"
	"strings"
	"testing"
)

func TestReadSIPResponse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		code    int
		hdr     string // a header whose values are checked
		want    []string
		body    string
		wantErr bool
	}{
		{"401 with two challenges",
			"SIP/2.0 401 Unauthorized\r\nWWW-Authenticate: Digest realm=\"r\", nonce=\"a\"\r\nwww-authenticate: Digest realm=\"r\",\r\n nonce=\"b\"\r\nContent-Length: 0\r\n\r\n",
			401, "WWW-Authenticate", []string{`Digest realm="r", nonce="a"`, `Digest realm="r", nonce="b"`}, "", false},
		{"keep-alive before, compact length, body",
			"\r\n\r\nSIP/2.0 200 OK\r\nl: 4\r\n\r\nbody",
			200, "Content-Length", []string{"4"}, "body", false},
		{"reason with spaces", "SIP/2.0 403 Not Allowed Here\r\n\r\n", 403, "x", nil, "", false},
		{"request, not response", "REGISTER sip:h SIP/2.0\r\n\r\n", 0, "", nil, "", true},
		{"bad code", "SIP/2.0 99 Low\r\n\r\n", 0, "", nil, "", true},
		{"header without colon", "SIP/2.0 200 OK\r\nBroken\r\n\r\n", 0, "", nil, "", true},
		{"negative length", "SIP/2.0 200 OK\r\nContent-Length: -1\r\n\r\n", 0, "", nil, "", true},
		{"length past limit", "SIP/2.0 200 OK\r\nContent-Length: 99999\r\n\r\n", 0, "", nil, "", true},
		{"short body", "SIP/2.0 200 OK\r\nContent-Length: 9\r\n\r\nab", 0, "", nil, "", true},
		{"no end of headers", "SIP/2.0 200 OK\r\nVia: x\r\n", 0, "", nil, "", true},
	}
	for _, tc := range tests {
		res, err := readSIPResponse(bufio.NewReader(strings.NewReader(tc.in)), 1024)
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: err %v, wantErr %v", tc.name, err, tc.wantErr)
			continue
		}
		if tc.wantErr {
			continue
		}
		if res.code != tc.code || string(res.body) != tc.body {
			t.Errorf("%s: code %d body %q, want %d %q", tc.name, res.code, res.body, tc.code, tc.body)
		}
		if got := res.headers(tc.hdr); strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%s: %s = %q, want %q", tc.name, tc.hdr, got, tc.want)
		}
	}
}

func TestParseDigestChallenge(t *testing.T) {
	tests := []struct {
		in      string
		want    digestChallenge
		wantErr bool
	}{
		{`Digest realm="interop.test", nonce="n1", algorithm=SHA-256, qop="auth"`,
			digestChallenge{realm: "interop.test", nonce: "n1", algorithm: "SHA-256", qopAuth: true}, false},
		{`Digest realm="a, \"b\"", nonce="n2", opaque="o", qop="auth-int,auth"`,
			digestChallenge{realm: `a, "b"`, nonce: "n2", opaque: "o", algorithm: "MD5", qopAuth: true}, false},
		{`digest nonce=plain,algorithm=md5`, digestChallenge{nonce: "plain", algorithm: "MD5"}, false},
		{`Basic realm="x"`, digestChallenge{}, true},
		{`Digest realm="x"`, digestChallenge{}, true},
		{`Digest realm="open, nonce="n"`, digestChallenge{}, true},
		{`Digest nonce`, digestChallenge{}, true},
	}
	for _, tc := range tests {
		got, err := parseDigestChallenge(tc.in)
		if (err != nil) != tc.wantErr || (!tc.wantErr && got != tc.want) {
			t.Errorf("%q: got %+v, %v; want %+v, err=%v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
	ch, ok := pickChallenge([]string{`Digest realm="r", nonce="x", algorithm=SHA-512-256`, `Digest realm="r", nonce="y", algorithm=MD5`})
	if !ok || ch.nonce != "y" {
		t.Errorf("pickChallenge skipped to %+v, %v; want the MD5 one", ch, ok)
	}
}

// TestDigestAuthorization checks the client's response against RFC 2617's
// worked example (section 3.5) and RFC 7616's SHA-256 example (3.9.1).
func TestDigestAuthorization(t *testing.T) {
	md5ch := digestChallenge{realm: "testrealm@host.com", nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
		opaque: "5ccc069c403ebaf9f0171e9517f40e41", algorithm: "MD5", qopAuth: true}
	got := md5ch.authorizationCnonce("Mufasa", "Circle Of Life", "GET", "/dir/index.html", 1, "0a4f113b")
	if !strings.Contains(got, `response="6629fae49393a05397450978507c4ef1"`) {
		t.Errorf("RFC 2617 example: %s", got)
	}
	shach := digestChallenge{realm: "http-auth@example.org", nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
		opaque: "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS", algorithm: "SHA-256", qopAuth: true}
	got = shach.authorizationCnonce("Mufasa", "Circle of Life", "GET", "/dir/index.html", 1,
		"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ")
	if !strings.Contains(got, `response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"`) {
		t.Errorf("RFC 7616 example: %s", got)
	}
}

func FuzzReadSIPResponse(f *testing.F) {
	f.Add([]byte("SIP/2.0 401 Unauthorized\r\nWWW-Authenticate: Digest nonce=\"a\"\r\nContent-Length: 2\r\n\r\nok"))
	f.Add([]byte("SIP/2.0 200 OK\r\nl: 0\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := readSIPResponse(bufio.NewReader(strings.NewReader(string(data))), 4096)
		if err == nil && len(res.body) > len(data) {
			t.Fatalf("body of %d bytes from %d bytes", len(res.body), len(data))
		}
	})
}

func FuzzParseDigestChallenge(f *testing.F) {
	f.Add(`Digest realm="r", nonce="n", algorithm=SHA-256, qop="auth"`)
	f.Add(`Digest realm="a\"b", nonce=x`)
	f.Fuzz(func(t *testing.T, s string) {
		ch, err := parseDigestChallenge(s)
		if err == nil && ch.nonce == "" {
			t.Fatal("accepted a challenge without nonce")
		}
	})
}

func TestParseRegistrations(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		ext     string
		want    []string
		wantErr bool
	}{
		{"two phones", `[{"extension":"101","transport":"TLS"},{"extension":"102","transport":"TCP"},{"extension":"101","transport":"UDP"}]`,
			"101", []string{"TLS", "UDP"}, false},
		{"none registered", "null\n", "101", nil, false},
		{"empty output", "", "101", nil, false},
		{"not json", "extension 101", "", nil, true},
	}
	for _, tc := range tests {
		regs, err := parseRegistrations(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: err %v, wantErr %v", tc.name, err, tc.wantErr)
			continue
		}
		if got := regs.transports(tc.ext); strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s: transports(%s) = %v, want %v", tc.name, tc.ext, got, tc.want)
		}
	}
}
