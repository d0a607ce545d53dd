package peer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"hushbox/crypto/keys"
	"hushbox/pbx/store"
	"hushbox/pbx/tlscert"
)

// DefaultHeartbeat is how often a box greets each peer.
const DefaultHeartbeat = 10 * time.Second

// Trunks makes and removes the hushbox trunk pairing may ask for; the
// daemon's control.Admin satisfies it (and tells the call manager).
type Trunks interface {
	AddTrunk(ctx context.Context, t store.Trunk, password string) error
	RemoveTrunk(ctx context.Context, name string) error
}

// Config is what New needs.
type Config struct {
	Store Store
	// Identity is this box's identity key; Name is what peers see it as
	// (e.g. the host name) and Role is RoleBoard or RoleCloud.
	Identity keys.PublicKey
	Name     string
	Role     string
	// Certificate is presented on the web port (where pairing happens)
	// and on peer links; its fingerprint is what peers pin.
	Certificate tls.Certificate
	// PeerPort is the port of this box's mutual-TLS endpoint (Serve) as
	// peers reach it; SIPPort its SIP TLS port (0: no trunks to it).
	PeerPort int
	SIPPort  int
	// Trunks is nil when no trunks can be made.
	Trunks Trunks
	Log    *slog.Logger
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
	// HeartbeatEvery is the heartbeat period; 0 means DefaultHeartbeat.
	HeartbeatEvery time.Duration
}

// Manager pairs this box with others, keeps the list of peers, serves
// the mutual-TLS peer endpoint and sends heartbeats.
type Manager struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	certFP  string
	list    *list
	codes   issuer
	limit   *rateLimit
	stretch chan struct{} // one key stretch at a time (16 MiB each)
	kick    chan struct{}

	mu      sync.Mutex
	links   map[string]*link // by peer name
	pairing sync.Mutex       // one outgoing pairing at a time
	routes  *http.ServeMux   // routes other packages add (routes.go)
}

// New loads the peers from the store.
func New(cfg Config) (*Manager, error) {
	if cfg.Store == nil || len(cfg.Certificate.Certificate) == 0 {
		return nil, errors.New("peer: Config needs Store and Certificate")
	}
	if cfg.Identity == (keys.PublicKey{}) {
		return nil, errors.New("peer: Config needs Identity")
	}
	if cfg.Role == "" {
		cfg.Role = RoleBoard
	}
	if cfg.Role != RoleBoard && cfg.Role != RoleCloud {
		return nil, fmt.Errorf("peer: role %q: want %s or %s", cfg.Role, RoleBoard, RoleCloud)
	}
	if !validBoxName(cfg.Name) {
		cfg.Name = "hushbox"
	}
	if cfg.PeerPort < 1 || cfg.PeerPort > 65535 {
		return nil, fmt.Errorf("peer: peer port %d", cfg.PeerPort)
	}
	if cfg.HeartbeatEvery <= 0 {
		cfg.HeartbeatEvery = DefaultHeartbeat
	}
	m := &Manager{cfg: cfg, log: cfg.Log, now: cfg.Now, certFP: tlscert.Fingerprint(cfg.Certificate.Certificate[0]),
		stretch: make(chan struct{}, 1), kick: make(chan struct{}, 1), links: map[string]*link{},
		routes: http.NewServeMux()}
	if m.log == nil {
		m.log = slog.Default()
	}
	if m.now == nil {
		m.now = time.Now
	}
	m.codes.now = m.now
	m.limit = newRateLimit(m.now)
	var err error
	if m.list, err = loadList(cfg.Store); err != nil {
		return nil, err
	}
	return m, nil
}

// CertFP is the fingerprint of this box's certificate, as peers pin it.
func (m *Manager) CertFP() string { return m.certFP }

