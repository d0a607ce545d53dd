package sipfast

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"

	"hushbox/pbx/sipmsg"
)

// sippRegister is the second REGISTER of pbx/interop/testdata/register.xml
// as sipp sends it.
const sippRegister = "REGISTER sip:127.0.0.1:5060 SIP/2.0\r\n" +
	"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1-2-0\r\n" +
	"From: <sip:9001@127.0.0.1>;tag=4242SIPpTag01\r\n" +
	"To: <sip:9001@127.0.0.1>\r\n" +
	"Call-ID: 1-4242@127.0.0.1\r\n" +
	"CSeq: 2 REGISTER\r\n" +
	"Contact: <sip:9001@127.0.0.1:5070>\r\n" +
	`Authorization: Digest username="9001",realm="bench.test",uri="sip:127.0.0.1:5060",nonce="abc",response="0123",algorithm=MD5` + "\r\n" +
	"Max-Forwards: 70\r\n" +
	"Expires: 3600\r\n" +
	"User-Agent: sipp-interop\r\n" +
	"Content-Length: 0\r\n\r\n"

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func TestParse(t *testing.T) {
	var m Register
	if !m.Parse([]byte(sippRegister)) {
		t.Fatal("sipp's REGISTER refused")
	}
	if string(m.ToUser) != "9001" || m.CSeqNum != 2 || m.Expires != 3600 || m.NContacts != 1 ||
		string(m.Contacts[0].URI) != "sip:9001@127.0.0.1:5070" || string(m.UserAgent) != "sipp-interop" ||
		!strings.HasPrefix(string(m.Authorization), "Digest username=") || m.NVias != 1 || m.TopRport {
		t.Fatalf("parsed %+v", m)
	}
	compact := crlf("REGISTER sips:example.com SIP/2.0\nv: SIP/2.0/UDP [2001:db8::1]:5070;rport;branch=z9hG4bKx\n" +
		"f: \"Al Ice\" <sip:al@example.com>;tag=1\nt: Al <sip:al@example.com>;tag=2\ni: abc@def\nCSEQ: 7 REGISTER\n" +
		"m: *\nexpires: 0\nl: 0\n\n")
	if !m.Parse([]byte(compact)) {
		t.Fatal("compact REGISTER refused")
	}
	if !m.TopRport || !m.ToTag || string(m.ToUser) != "al" || !m.Contacts[0].Wildcard || m.Expires != 0 {
		t.Fatalf("parsed %+v", m)
	}
	for _, bad := range []string{
		"",
		"REGISTER sip:a SIP/2.0\r\n\r\n", // no mandatory headers
		strings.Replace(sippRegister, "\r\n\r\n", "\r\n", 1), // no end of headers
		strings.Replace(sippRegister, "Max-Forwards: 70\r\n", "Max-Forwards: 70\r\n\t70\r\n", 1),
		strings.Replace(sippRegister, "Max-Forwards: 70\r\n", "Max-Forwards: 70\n", 1),
		strings.Replace(sippRegister, "REGISTER sip:", "register sip:", 1),
		strings.Replace(sippRegister, "Contact: <sip:9001@127.0.0.1:5070>", "Contact: <sip:9001@127.0.0.1:5070>;Expires=60", 1),
		strings.Replace(sippRegister, "Contact: <sip:9001@127.0.0.1:5070>", "Contact: <sip:9001@127.0.0.1:5070>;expires=soon", 1),
		strings.Replace(sippRegister, "To: <sip:9001@127.0.0.1>", "To: <sip:9%301@127.0.0.1>", 1),
		strings.Replace(sippRegister, "Expires: 3600", "Expires: 3600\r\nExpires: 60", 1),
		strings.Replace(sippRegister, "User-Agent", "Proxy-Require: x\r\nUser-Agent", 1),
		strings.Replace(sippRegister, "branch=z9hG4bK-1-2-0", "Branch=z9hG4bK-1-2-0", 1),
		strings.Replace(sippRegister, "Content-Length: 0", "Content-Length: 4", 1) + "body",
	} {
		if m.Parse([]byte(bad)) {
			t.Errorf("accepted %q", bad)
		}
	}
}

