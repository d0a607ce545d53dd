package provision

import (
	"encoding/json"
	"encoding/xml"
	"net/url"
	"strings"
	"testing"
)

func TestURI(t *testing.T) {
	tests := []struct {
		name string
		acc  Account
		want string
	}{
		{"tls default port", Account{Server: "192.168.1.10", Transport: TLS, User: "201", Password: "secret"},
			"sip:201:secret@192.168.1.10:5061;transport=tls"},
		{"udp default port", Account{Server: "pbx.lan", Transport: UDP, User: "201", Password: "secret"},
			"sip:201:secret@pbx.lan:5060;transport=udp"},
		{"explicit port", Account{Server: "pbx.lan", Port: 15060, Transport: TCP, User: "201", Password: "x"},
			"sip:201:x@pbx.lan:15060;transport=tcp"},
		{"ipv6", Account{Server: "fd00::1", Transport: UDP, User: "201", Password: "x"},
			"sip:201:x@[fd00::1]:5060;transport=udp"},
		{"no password", Account{Server: "pbx.lan", Transport: UDP, User: "201"},
			"sip:201@pbx.lan:5060;transport=udp"},
		{"special password", Account{Server: "pbx.lan", Transport: TLS, User: "201", Password: `p@ss:w;rd%?#&=+ é/"<>`},
			"sip:201:p%40ss%3Aw%3Brd%25%3F%23%26%3D%2B%20%C3%A9%2F%22%3C%3E@pbx.lan:5061;transport=tls"},
		{"unreserved kept", Account{Server: "pbx.lan", Transport: TLS, User: "a.b-c_d~e", Password: "A-z.0_9~"},
			"sip:a.b-c_d~e:A-z.0_9~@pbx.lan:5061;transport=tls"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.acc.URI()
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("URI = %q\nwant  %q", got, tc.want)
			}
			// The password comes back intact when the user-info is split
			// at its only ':' and '@' and unescaped.
			userinfo := strings.TrimPrefix(got[:strings.LastIndexByte(got, '@')], "sip:")
			if strings.Count(got, "@") != 1 || strings.Count(userinfo, ":") > 1 {
				t.Fatalf("URI %q has unescaped separators", got)
			}
			user, pw, _ := strings.Cut(userinfo, ":")
			if u, _ := url.PathUnescape(user); u != tc.acc.User {
				t.Errorf("user unescapes to %q, want %q", u, tc.acc.User)
			}
			if p, _ := url.PathUnescape(pw); p != tc.acc.Password {
				t.Errorf("password unescapes to %q, want %q", p, tc.acc.Password)
			}
			aor, err := tc.acc.AOR()
			if err != nil {
				t.Fatal(err)
			}
			// The AOR is the URI without ":password".
			if want := "sip:" + Escape(tc.acc.User) + got[strings.LastIndexByte(got, '@'):]; aor != want {
				t.Errorf("AOR = %q, want %q", aor, want)
			}
		})
	}
}

func TestValidateRefuses(t *testing.T) {
	ok := Account{Server: "pbx.lan", Transport: TLS, User: "201", Password: "pw"}
	tests := map[string]func(a *Account){
		"empty server":      func(a *Account) { a.Server = "" },
		"server with space": func(a *Account) { a.Server = "pbx lan" },
		"server with colon": func(a *Account) { a.Server = "pbx.lan:5060" },
		"server bad label":  func(a *Account) { a.Server = "-pbx.lan" },
		"server with @":     func(a *Account) { a.Server = "a@b" },
		"port too big":      func(a *Account) { a.Port = 70000 },
		"negative port":     func(a *Account) { a.Port = -1 },
		"transport":         func(a *Account) { a.Transport = "sctp" },
		"upper transport":   func(a *Account) { a.Transport = "TLS" },
		"empty user":        func(a *Account) { a.User = "" },
		"long user":         func(a *Account) { a.User = strings.Repeat("1", MaxUser+1) },
		"newline password":  func(a *Account) { a.Password = "a\r\nb" },
		"long password":     func(a *Account) { a.Password = strings.Repeat("x", MaxPassword+1) },
		"bad utf-8 name":    func(a *Account) { a.DisplayName = "\xff" },
		"long name":         func(a *Account) { a.DisplayName = strings.Repeat("é", MaxDisplayName+1) },
		"control in realm":  func(a *Account) { a.Realm = "a\x00b" },
	}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid account refused: %v", err)
	}
	for name, change := range tests {
		a := ok
		change(&a)
		if a.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
		if _, err := a.URI(); err == nil {
			t.Errorf("%s: URI made", name)
		}
	}
}

