package sipmsg

import (
	"testing"

	"github.com/emiago/sipgo/sip"

	"hushbox/pbx/digest"
)

// The answer verifies with hushbox's own server-side digest code, and its
// uri is the request-URI with its parameters.
func TestAnswerChallenge(t *testing.T) {
	raw := "INVITE sip:555@prov.test:5060;transport=tcp SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n" +
		"From: <sip:acct@prov.test>;tag=1\r\nTo: <sip:555@prov.test>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
	m, err := sip.ParseMessage([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	req := m.(*sip.Request)
	res := sip.NewResponseFromRequest(req, 407, "Proxy Authentication Required", nil)
	res.AppendHeader(sip.NewHeader("Proxy-Authenticate", `Digest realm="prov.test", nonce="abc123", algorithm=AKAv1-MD5, qop="auth"`))
	res.AppendHeader(sip.NewHeader("Proxy-Authenticate", `Digest realm="prov.test", nonce="abc123", algorithm=MD5, qop="auth"`))
	if err := AnswerChallenge(req, res, "acct", "pw"); err != nil {
		t.Fatal(err)
	}
	h := req.GetHeader("Proxy-Authorization")
	if h == nil || req.Via() != nil || req.CSeq().SeqNo != 2 {
		t.Fatalf("request not prepared: %v", req)
	}
	c, err := digest.ParseCredentials(h.Value())
	if err != nil {
		t.Fatal(err)
	}
	if c.URI != "sip:555@prov.test:5060;transport=tcp" {
		t.Fatalf("uri %q, want the request-URI as sent", c.URI)
	}
	if c.Algorithm != "MD5" || !c.Verify("INVITE", digest.HA1(digest.MD5, "acct", "prov.test", "pw")) {
		t.Fatal("answer does not verify")
	}
	res401 := sip.NewResponseFromRequest(req, 401, "Unauthorized", nil)
	if err := AnswerChallenge(req, res401, "acct", "pw"); err != ErrNoChallenge {
		t.Fatalf("401 without challenge: %v", err)
	}
}
