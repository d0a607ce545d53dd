// Package call is hushbox's back-to-back user agent: it takes a call from
// one extension (the caller's dialog, where hushbox is the UAS), forks it to
// every registered phone of the dialled extension (the callee dialogs, where
// hushbox is the UAC), anchors the media in the relay, and keeps the two
// dialogs in step: provisional answers, the first 2xx, CANCEL, BYE from either
// side, re-INVITEs (hold/resume), INFO, and a CDR for every call.
package call

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"hushbox/crypto/keys"
	"hushbox/pbx/auth"
	"hushbox/pbx/media"
	"hushbox/pbx/registrar"
	"hushbox/pbx/sipmsg"
	"hushbox/pbx/store"
)

// Directory is the extension directory.
type Directory interface {
	Extension(num string) (store.Extension, error)
}

// CDRWriter records finished calls.
type CDRWriter interface {
	AppendCDR(c *store.CDR) error
}

// Config wires a Manager to the rest of the daemon.
type Config struct {
	Client  *sipgo.Client
	Signer  sipmsg.Signer
	Auth    *auth.Authenticator
	Dir     Directory
	Loc     *registrar.Location
	Relay   *media.Relay
	CDR     CDRWriter
	MediaIP netip.Addr // advertised in SDP
	// MediaIPPerParty: MediaIP is only a guess (no --media-ip, SIP on every
	// address), so each party is given, in SDP and Contact, the local
	// address the kernel routes towards it from (localaddr.go); MediaIP
	// is the fallback. False: MediaIP (and SIPHost) for everyone (NAT).
	MediaIPPerParty bool
	// SIPHost and SIPPorts (by lower-case transport) go into our Contact headers.
	SIPHost  string
	SIPPorts map[string]int
	// Identity signs this box's key shares on hushbox trunks; Trunks lists
	// the trunks. Without them calls stay between local extensions.
	Identity *keys.Identity
	Trunks   TrunkDirectory
	// TrunkPassword opens a SIP trunk's sealed password.
	TrunkPassword func(t store.Trunk) (string, error)
	// RingTimeout ends an unanswered call with 480 (default 60 s).
	RingTimeout time.Duration
	Log         *slog.Logger
}

// Manager owns the live calls.
type Manager struct {
	cfg   Config
	log   *slog.Logger
	local *localAddrs // per-party addresses (cfg.MediaIPPerParty)

	mu      sync.Mutex
	dialogs map[string]dialogRef
	calls   map[*Call]struct{}
	closing bool

	shutdown chan struct{}
	wg       sync.WaitGroup

	dnsMu sync.Mutex
	dns   map[string]resolvedHost
}

type dialogRef struct {
	call *Call
	leg  *leg
}

// NewManager makes a call manager.
func NewManager(cfg Config) *Manager {
	if cfg.RingTimeout <= 0 {
		cfg.RingTimeout = 60 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Manager{cfg: cfg, log: cfg.Log, local: &localAddrs{lookup: routeSource, now: time.Now, cache: map[netip.Addr]localAddr{}}, dialogs: map[string]dialogRef{}, calls: map[*Call]struct{}{}, shutdown: make(chan struct{})}
}

func (m *Manager) contact(transport string) *sip.ContactHeader {
	return contactHeader(m.cfg.SIPHost, m.cfg.SIPPorts, transport)
}

func (m *Manager) addDialog(c *Call, l *leg) {
	m.mu.Lock()
	m.dialogs[l.key()] = dialogRef{c, l}
	m.mu.Unlock()
}

func (m *Manager) removeDialog(l *leg) {
	m.mu.Lock()
	delete(m.dialogs, l.key())
	m.mu.Unlock()
}

// lookup finds the dialog an in-dialog request belongs to: its Call-ID and
// To tag (our tag on either leg).
func (m *Manager) lookup(req *sip.Request) (dialogRef, bool) {
	if req.CallID() == nil || req.To() == nil {
		return dialogRef{}, false
	}
	tag := sipmsg.Tag(req.To().Params)
	if tag == "" {
		return dialogRef{}, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	ref, ok := m.dialogs[dialogKey(req.CallID().Value(), tag)]
	if !ok {
		return dialogRef{}, false
	}
	// The From tag must be the party's too.
	if from := req.From(); from == nil || sipmsg.Tag(from.Params) != ref.leg.remoteTag {
		return dialogRef{}, false
	}
	return ref, true
}

func (m *Manager) track(c *Call) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closing {
		return false
	}
	m.calls[c] = struct{}{}
	m.wg.Add(1)
	return true
}

func (m *Manager) untrack(c *Call) {
	m.mu.Lock()
	_, ok := m.calls[c]
	delete(m.calls, c)
	m.mu.Unlock()
	if ok {
		m.wg.Done()
	}
}

// Active describes the live calls, for `hushbox calls` and the web page.
func (m *Manager) Active() []Info {
	m.mu.Lock()
	calls := make([]*Call, 0, len(m.calls))
	for c := range m.calls {
		calls = append(calls, c)
	}
	m.mu.Unlock()
	out := make([]Info, 0, len(calls))
	for _, c := range calls {
		out = append(out, c.info())
	}
	return out
}

// Count is the number of live calls.
func (m *Manager) Count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.calls)
}

// Shutdown ends every call: ringing calls get 503 and their forks CANCEL,
// answered calls get BYE on both legs. It waits until all are gone or ctx ends.
func (m *Manager) Shutdown(ctx context.Context) {
	m.mu.Lock()
	if !m.closing {
		m.closing = true
		close(m.shutdown)
	}
	calls := make([]*Call, 0, len(m.calls))
	for c := range m.calls {
		calls = append(calls, c)
	}
	m.mu.Unlock()
	for _, c := range calls {
		go c.hangup(nil, store.HangupShutdown)
	}
	done := make(chan struct{})
	go func() { m.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		m.log.Warn("calls still ending at shutdown", "count", m.Count())
	}
}
