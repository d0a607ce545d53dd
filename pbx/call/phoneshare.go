package call

import (
	"github.com/emiago/sipgo/sip"

	"hushbox/crypto/keys"
	"hushbox/pbx/sdp"
	"hushbox/pbx/store"
)

// trunkShare tells whether an INVITE that carries a key share and no
// credentials is a peer hushbox's trunk call rather than a hushbox phone's
// call (pbx/endpoint: its share is for the callee, end to end, and the
// phone authenticates with its password like any phone, over UDP, TCP or
// TLS). A trunk call names an identity pinned on a hushbox trunk in its
// share; acceptTrunk then checks the signature and the transport (TLS
// only) and refuses with 403. Any other share is a phone's: challenged,
// then carried to the callee unchanged (the PBX never terminates a phone's
// key exchange). A stranger's share therefore gets the same 407 as any
// unauthenticated INVITE and learns nothing about the trunks.
func (m *Manager) trunkShare(req *sip.Request) bool {
	offer, err := sdp.Parse(req.Body())
	if err != nil || offer.Audio == nil {
		return false
	}
	attr, ok := keys.AttributeValue(offer.Audio.Extra)
	if !ok {
		return false
	}
	share, err := keys.ParseAttribute(attr)
	if err != nil || m.cfg.Trunks == nil {
		return false
	}
	ts, err := m.cfg.Trunks.Trunks()
	if err != nil {
		return true // let acceptTrunk answer the store error
	}
	for _, t := range ts {
		if t.Kind != store.TrunkHushbox {
			continue
		}
		if k, err := keys.ParsePublicKey(t.PeerKey); err == nil && k == share.Identity {
			return true
		}
	}
	return false
}