// FuzzParse: Parse never panics, and whatever it accepts sipgo parses too,
// passes sipmsg.Validate, and reads the same way.
func FuzzParse(f *testing.F) {
	f.Add([]byte(sippRegister))
	f.Add([]byte(crlf("REGISTER sips:example.com SIP/2.0\nv: SIP/2.0/UDP [2001:db8::1]:5070;rport;branch=z9hG4bKx\n" +
		"f: \"Al Ice\" <sip:al@example.com>;tag=1\nt: Al <sip:al@example.com>;tag=2\ni: abc@def\nCSEQ: 7 REGISTER\n" +
		"m: *\nexpires: 0\nl: 0\n\n")))
	f.Add([]byte(crlf("REGISTER sip:h SIP/2.0\nVia: SIP/2.0/UDP p.example:5060;branch=z9hG4bKp\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKa;received=1.2.3.4;rport=9\n" +
		"From: <sip:1@h>;tag=a\nTo: <sip:1@h>\nCall-ID: x\nCSeq: 1 REGISTER\nContact: <sip:1@10.0.0.1;transport=udp>;expires=60;q=0.5\n" +
		"Contact: \"Desk\" <sip:1@10.0.0.2>\nX-Other: what ever\n\n")))
	f.Add([]byte(strings.Replace(sippRegister, "Contact: <sip:9001@127.0.0.1:5070>", "m: \"A B\" <sips:9001@[2001:db8::1]:5071;transport=tls;ob>;expires=0060;+sip.instance=x", 1)))
	f.Fuzz(func(t *testing.T, data []byte) {
		var m Register
		if !m.Parse(data) {
			return
		}
		if err := agree(&m, data); err != nil {
			t.Fatalf("%v\n%q", err, data)
		}
	})
}

// agree checks that sipgo reads data as m says.
func agree(m *Register, data []byte) error {
	msg, err := sip.ParseMessage(data)
	if err != nil {
		return fmt.Errorf("sipgo refuses it: %w", err)
	}
	req, ok := msg.(*sip.Request)
	if !ok || req.Method != sip.REGISTER || len(req.Body()) != 0 {
		return fmt.Errorf("sipgo reads another message: %v", msg)
	}
	if code, reason := sipmsg.Validate(req); code != 0 {
		return fmt.Errorf("sipmsg.Validate refuses it: %d %s", code, reason)
	}
	vias := req.GetHeaders("Via")
	if len(vias) != m.NVias {
		return fmt.Errorf("%d Vias, sipgo %d", m.NVias, len(vias))
	}
	for i, h := range vias {
		if h.Value() != string(m.Vias[i]) {
			return fmt.Errorf("Via %q, sipgo %q", m.Vias[i], h.Value())
		}
	}
	if rp, ok := req.Via().Params.Get("rport"); (ok && rp == "") != m.TopRport {
		return fmt.Errorf("top rport %v, sipgo %q %v", m.TopRport, rp, ok)
	}
	if _, ok := req.Via().Params.Get("received"); ok && m.TopRport {
		return fmt.Errorf("rport to fill in and a received already")
	}
	if req.To().Address.User != string(m.ToUser) || req.To().Params.Has("tag") != m.ToTag {
		return fmt.Errorf("To user %q tag %v, sipgo %q %v", m.ToUser, m.ToTag, req.To().Address.User, req.To().Params.Has("tag"))
	}
	if req.CallID().Value() != string(m.CallID) {
		return fmt.Errorf("Call-ID %q, sipgo %q", m.CallID, req.CallID().Value())
	}
	if req.CSeq().SeqNo != m.CSeqNum || req.CSeq().Value() != string(m.CSeq) {
		return fmt.Errorf("CSeq %q, sipgo %q", m.CSeq, req.CSeq().Value())
	}
	if req.From().Value() == "" {
		return fmt.Errorf("sipgo reads no From")
	}
	contacts := sipmsg.Contacts(req)
	if len(contacts) != m.NContacts {
		return fmt.Errorf("%d contacts, sipgo %d", m.NContacts, len(contacts))
	}
	for i, c := range contacts {
		mine := m.Contacts[i]
		if c.Address.Wildcard != mine.Wildcard {
			return fmt.Errorf("contact %d wildcard %v, sipgo %v", i, mine.Wildcard, c.Address.Wildcard)
		}
		if mine.Wildcard {
			continue
		}
		var u sip.Uri
		if err := sip.ParseUri(string(mine.URI), &u); err != nil {
			return fmt.Errorf("contact URI %q does not parse alone: %w", mine.URI, err)
		}
		if u.String() != c.Address.String() {
			return fmt.Errorf("contact %q, sipgo %q", u.String(), c.Address.String())
		}
		v, has := c.Params.Get("expires")
		if n, err := strconv.Atoi(v); has != (mine.Expires >= 0) || has && (err != nil || n != mine.Expires) {
			return fmt.Errorf("contact expires %d, sipgo %q %v", mine.Expires, v, has)
		}
	}
	exp, has := sipmsg.HeaderInt(req, "Expires")
	if has != (m.Expires >= 0) || has && exp != m.Expires {
		return fmt.Errorf("Expires %d, sipgo %d %v", m.Expires, exp, has)
	}
	if h := sipmsg.FirstHeader(req, "User-Agent"); (h == nil) != (m.UserAgent == nil) || h != nil && h.Value() != string(m.UserAgent) {
		return fmt.Errorf("User-Agent %q, sipgo %v", m.UserAgent, h)
	}
	if n := sipmsg.CountHeaders(req, "Authorization"); n > 1 || (n == 1) != (m.Authorization != nil) ||
		n == 1 && sipmsg.FirstHeader(req, "Authorization").Value() != string(m.Authorization) {
		return fmt.Errorf("Authorization %q, sipgo has %d", m.Authorization, n)
	}
	return nil
}
