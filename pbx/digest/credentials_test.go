package digest

import (
	"errors"
	"strings"
	"testing"
)

// Responses below were computed independently with md5sum/sha256sum, or
// come from the RFCs.
func TestParseAndVerify(t *testing.T) {
	tests := []struct {
		name     string
		header   string
		method   string
		password string
		want     Credentials
	}{
		{
			name:     "RFC 2617 3.5",
			method:   "GET",
			password: "Circle Of Life",
			header: `Digest username="Mufasa",
                 realm="testrealm@host.com",
                 nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
                 uri="/dir/index.html",
                 qop=auth,
                 nc=00000001,
                 cnonce="0a4f113b",
                 response="6629fae49393a05397450978507c4ef1",
                 opaque="5ccc069c403ebaf9f0171e9517f40e41"`,
			want: Credentials{Username: "Mufasa", Realm: "testrealm@host.com", Nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
				URI: "/dir/index.html", QOP: "auth", NC: "00000001", CNonce: "0a4f113b",
				Response: "6629fae49393a05397450978507c4ef1", Opaque: "5ccc069c403ebaf9f0171e9517f40e41"},
		},
		{
			name:     "RFC 7616 3.9.1 SHA-256",
			method:   "GET",
			password: "Circle of Life",
			header: `Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=SHA-256, ` +
				`nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", ` +
				`qop=auth, response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`,
			want: Credentials{Username: "Mufasa", Realm: "http-auth@example.org", URI: "/dir/index.html", Algorithm: "SHA-256",
				Nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", NC: "00000001", CNonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
				QOP: "auth", Response: "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", Opaque: "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"},
		},
		{
			name:     "RFC 7616 3.9.1 MD5",
			method:   "GET",
			password: "Circle of Life",
			header: `Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=MD5, ` +
				`nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", ` +
				`qop=auth, response="8ca523f5e9506fed4657c9700eebdbec", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`,
			want: Credentials{Username: "Mufasa", Realm: "http-auth@example.org", URI: "/dir/index.html", Algorithm: "MD5",
				Nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", NC: "00000001", CNonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
				QOP: "auth", Response: "8ca523f5e9506fed4657c9700eebdbec", Opaque: "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"},
		},
		{
			name:     "baresip (libre)",
			method:   "REGISTER",
			password: "secret1",
			header: `Digest username="1001", realm="hushbox", nonce="Aq3f0ZfV2xgAAAAAcm5kbWFjbWFjbWFjbWFjbWFj", uri="sip:127.0.0.1:5060", ` +
				`response="49e9192b9f3610b83bd72eb837d600ba", cnonce="7e41a0c2", qop=auth, nc=00000001`,
			want: Credentials{Username: "1001", Realm: "hushbox", Nonce: "Aq3f0ZfV2xgAAAAAcm5kbWFjbWFjbWFjbWFjbWFj", URI: "sip:127.0.0.1:5060",
				Response: "49e9192b9f3610b83bd72eb837d600ba", CNonce: "7e41a0c2", QOP: "auth", NC: "00000001"},
		},
		{
			name:     "linphone (belle-sip), SHA-256, escaped quote in password irrelevant, uri params",
			method:   "INVITE",
			password: `p@ss"word`,
			header: `Digest realm="hushbox", nonce="bGlucGhvbmVub25jZQ", algorithm=SHA-256, username="1002",  uri="sip:1001@127.0.0.1;transport=udp", ` +
				`response="df919d12c0afcd05c5152d846731b998b10981bce779d5547243b03756671d54", cnonce="ZEeY5qTtYbEsBpsg", nc=00000003, qop=auth`,
			want: Credentials{Username: "1002", Realm: "hushbox", Nonce: "bGlucGhvbmVub25jZQ", Algorithm: "SHA-256", URI: "sip:1001@127.0.0.1;transport=udp",
				Response: "df919d12c0afcd05c5152d846731b998b10981bce779d5547243b03756671d54", CNonce: "ZEeY5qTtYbEsBpsg", NC: "00000003", QOP: "auth"},
		},
		{
			name:     "sipp (no spaces after commas)",
			method:   "REGISTER",
			password: "sipp",
			header: `Digest username="1003",realm="hushbox",cnonce="6b8b4567",nc=00000001,qop=auth,uri="sip:127.0.0.1:5060",` +
				`nonce="c2lwcG5vbmNl",response="8953f69f410615a56ee7ba402a683276",algorithm=MD5`,
			want: Credentials{Username: "1003", Realm: "hushbox", CNonce: "6b8b4567", NC: "00000001", QOP: "auth", URI: "sip:127.0.0.1:5060",
				Nonce: "c2lwcG5vbmNl", Response: "8953f69f410615a56ee7ba402a683276", Algorithm: "MD5"},
		},
		{
			name:     "Zoiper (quoted qop, opaque, uppercase response)",
			method:   "REGISTER",
			password: "zoiperpw",
			header: `Digest username="1004",realm="hushbox",nonce="em9pcGVybm9uY2U",uri="sip:192.168.1.10;transport=UDP",` +
				`response="16A9FA39CE2F71454669CD32CF3561B9",cnonce="a3f1e6b0c77d2e01f0a5b3c2d1e0f9a8",nc=00000002,qop="auth",algorithm=MD5,opaque="x"`,
			want: Credentials{Username: "1004", Realm: "hushbox", Nonce: "em9pcGVybm9uY2U", URI: "sip:192.168.1.10;transport=UDP",
				Response: "16A9FA39CE2F71454669CD32CF3561B9", CNonce: "a3f1e6b0c77d2e01f0a5b3c2d1e0f9a8", NC: "00000002", QOP: "auth", Algorithm: "MD5", Opaque: "x"},
		},
		{
			name:     "no qop (RFC 2069 style), upper-case names and scheme",
			method:   "REGISTER",
			password: "legacy",
			header:   `DIGEST USERNAME="1005", Realm="hushbox", NONCE="bGVnYWN5", Uri="sip:127.0.0.1", Response="6ef60c7915773ebe859ae73558407a8a"`,
			want:     Credentials{Username: "1005", Realm: "hushbox", Nonce: "bGVnYWN5", URI: "sip:127.0.0.1", Response: "6ef60c7915773ebe859ae73558407a8a"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCredentials(tt.header)
			if err != nil {
				t.Fatalf("ParseCredentials: %v", err)
			}
			if got != tt.want {
				t.Fatalf("ParseCredentials =\n%+v\nwant\n%+v", got, tt.want)
			}
			alg, ok := got.NormalizedAlgorithm()
			if !ok {
				t.Fatalf("algorithm %q not supported", got.Algorithm)
			}
			ha1 := HA1(alg, got.Username, got.Realm, tt.password)
			if !got.Verify(tt.method, ha1) {
				t.Errorf("Verify with the right password = false")
			}
			if got.Verify(tt.method, HA1(alg, got.Username, got.Realm, tt.password+"x")) {
				t.Errorf("Verify with a wrong password = true")
			}
			if got.Verify("BYE", ha1) {
				t.Errorf("Verify with another method = true")
			}
			tampered := got
			tampered.URI += "x"
			if tampered.Verify(tt.method, ha1) {
				t.Errorf("Verify with a changed uri = true")
			}
			tampered = got
			tampered.Nonce += "x"
			if tampered.Verify(tt.method, ha1) {
				t.Errorf("Verify with a changed nonce = true")
			}
		})
	}
}

