package guard

import (
	"strings"
	"testing"
)

// svmapOptions is what svmap sends (sipvicious 0.3).
const svmapOptions = "OPTIONS sip:100@127.0.0.1 SIP/2.0\r\n" +
	"Via: SIP/2.0/UDP 127.0.1.1:5061;branch=z9hG4bK-1234;rport\r\n" +
	"Max-Forwards: 70\r\n" +
	"To: \"sipvicious\"<sip:100@1.1.1.1>\r\n" +
	"From: \"sipvicious\"<sip:100@1.1.1.1>;tag=6134\r\n" +
	"User-Agent: friendly-scanner\r\n" +
	"Call-ID: 1234\r\nContact: sip:100@127.0.1.1:5061\r\nCSeq: 1 OPTIONS\r\nAccept: application/sdp\r\nContent-Length: 0\r\n\r\n"

func TestScan(t *testing.T) {
	req := func(hdrs ...string) string {
		return "REGISTER sip:pbx SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1\r\n" + strings.Join(hdrs, "\r\n") + "\r\nContent-Length: 0\r\n\r\n"
	}
	for _, tc := range []struct {
		name, msg, want string
	}{
		{"svmap", svmapOptions, "sipvicious"},
		{"ua case", req("User-Agent: Friendly-Scanner 1.0"), "sipvicious"},
		{"ua name case", req("user-AGENT:   sipcli/v1.8"), "sipcli"},
		{"vax", req("User-Agent: VaxSIPUserAgent/3.1"), "VaxSIPUserAgent"},
		{"sundayddr", req("User-Agent: sundayddr"), "sundayddr"},
		{"iwar", req("User-Agent: iWar"), "iWar"},
		{"sip-scan", req("User-Agent: sip-scan"), "sip-scan"},
		{"sipscan", req("User-Agent: SIPScan"), "SIPScan"},
		{"from display name", req(`From: "sipvicious" <sip:1@x>;tag=1`), "sipvicious"},
		{"compact from", req(`f: "sipvicious" <sip:1@x>;tag=1`), "sipvicious"},
		{"tab before colon", req("User-Agent\t: friendly-scanner"), "sipvicious"},
		{"LF only", "OPTIONS sip:x SIP/2.0\nUser-Agent: friendly-scanner\n\n", "sipvicious"},
		{"phone", req("User-Agent: Yealink SIP-T46S 66.86.0.15", `From: "Alice" <sip:101@pbx>;tag=9`), ""},
		{"baresip", req("User-Agent: baresip v3.10.1 (x86_64/linux)"), ""},
		{"signature in body only", "MESSAGE sip:x SIP/2.0\r\nUser-Agent: phone\r\n\r\nfriendly-scanner", ""},
		{"signature in other header", req("Subject: sipvicious"), ""},
		{"response", "SIP/2.0 200 OK\r\nServer: friendly-scanner\r\nUser-Agent: friendly-scanner\r\n\r\n", ""},
		{"empty", "", ""},
		{"garbage", "\x00\x01friendly-scanner", ""},
		// A From header matches only by its whole display name: its tag
		// is random (a phone whose tag held "iWaR" was banned) and its
		// URI and display name are the user's.
		{"signature in a random tag", req(`From: <sip:250@10.71.2.2>;tag=KxiWaRq7zP`), ""},
		{"signature in a tag, name-addr", req(`From: "Bob" <sip:250@pbx>;tag=xsmapx`), ""},
		{"signature in the user part", req(`From: <sip:iwarren@pbx>;tag=1`), ""},
		{"signature in an addr-spec From", req(`From: sip:100@pbx;tag=sipvicious`), ""},
		{"name that starts with a signature", req(`From: "Iwar Svensson" <sip:102@pbx>;tag=2`), ""},
		{"unquoted display name", req(`From: SIPVicious <sip:100@1.1.1.1>;tag=3`), "sipvicious"},
		{"quoted pair in display name", req(`From: "a\"sipvicious" <sip:1@x>`), ""},
		{"unterminated quote", req(`From: "sipvicious <sip:1@x>`), ""},
		// A User-Agent matches by word.
		{"signature inside a word", req("User-Agent: Asmapp/2.1"), ""},
		{"signature as a word", req("User-Agent: smap 0.6.0"), "smap"},
		{"signature after a slash", req("User-Agent: tools/iwar-1.0"), "iWar"},
	} {
		got, ok := Scan([]byte(tc.msg))
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("%s: Scan = %q %v, want %q", tc.name, got, ok, tc.want)
		}
	}
}

// Every signature in the table matches itself in a User-Agent, whatever the
// case: a table entry with a typo or upper case would never fire.
func TestSignaturesLowerCase(t *testing.T) {
	for _, s := range Signatures {
		if s.Pattern != strings.ToLower(s.Pattern) || s.Pattern == "" {
			t.Errorf("signature %q: pattern must be lower case and not empty", s.Name)
		}
		got, ok := Scan([]byte("OPTIONS sip:x SIP/2.0\r\nUser-Agent: x/" + strings.ToUpper(s.Pattern) + " 1.0\r\n\r\n"))
		if !ok || got == "" {
			t.Errorf("signature %q does not match its own pattern", s.Name)
		}
	}
}

func FuzzScan(f *testing.F) {
	f.Add([]byte(svmapOptions))
	f.Add([]byte("SIP/2.0 100 Trying\r\n\r\n"))
	f.Add([]byte("REGISTER x\r\nFrom:\r\n:\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		name, ok := Scan(b)
		if ok != (name != "") {
			t.Fatalf("ok %v with name %q", ok, name)
		}
	})
}

func BenchmarkScan(b *testing.B) {
	msg := []byte("REGISTER sip:192.168.1.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK776asdhds\r\n" +
		"Max-Forwards: 70\r\nTo: <sip:101@192.168.1.2>\r\nFrom: \"Alice\" <sip:101@192.168.1.2>;tag=1928301774\r\n" +
		"Call-ID: a84b4c76e66710@pc33\r\nCSeq: 314159 REGISTER\r\nContact: <sip:101@192.168.1.20:5060>\r\n" +
		"User-Agent: Yealink SIP-T46S 66.86.0.15\r\nExpires: 3600\r\nContent-Length: 0\r\n\r\n")
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		Scan(msg)
	}
}
