package call

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"hushbox/crypto/keys"
	"hushbox/pbx/registrar"
	"hushbox/pbx/sdp"
	"hushbox/pbx/store"
)

// TrunkDirectory lists the configured trunks.
type TrunkDirectory interface {
	Trunks() ([]store.Trunk, error)
}

// trunkOut is a call this box places on a hushbox trunk: it made the key
// offer and completes it from the peer's answer.
type trunkOut struct {
	trunk  store.Trunk
	pinned keys.PublicKey
	ex     *keys.Exchange
}

// trunkIn is a call that arrived on a hushbox trunk: the peer's key share
// is already verified; our answer share goes into the SDP answer.
type trunkIn struct {
	trunk store.Trunk
	ex    *keys.Exchange
	keys  *keys.CallKeys
}

// route is where a dialled number goes.
type route struct {
	ext    store.Extension // local extension (when trunk is nil)
	trunk  *store.Trunk
	number string // number to send on the trunk
}

var errNoRoute = errors.New("no route")

// errNoShare: a hushbox peer answered without its key share.
var errNoShare = errors.New("hushbox trunk answer without a key share")

// findRoute applies the dial plan: a local extension first, then the trunk
// with the longest matching prefix (only for calls from local phones, so a
// call from a trunk never leaves on another one).
func (m *Manager) findRoute(target string, trunksAllowed bool) (route, error) {
	ext, err := m.cfg.Dir.Extension(target)
	if err == nil {
		return route{ext: ext}, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return route{}, err
	}
	if !trunksAllowed || m.cfg.Trunks == nil {
		return route{}, errNoRoute
	}
	ts, err := m.cfg.Trunks.Trunks()
	if err != nil {
		return route{}, err
	}
	var best *store.Trunk
	for i := range ts {
		t := &ts[i]
		if t.Prefix == "" || !strings.HasPrefix(target, t.Prefix) {
			continue
		}
		if best == nil || len(t.Prefix) > len(best.Prefix) {
			best = t
		}
	}
	if best == nil {
		return route{}, errNoRoute
	}
	return route{trunk: best, number: target[best.Strip:]}, nil
}

// trunkBinding is where a trunk's INVITEs go, in the registrar's terms.
func trunkBinding(t *store.Trunk, number string) registrar.Binding {
	host, port, _ := net.SplitHostPort(t.Address)
	p, _ := strconv.Atoi(port)
	u := sip.Uri{Scheme: "sip", User: number, Host: host, Port: p, UriParams: sip.NewParams()}
	if t.Transport != "udp" {
		u.UriParams.Add("transport", t.Transport)
	}
	return registrar.Binding{Contact: u, Source: t.Address, Transport: strings.ToUpper(t.Transport)}
}

// hasKeyShare tells whether a body carries a hushbox key share: such an
// INVITE comes from a peer hushbox and is authenticated by its signature
// instead of a password.
func hasKeyShare(body []byte) bool {
	return strings.Contains(string(body), "a="+keys.AttributeName+":")
}

// acceptTrunk checks an INVITE from a hushbox peer: its key share must be
// well formed (488), signed by an identity pinned on a hushbox trunk and
// sent over TLS (403 otherwise).
func (m *Manager) acceptTrunk(req *sip.Request, offer *sdp.Session) (*trunkIn, int, string) {
	if m.cfg.Identity == nil || m.cfg.Trunks == nil || offer.Audio == nil {
		return nil, 403, "Forbidden"
	}
	attr, ok := keys.AttributeValue(offer.Audio.Extra)
	binding, ok2 := keys.BindingValue(offer.Audio.Extra)
	if !ok || !ok2 {
		return nil, 488, "Not Acceptable Here"
	}
	share, err := keys.ParseAttribute(attr)
	if err != nil {
		m.log.Info("trunk call with a malformed key share", "src", req.Source(), "err", err)
		return nil, 488, "Not Acceptable Here"
	}
	ts, err := m.cfg.Trunks.Trunks()
	if err != nil {
		return nil, 500, "Server Internal Error"
	}
	var trunk *store.Trunk
	for i := range ts {
		if ts[i].Kind != store.TrunkHushbox {
			continue
		}
		if k, err := keys.ParsePublicKey(ts[i].PeerKey); err == nil && k == share.Identity {
			trunk = &ts[i]
			break
		}
	}
	if trunk == nil {
		m.log.Warn("trunk call from an unknown identity refused", "src", req.Source(), "fingerprint", share.Identity.Fingerprint())
		return nil, 403, "Forbidden"
	}
	if !strings.EqualFold(req.Transport(), "TLS") {
		m.log.Warn("trunk call not over TLS refused", "trunk", trunk.Name, "src", req.Source())
		return nil, 403, "Forbidden"
	}
	ex, err := keys.NewExchange(m.cfg.Identity, keys.Answer, binding)
	if err != nil {
		return nil, 488, "Not Acceptable Here"
	}
	pinned := share.Identity
	ck, err := ex.Complete(attr, func(k keys.PublicKey) bool { return k == pinned })
	if err != nil {
		ex.Destroy()
		if errors.Is(err, keys.ErrMalformed) || errors.Is(err, keys.ErrBinding) {
			return nil, 488, "Not Acceptable Here"
		}
		m.log.Warn("trunk call with a bad signature refused", "trunk", trunk.Name, "src", req.Source(), "err", err)
		return nil, 403, "Forbidden"
	}
	return &trunkIn{trunk: *trunk, ex: ex, keys: ck}, 0, ""
}