func TestVerifyRefuses(t *testing.T) {
	base := Credentials{Username: "Mufasa", Realm: "testrealm@host.com", Nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
		URI: "/dir/index.html", QOP: "auth", NC: "00000001", CNonce: "0a4f113b",
		Response: "6629fae49393a05397450978507c4ef1"}
	ha1 := HA1(MD5, "Mufasa", "testrealm@host.com", "Circle Of Life")
	if !base.Verify("GET", ha1) {
		t.Fatal("base vector does not verify")
	}
	tests := []struct {
		name   string
		modify func(*Credentials)
		ha1    string
	}{
		{"empty ha1", func(*Credentials) {}, ""},
		{"short ha1", func(*Credentials) {}, ha1[:31]},
		{"sha-256 ha1 length with MD5", func(*Credentials) {}, ha1 + ha1},
		{"qop auth-int", func(c *Credentials) { c.QOP = "auth-int" }, ha1},
		{"MD5-sess", func(c *Credentials) { c.Algorithm = "MD5-sess" }, ha1},
		{"SHA-256 claimed with MD5 response", func(c *Credentials) { c.Algorithm = SHA256 }, ha1},
		{"nc not hex", func(c *Credentials) { c.NC = "0000000g" }, ha1},
		{"nc short", func(c *Credentials) { c.NC = "1" }, ha1},
		{"no cnonce", func(c *Credentials) { c.CNonce = "" }, ha1},
		{"nc changed", func(c *Credentials) { c.NC = "00000002" }, ha1},
		{"qop dropped", func(c *Credentials) { c.QOP = "" }, ha1},
		{"empty response", func(c *Credentials) { c.Response = "" }, ha1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			tt.modify(&c)
			if c.Verify("GET", tt.ha1) {
				t.Errorf("Verify = true, want false")
			}
		})
	}
}

