package call

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"

	"hushbox/pbx/store"
)

// TestStatelessInvite: only an out-of-dialog INVITE without credentials,
// from no provider and with no peer key share, is one the daemon may
// answer without a transaction (its answer is a challenge).
func TestStatelessInvite(t *testing.T) {
	m := NewManager(Config{Trunks: fakeTrunks{
		{Name: "provider", Kind: store.TrunkSIP, Address: "10.0.0.9:5060", DIDs: map[string]string{"+3312345": "101"}},
	}})
	const sdpBody = "v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
	msg := func(method, to, extra, body string) string {
		return method + " sip:101@10.0.0.1 SIP/2.0\r\n" +
			"Via: SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bK1;rport\r\n" +
			"From: <sip:201@10.0.0.1>;tag=a1\r\n" +
			"To: " + to + "\r\n" +
			"Call-ID: c1@10.0.0.5\r\nCSeq: 1 " + method + "\r\nMax-Forwards: 70\r\n" +
			"Contact: <sip:201@10.0.0.5:5070>\r\n" + extra +
			"Content-Type: application/sdp\r\n" +
			"Content-Length: " + itoa(len(body)) + "\r\n\r\n" + body
	}
	for _, tc := range []struct {
		name, data, src string
		want            bool
	}{
		{"new call without credentials", msg("INVITE", "<sip:101@10.0.0.1>", "", sdpBody), "10.0.0.5:5070", true},
		{"without a body", msg("INVITE", "<sip:101@10.0.0.1>", "", ""), "10.0.0.5:5070", true},
		{"with Proxy-Authorization", msg("INVITE", "<sip:101@10.0.0.1>",
			"Proxy-Authorization: Digest username=\"201\", realm=\"hushbox\", nonce=\"n\", uri=\"sip:101@10.0.0.1\", response=\"r\"\r\n", sdpBody), "10.0.0.5:5070", false},
		{"with Authorization", msg("INVITE", "<sip:101@10.0.0.1>",
			"authorization: Digest username=\"201\", realm=\"hushbox\", nonce=\"n\", uri=\"sip:101@10.0.0.1\", response=\"r\"\r\n", sdpBody), "10.0.0.5:5070", false},
		{"re-INVITE (To tag)", msg("INVITE", "<sip:101@10.0.0.1>;tag=b2", "", sdpBody), "10.0.0.5:5070", false},
		{"peer key share", msg("INVITE", "<sip:101@10.0.0.1>", "", sdpBody+"a=hushbox-key:x\r\n"), "10.0.0.5:5070", false},
		{"provider's call to a DID", strings.Replace(msg("INVITE", "<sip:+3312345@10.0.0.1>", "", sdpBody), "sip:101@", "sip:+3312345@", 1), "10.0.0.9:5060", false},
		{"provider's call to another number", msg("INVITE", "<sip:101@10.0.0.1>", "", sdpBody), "10.0.0.9:5060", true},
		{"not an INVITE", msg("OPTIONS", "<sip:101@10.0.0.1>", "", ""), "10.0.0.5:5070", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parsed, err := sip.ParseMessage([]byte(tc.data))
			if err != nil {
				t.Fatal(err)
			}
			req := parsed.(*sip.Request)
			req.SetSource(tc.src)
			req.SetTransport("UDP")
			if got := m.StatelessInvite(req); got != tc.want {
				t.Errorf("StatelessInvite = %v, want %v", got, tc.want)
			}
		})
	}
}
