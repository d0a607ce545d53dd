package sipmsg

import (
	"testing"

	"github.com/emiago/sipgo/sip"
)

func TestHeaderLookupMatchesSipgo(t *testing.T) {
	raw := "REGISTER sip:example.test SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1\r\n" +
		"From: <sip:100@example.test>;tag=a\r\n" +
		"To: <sip:100@example.test>\r\n" +
		"Call-ID: c1\r\n" +
		"CSeq: 1 REGISTER\r\n" +
		"m: <sip:100@10.0.0.1>\r\n" +
		"Contact: <sip:100@10.0.0.2>, <sip:100@10.0.0.3>\r\n" +
		"Authorization: Digest username=\"100\"\r\n" +
		"AUTHORIZATION: Digest username=\"200\"\r\n" +
		"expires: 60\r\n" +
		"User-Agent: phone\r\n" +
		"Content-Length: 0\r\n\r\n"
	msg, err := sip.ParseMessage([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	req := msg.(*sip.Request)
	for _, name := range []string{"Contact", "contact", "Authorization", "authorization", "Expires", "EXPIRES", "User-Agent", "Content-Length", "Server", "Via"} {
		want := req.GetHeaders(name)
		var got []sip.Header
		EachHeader(req, name, func(h sip.Header) bool { got = append(got, h); return true })
		if len(got) != len(want) {
			t.Fatalf("%s: EachHeader found %d headers, GetHeaders %d", name, len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%s: header %d differs: %v vs %v", name, i, got[i], want[i])
			}
		}
		if CountHeaders(req, name) != len(want) {
			t.Errorf("%s: CountHeaders = %d, want %d", name, CountHeaders(req, name), len(want))
		}
		if first := FirstHeader(req, name); first != req.GetHeader(name) {
			t.Errorf("%s: FirstHeader = %v, GetHeader %v", name, first, req.GetHeader(name))
		}
	}
	if n := len(Contacts(req)); n != 3 {
		t.Errorf("Contacts found %d, want 3", n)
	}
	if v, ok := HeaderInt(req, "Expires"); !ok || v != 60 {
		t.Errorf("HeaderInt(Expires) = %d, %v; want 60, true", v, ok)
	}
}

func TestEachHeaderStops(t *testing.T) {
	req := sip.NewRequest(sip.OPTIONS, sip.Uri{Host: "example.test"})
	req.AppendHeader(sip.NewHeader("X-A", "1"))
	req.AppendHeader(sip.NewHeader("x-a", "2"))
	var seen []string
	EachHeader(req, "X-A", func(h sip.Header) bool { seen = append(seen, h.Value()); return false })
	if len(seen) != 1 || seen[0] != "1" {
		t.Errorf("EachHeader visited %v after being told to stop at the first", seen)
	}
}