func TestParseCredentialsErrors(t *testing.T) {
	const ok = `username="a", realm="r", nonce="n", uri="sip:x", response="00"`
	tests := []struct {
		name   string
		header string
	}{
		{"empty", ""},
		{"basic scheme", `Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==`},
		{"scheme only", `Digest`},
		{"scheme glued", `Digestusername="a"`},
		{"missing username", `Digest realm="r", nonce="n", uri="sip:x", response="00"`},
		{"missing response", `Digest username="a", realm="r", nonce="n", uri="sip:x"`},
		{"repeated parameter", `Digest ` + ok + `, nonce="m"`},
		{"repeated parameter, other case", `Digest ` + ok + `, NONCE="m"`},
		{"repeated unknown parameter", `Digest ` + ok + `, foo=1, Foo="2"`},
		{"no equals", `Digest ` + ok + `, stale`},
		{"unterminated quote", `Digest ` + ok + `, opaque="abc`},
		{"escape at end", `Digest ` + ok + `, opaque="abc\`},
		{"missing comma", `Digest username="a" realm="r", nonce="n", uri="sip:x", response="00"`},
		{"missing value", `Digest ` + ok + `, opaque=`},
		{"bad token char", `Digest ` + ok + `, op@que=x`},
		{"CR in quoted string", "Digest " + ok + ", opaque=\"a\rb\""},
		{"NUL in quoted string", "Digest " + ok + ", opaque=\"a\x00b\""},
		{"too long", `Digest ` + ok + `, opaque="` + strings.Repeat("a", MaxHeaderLen) + `"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCredentials(tt.header)
			if err == nil {
				t.Fatalf("ParseCredentials(%q) succeeded, want error", tt.header)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("error %v does not wrap ErrMalformed", err)
			}
		})
	}
}

