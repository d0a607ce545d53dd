package sipmsg

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

func TestValidate(t *testing.T) {
	base := "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:c@d>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
	cases := []struct {
		name, raw string
		code      int
	}{
		{"ok", base + "Content-Length: 0\r\n\r\n", 0},
		{"cseq mismatch", strings.Replace(base, "CSeq: 1 OPTIONS", "CSeq: 1 INVITE", 1) + "Content-Length: 0\r\n\r\n", 400},
		{"two lengths", base + "Content-Length: 0\r\nContent-Length: 0\r\n\r\n", 400},
		{"scheme", strings.Replace(base, "OPTIONS sip:a@b", "OPTIONS nobody:a@b", 1) + "Content-Length: 0\r\n\r\n", 416},
		{"no to", strings.Replace(base, "To: <sip:a@b>\r\n", "", 1) + "Content-Length: 0\r\n\r\n", 400},
	}
	for _, c := range cases {
		m, err := sip.ParseMessage([]byte(c.raw))
		if err != nil {
			if c.code == 400 {
				continue // the parser already refuses it
			}
			t.Fatalf("%s: parse: %v", c.name, err)
		}
		if code, _ := Validate(m.(*sip.Request)); code != c.code {
			t.Errorf("%s: code %d, want %d", c.name, code, c.code)
		}
	}
}
