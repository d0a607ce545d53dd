package call

import (
	"github.com/emiago/sipgo/sip"

	"hushbox/pbx/sipmsg"
)

// StatelessInvite reports whether HandleInvite answers req without keeping
// any state: an out-of-dialog INVITE with no credentials, which is neither
// a SIP provider's call to one of its numbers nor a paired hushbox's
// key-share INVITE, gets a 407 challenge (or a 400 when it is malformed)
// and nothing else. The daemon answers such INVITEs, which are what a
// flood is made of, before the SIP stack's transaction layer (no server
// transaction, timers or goroutine per request; pbx/daemon fastinvite.go).
//
// It errs on the side of false: false only means the request takes the
// stack's normal path.
func (m *Manager) StatelessInvite(req *sip.Request) bool {
	if req.Method != sip.INVITE {
		return false
	}
	to := req.To()
	if to == nil || sipmsg.Tag(to.Params) != "" {
		return false // in-dialog (re-INVITE), or too broken for this test
	}
	for _, h := range req.Headers() {
		if sipmsg.Named(h, "Proxy-Authorization") || sipmsg.Named(h, "Authorization") {
			return false
		}
	}
	if hasKeyShare(req.Body()) {
		return false // maybe a paired hushbox: no challenge for it
	}
	if _, ok := m.providerDID(req); ok {
		return false
	}
	return true
}