func TestParseCredentialsSyntax(t *testing.T) {
	tests := []struct {
		name   string
		header string
		want   Credentials
	}{
		{"escapes", `Digest username="a\"b\\c", realm="r", nonce="n", uri="sip:x", response="00"`,
			Credentials{Username: `a"b\c`, Realm: "r", Nonce: "n", URI: "sip:x", Response: "00"}},
		{"spaces around equals and empty elements", "  digest  username = \"a\" ,, realm=r,\tnonce=\"n\" , uri=\"sip:x\",response=00 ,",
			Credentials{Username: "a", Realm: "r", Nonce: "n", URI: "sip:x", Response: "00"}},
		{"unknown parameters ignored", `Digest username="a", realm="r", nonce="n", uri="sip:x", response="00", userhash=false, foo="b,ar"`,
			Credentials{Username: "a", Realm: "r", Nonce: "n", URI: "sip:x", Response: "00"}},
		{"empty quoted values", `Digest username="", realm="", nonce="", uri="", response=""`,
			Credentials{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCredentials(tt.header)
			if err != nil {
				t.Fatalf("ParseCredentials: %v", err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestNonceCount(t *testing.T) {
	tests := []struct {
		qop, nc string
		want    uint64
		wantErr bool
	}{
		{"", "", 0, false},
		{"auth", "00000001", 1, false},
		{"auth", "0000001f", 31, false},
		{"auth", "ffffffff", 0xffffffff, false},
		{"auth", "", 0, true},
		{"auth", "1", 0, true},
		{"auth", "-0000001", 0, true},
		{"", "00000001", 1, false},
	}
	for _, tt := range tests {
		got, err := Credentials{QOP: tt.qop, NC: tt.nc}.NonceCount()
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("NonceCount(qop=%q nc=%q) = %d, %v; want %d, err=%v", tt.qop, tt.nc, got, err, tt.want, tt.wantErr)
		}
	}
}

func FuzzParseCredentials(f *testing.F) {
	f.Add(`Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41"`)
	f.Add(`Digest username="1003",realm="hushbox",cnonce="6b8b4567",nc=00000001,qop=auth,uri="sip:127.0.0.1:5060",nonce="c2lwcG5vbmNl",response="8953f69f410615a56ee7ba402a683276",algorithm=MD5`)
	f.Add(`Digest username="a\"b\\c", realm=r,, nonce="n", uri="sip:x", response=00`)
	f.Add(`Digest opaque="abc\`)
	f.Add(``)
	f.Fuzz(func(t *testing.T, header string) {
		c, err := ParseCredentials(header)
		if err != nil {
			return
		}
		// Whatever parsed must survive verification attempts without panicking
		// and must never verify against an empty HA1.
		if c.Verify("REGISTER", "") {
			t.Fatalf("verified with empty HA1: %+v", c)
		}
		_, _ = c.NonceCount()
		// Re-rendering the core fields and parsing again gives the same values.
		again, err := ParseCredentials(render(c))
		if err != nil {
			t.Fatalf("re-parse of %q: %v", render(c), err)
		}
		if again != c {
			t.Fatalf("round trip changed credentials:\n%+v\n%+v", c, again)
		}
	})
}

// render writes credentials back as a header, every value quoted. Values
// holding CR, LF or NUL cannot occur: the parser refuses them.
func render(c Credentials) string {
	var b strings.Builder
	b.WriteString("Digest ")
	pairs := []struct{ k, v string }{
		{"username", c.Username}, {"realm", c.Realm}, {"nonce", c.Nonce}, {"uri", c.URI},
		{"response", c.Response}, {"algorithm", c.Algorithm}, {"cnonce", c.CNonce},
		{"opaque", c.Opaque}, {"qop", c.QOP}, {"nc", c.NC},
	}
	for i, p := range pairs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		writeQuoted(&b, p.v)
	}
	return b.String()
}

func BenchmarkVerify(b *testing.B) {
	for _, alg := range []string{MD5, SHA256} {
		b.Run(alg, func(b *testing.B) {
			c := Credentials{Username: "1001", Realm: "hushbox", Nonce: "bGlucGhvbmVub25jZQ", URI: "sip:127.0.0.1",
				QOP: "auth", NC: "00000001", CNonce: "abcdef", Algorithm: alg, Response: strings.Repeat("0", hexLen(alg))}
			ha1 := HA1(alg, "1001", "hushbox", "pw")
			for b.Loop() {
				c.Verify("REGISTER", ha1)
			}
		})
	}
}

func BenchmarkParseCredentials(b *testing.B) {
	h := `Digest username="1003",realm="hushbox",cnonce="6b8b4567",nc=00000001,qop=auth,uri="sip:127.0.0.1:5060",nonce="c2lwcG5vbmNl",response="8953f69f410615a56ee7ba402a683276",algorithm=MD5`
	for b.Loop() {
		if _, err := ParseCredentials(h); err != nil {
			b.Fatal(err)
		}
	}
}

// TestVerifyIgnoresHexCase: a response or a stored HA1 in upper-case hex
// is the same digest (some phones send upper case); anything else in the
// response is not.
func TestVerifyIgnoresHexCase(t *testing.T) {
	ha1 := HA1(MD5, "101", "r", "pw")
	c := Credentials{Username: "101", Realm: "r", Nonce: "n", URI: "sip:x", Algorithm: MD5,
		QOP: "auth", NC: "00000001", CNonce: "c"}
	c.Response = hashHex(MD5, ha1, "n", "00000001", "c", "auth", hashHex(MD5, "REGISTER", "sip:x"))
	tests := []struct {
		name     string
		response string
		ha1      string
		want     bool
	}{
		{"lower", c.Response, ha1, true},
		{"upper response", strings.ToUpper(c.Response), ha1, true},
		{"upper HA1", c.Response, strings.ToUpper(ha1), true},
		{"one digit off", c.Response[:31] + string("0123456789abcdef"[(strings.IndexByte("0123456789abcdef", c.Response[31])+1)%16]), ha1, false},
		{"longer", c.Response + "0", ha1, false},
		{"empty", "", ha1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc := c
			cc.Response = tt.response
			if got := cc.Verify("REGISTER", tt.ha1); got != tt.want {
				t.Errorf("Verify = %v, want %v", got, tt.want)
			}
		})
	}
}