// validOptions checks what the admin chose before a code is shown or a
// pairing starts.
func (m *Manager) validOptions(o Options) error {
	if o.Name != "" {
		if err := store.ValidTrunkName(o.Name); err != nil {
			return fmt.Errorf("peer name: %w", err)
		}
		if _, ok := m.list.byName(o.Name); ok {
			return fmt.Errorf("peer %s: %w", o.Name, store.ErrExists)
		}
	}
	if o.Prefix != "" {
		t := store.Trunk{Name: "x", Kind: store.TrunkHushbox, Transport: "tls", Address: "h:1", PeerKey: "x", Prefix: o.Prefix}
		if err := t.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// IssueCode shows a fresh pairing code, valid for CodeTTL and one attempt;
// o says what to call the peer that uses it and whether to make a trunk.
// A code issued before stops working.
func (m *Manager) IssueCode(o Options) (Code, time.Time, error) {
	if err := m.validOptions(o); err != nil {
		return "", time.Time{}, err
	}
	c, exp, err := m.codes.issue(o)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("peer: new code: %w", err)
	}
	m.log.Info("pairing code issued", "expires", exp) // never the code itself
	return c, exp, nil
}

// CodeLive reports until when the code on show (if any) is valid.
func (m *Manager) CodeLive() (time.Time, bool) { return m.codes.live() }

// CancelCode withdraws the code on show.
func (m *Manager) CancelCode() { m.codes.cancel() }

// Attempts counts pairing attempts made on this box.
func (m *Manager) Attempts() Attempts { return m.codes.attempts() }

// Peers is every paired peer with its link state, in pairing order.
func (m *Manager) Peers() []Status {
	ps := m.list.all()
	out := make([]Status, len(ps))
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, p := range ps {
		out[i] = Status{Peer: p}
		if l := m.links[p.Name]; l != nil && l.peer.CertFP == p.CertFP {
			out[i].LastSeen, out[i].RTT, out[i].LastError, out[i].Inbound = l.lastSeen, l.rtt, l.lastErr, l.inbound
		}
	}
	return out
}

// Peer returns the paired peer called name.
func (m *Manager) Peer(name string) (Peer, bool) { return m.list.byName(name) }

// RemovePeer forgets a peer and removes the trunk pairing made to it. Its
// certificate is refused from then on, on new and open connections.
func (m *Manager) RemovePeer(ctx context.Context, name string) error {
	p, err := m.list.remove(name)
	if err != nil {
		return err
	}
	m.mu.Lock()
	if l := m.links[name]; l != nil {
		l.client.CloseIdleConnections()
		delete(m.links, name)
	}
	m.mu.Unlock()
	m.log.Info("peer removed", "peer", name, "identity", p.Identity.Fingerprint())
	if p.Trunk != "" && m.cfg.Trunks != nil {
		if err := m.cfg.Trunks.RemoveTrunk(ctx, p.Trunk); err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("peer %s removed, but its trunk %s stays: %w", name, p.Trunk, err)
		}
	}
	return nil
}

// hello is this box's side of a pairing.
func (m *Manager) hello(nonce []byte) Hello {
	return Hello{Version: Protocol, Name: m.cfg.Name, Role: m.cfg.Role, Identity: m.cfg.Identity, CertFP: m.certFP,
		PeerPort: m.cfg.PeerPort, SIPPort: m.cfg.SIPPort, Nonce: nonce}
}

// remember stores a newly paired peer and, when asked, a hushbox trunk to
// it. A trunk that cannot be made (name taken) leaves the peer paired
// without one; the returned Peer says so by an empty Trunk.
//
// kick starts a heartbeat round at once: the initiator does so, since the
// responder already holds it; the responder waits, as the initiator only
// pins it after checking its answer.
func (m *Manager) remember(ctx context.Context, p Peer, o Options, sipAddr string, kick bool) (Peer, error) {
	// Pairing the same box again replaces its trunk with the new one.
	if old, ok := m.list.byIdentity(p.Identity); ok && old.Trunk != "" && m.cfg.Trunks != nil {
		if err := m.cfg.Trunks.RemoveTrunk(ctx, old.Trunk); err != nil && !errors.Is(err, store.ErrNotFound) {
			m.log.Warn("pairing again: old trunk stays", "peer", p.Name, "trunk", old.Trunk, "err", err)
		}
	}
	if o.Trunk && sipAddr != "" && m.cfg.Trunks != nil {
		t := store.Trunk{Name: p.Name, Kind: store.TrunkHushbox, Address: sipAddr, Transport: "tls",
			PeerKey: p.Identity.String(), Prefix: o.Prefix, Strip: len(o.Prefix)}
		if err := m.cfg.Trunks.AddTrunk(ctx, t, ""); err != nil {
			m.log.Warn("peer paired without a trunk", "peer", p.Name, "err", err)
		} else {
			p.Trunk = t.Name
		}
	}
	if err := m.list.add(p); err != nil {
		if p.Trunk != "" {
			_ = m.cfg.Trunks.RemoveTrunk(ctx, p.Trunk)
		}
		return Peer{}, err
	}
	m.codes.paired()
	m.log.Info("peer paired", "peer", p.Name, "address", p.Address, "role", p.Role,
		"identity", p.Identity.Fingerprint(), "cert", p.CertFP, "trunk", p.Trunk)
	if kick {
		m.Kick()
	}
	return p, nil
}