// newTrunkOut prepares the key offer for a call leaving on trunk t.
func (m *Manager) newTrunkOut(t *store.Trunk) (*trunkOut, string, error) {
	if m.cfg.Identity == nil {
		return nil, "", errors.New("no identity")
	}
	pinned, err := keys.ParsePublicKey(t.PeerKey)
	if err != nil {
		return nil, "", err
	}
	binding := keys.NewBinding()
	ex, err := keys.NewExchange(m.cfg.Identity, keys.Offer, binding)
	if err != nil {
		return nil, "", err
	}
	return &trunkOut{trunk: *t, pinned: pinned, ex: ex}, binding, nil
}

// withExtra returns a copy of s whose audio carries extra instead of any
// hushbox attributes it had: the PBX terminates the trunk's key exchange,
// so shares never travel on to a phone or in from one.
func withExtra(s *sdp.Session, extra ...string) *sdp.Session {
	if s == nil || s.Audio == nil {
		return s
	}
	cp := *s
	a := *s.Audio
	var kept []string
	for _, x := range a.Extra {
		if !strings.HasPrefix(x, sdp.ExtraPrefix) {
			kept = append(kept, x)
		}
	}
	a.Extra = append(kept, extra...)
	cp.Audio = &a
	return &cp
}

// didCall is a call a SIP provider sends to one of its numbers here.
type didCall struct {
	trunk string
	ext   string
}

// providerDID recognises a call from a SIP trunk's provider to one of the
// trunk's inbound numbers: the request comes from the provider's address
// and its request-URI (or To) user is a configured DID.
func (m *Manager) providerDID(req *sip.Request) (*didCall, bool) {
	if m.cfg.Trunks == nil {
		return nil, false
	}
	ts, err := m.cfg.Trunks.Trunks()
	if err != nil {
		return nil, false
	}
	srcHost, _, err := net.SplitHostPort(req.Source())
	if err != nil {
		return nil, false
	}
	for _, t := range ts {
		if t.Kind != store.TrunkSIP || len(t.DIDs) == 0 {
			continue
		}
		host, _, err := net.SplitHostPort(t.Address)
		if err != nil || !m.hostIs(host, srcHost) {
			continue
		}
		for _, num := range []string{req.Recipient.User, req.To().Address.User} {
			if ext, ok := lookupDID(t.DIDs, num); ok {
				return &didCall{trunk: t.Name, ext: ext}, true
			}
		}
	}
	return nil, false
}

// lookupDID matches a number with or without a leading '+'.
func lookupDID(dids map[string]string, num string) (string, bool) {
	if num == "" {
		return "", false
	}
	for _, k := range []string{num, "+" + strings.TrimPrefix(num, "+"), strings.TrimPrefix(num, "+")} {
		if ext, ok := dids[k]; ok {
			return ext, true
		}
	}
	return "", false
}

// hostIs tells whether ip is (one of the addresses of) host. Provider
// names are resolved at most once a minute: this runs for every INVITE
// before authentication, and must not turn a flood into DNS queries.
func (m *Manager) hostIs(host, ip string) bool {
	if host == ip {
		return true
	}
	if net.ParseIP(host) != nil {
		return false
	}
	for _, a := range m.resolve(host) {
		if a == ip {
			return true
		}
	}
	return false
}

// resolvedHost is a cached name lookup.
type resolvedHost struct {
	addrs   []string
	expires time.Time
}

// resolve returns host's addresses from a cache bounded by the number of
// provider trunks (only their names are ever looked up).
func (m *Manager) resolve(host string) []string {
	now := time.Now()
	m.dnsMu.Lock()
	if r, ok := m.dns[host]; ok && now.Before(r.expires) {
		m.dnsMu.Unlock()
		return r.addrs
	}
	m.dnsMu.Unlock()
	addrs, err := net.LookupHost(host)
	if err != nil {
		addrs = nil // cached too: a failing name is not asked again at once
	}
	m.dnsMu.Lock()
	if m.dns == nil || len(m.dns) > 64 {
		m.dns = map[string]resolvedHost{}
	}
	m.dns[host] = resolvedHost{addrs: addrs, expires: now.Add(time.Minute)}
	m.dnsMu.Unlock()
	return addrs
}
