package call

import (
	"fmt"
	"testing"

	"github.com/emiago/sipgo/sip"

	"hushbox/crypto/keys"
	"hushbox/pbx/store"
)

// TestTrunkShare: only a share naming a pinned peer box makes an INVITE a
// trunk call; a phone's share goes the password way on every transport.
func TestTrunkShare(t *testing.T) {
	peer, err := keys.NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	phone, err := keys.NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	m := NewManager(Config{Trunks: fakeTrunks{
		{Name: "office-b", Kind: store.TrunkHushbox, PeerKey: peer.Public().String()},
		{Name: "provider", Kind: store.TrunkSIP},
	}})
	invite := func(transport string, id *keys.Identity) *sip.Request {
		body := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
		if id != nil {
			ex, err := keys.NewExchange(id, keys.Offer, "binding")
			if err != nil {
				t.Fatal(err)
			}
			body += fmt.Sprintf("a=hushbox-call:binding\r\na=hushbox-key:%s\r\n", ex.Attribute())
		}
		req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: "102", Host: "127.0.0.1"})
		req.AppendHeader(sip.NewHeader("Via", "SIP/2.0/"+transport+" 127.0.0.1:5070;branch=z9hG4bK1"))
		req.SetBody([]byte(body))
		return req
	}
	cases := []struct {
		name      string
		transport string
		id        *keys.Identity
		want      bool
	}{
		{"phone's share over UDP", "UDP", phone, false},
		{"phone's share over TCP", "TCP", phone, false},
		{"pinned box over UDP (refused later for want of TLS)", "UDP", peer, true},
		{"phone's share over TLS", "TLS", phone, false},
		{"pinned box over TLS", "TLS", peer, true},
		{"no share", "UDP", nil, false},
	}
	for _, c := range cases {
		if got := m.trunkShare(invite(c.transport, c.id)); got != c.want {
			t.Errorf("%s: trunkShare %v, want %v", c.name, got, c.want)
		}
	}
}
