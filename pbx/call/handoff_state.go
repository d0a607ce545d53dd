package call

import (
	"net/netip"
	"strings"

	"hushbox/crypto/keys"
)

// DialogState is one live dialog as the board replicates it to its cloud
// peer (issue 7): enough to know the dialog, never a voice key (SDES
// a=crypto lines and key shares are taken out of the SDP).
type DialogState struct {
	Call         string         `json:"call"` // the call's Call-ID (leg a's)
	Leg          string         `json:"leg"`  // "a" or "b"
	CallID       string         `json:"call_id"`
	LocalTag     string         `json:"local_tag"`
	RemoteTag    string         `json:"remote_tag"`
	LocalURI     string         `json:"local_uri"`
	RemoteURI    string         `json:"remote_uri"`
	RemoteTarget string         `json:"remote_target"`
	Routes       []string       `json:"routes,omitempty"`
	LocalCSeq    uint32         `json:"local_cseq"`
	RemoteCSeq   uint32         `json:"remote_cseq"`
	Party        string         `json:"party"` // signalling source
	Transport    string         `json:"transport"`
	SDP          string         `json:"sdp"`   // our last SDP, without keys
	Media        netip.AddrPort `json:"media"` // the party's media address
	Local        netip.AddrPort `json:"local"` // our relay port for it
	State        string         `json:"state"`
	Where        string         `json:"where"`
}

// DialogStates describes every dialog of the live calls, keys left out.
func (m *Manager) DialogStates() []DialogState {
	m.mu.Lock()
	calls := make([]*Call, 0, len(m.calls))
	for c := range m.calls {
		calls = append(calls, c)
	}
	m.mu.Unlock()
	out := make([]DialogState, 0, 2*len(calls))
	for _, c := range calls {
		c.mu.Lock()
		for _, side := range []string{"a", "b"} {
			l, remote := c.a, c.remoteA
			if side == "b" {
				l, remote = c.b, c.remoteB
			}
			if l == nil {
				continue
			}
			d := DialogState{Call: c.cdr.CallID, Leg: side, Media: remote, State: c.state.String(), Where: WhereBoard}
			if c.media != nil {
				port := c.media.A().Port()
				if side == "b" {
					port = c.media.B().Port()
				}
				d.Local = netip.AddrPortFrom(m.mediaIPFor(l.dest), uint16(port))
			}
			l.mu.Lock()
			d.CallID, d.LocalTag, d.RemoteTag = l.callID, l.localTag, l.remoteTag
			d.LocalURI, d.RemoteURI, d.RemoteTarget = l.localURI.String(), l.remoteURI.String(), l.remoteTarget.String()
			for _, r := range l.routes {
				d.Routes = append(d.Routes, r.String())
			}
			d.LocalCSeq, d.RemoteCSeq = l.localCSeq, l.remoteCSeq
			d.Party, d.Transport = l.dest, l.transport
			d.SDP = l.replicaSDP
			if l.ho != nil {
				d.Where = WhereCloud
			}
			l.mu.Unlock()
			out = append(out, d)
		}
		c.mu.Unlock()
	}
	return out
}

// withoutKeys is an SDP body without its SDES keys and key shares.
func withoutKeys(body []byte) string {
	var b strings.Builder
	for _, ln := range strings.Split(strings.ReplaceAll(string(body), "\r\n", "\n"), "\n") {
		if ln == "" || strings.HasPrefix(ln, "a=crypto:") || strings.HasPrefix(ln, "a="+keys.AttributeName+":") {
			continue
		}
		b.WriteString(ln)
		b.WriteString("\r\n")
	}
	return b.String()
}