func TestJSON(t *testing.T) {
	a := Account{Server: "10.0.0.2", Transport: TLS, User: "201", Password: `p"w\<&>`, Realm: "hushbox", DisplayName: "Réception"}
	b, err := a.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("JSON does not parse: %v\n%s", err, b)
	}
	want := map[string]any{
		"type": JSONType, "version": 1.0, "server": "10.0.0.2", "port": 5061.0, "transport": "tls",
		"user": "201", "password": `p"w\<&>`, "realm": "hushbox", "display_name": "Réception",
		"uri": "sip:201@10.0.0.2:5061;transport=tls",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("JSON has %d members, want %d: %s", len(got), len(want), b)
	}
}

func TestLinphoneXML(t *testing.T) {
	a := Account{Server: "pbx.lan", Transport: TLS, User: "201", Password: `p"w<&>]]>`, Realm: "hushbox", DisplayName: `Desk "A"`}
	b, err := a.LinphoneXML()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "<?xml") || !strings.Contains(string(b), `xmlns="http://www.linphone.org/xsds/lpconfig.xsd"`) {
		t.Errorf("no XML declaration or lpconfig namespace:\n%s", b)
	}
	var cfg lpConfig
	if err := xml.Unmarshal(b, &cfg); err != nil {
		t.Fatalf("XML does not parse: %v\n%s", err, b)
	}
	entries := map[string]string{}
	for _, s := range cfg.Sections {
		for _, e := range s.Entries {
			entries[s.Name+"/"+e.Name] = e.Value
		}
	}
	for k, v := range map[string]string{
		"proxy_0/reg_identity":     `"Desk \"A\"" <sip:201@pbx.lan>`,
		"proxy_0/reg_proxy":        "<sip:pbx.lan:5061;transport=tls>",
		"proxy_0/reg_sendregister": "1",
		"auth_info_0/username":     "201",
		"auth_info_0/passwd":       `p"w<&>]]>`,
		"auth_info_0/realm":        "hushbox",
		"auth_info_0/domain":       "pbx.lan",
	} {
		if entries[k] != v {
			t.Errorf("%s = %q, want %q", k, entries[k], v)
		}
	}
}

// FuzzURI: any user and password the form accepts come back intact from
// the URI, whose separators stay unambiguous.
func FuzzURI(f *testing.F) {
	f.Add("201", `p@ss:w;rd%`)
	f.Add("a b", "é\"<>")
	f.Fuzz(func(t *testing.T, user, pw string) {
		a := Account{Server: "pbx.lan", Transport: TLS, User: user, Password: pw}
		uri, err := a.URI()
		if err != nil {
			return
		}
		rest, ok := strings.CutSuffix(uri, "@pbx.lan:5061;transport=tls")
		if !ok || strings.ContainsAny(rest[len("sip:"):], "@;?# ") {
			t.Fatalf("URI %q: bad shape", uri)
		}
		u, p, _ := strings.Cut(strings.TrimPrefix(rest, "sip:"), ":")
		if uu, err := url.PathUnescape(u); err != nil || uu != user {
			t.Fatalf("user %q came back as %q (%v)", user, uu, err)
		}
		if pp, err := url.PathUnescape(p); err != nil || pp != pw {
			t.Fatalf("password %q came back as %q (%v)", pw, pp, err)
		}
	})
}
