package peer

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"hushbox/crypto/keys"
	"hushbox/pbx/store"
)

// SettingPeers is the store setting that holds the paired peers as JSON.
const SettingPeers = "peer.list"

// ErrNoPeer is a peer name this box does not know.
var ErrNoPeer = errors.New("peer: no such peer")

// Peer is a paired box as this box remembers it.
type Peer struct {
	Name string `json:"name"`
	// Address is host:port of the peer's mutual-TLS endpoint.
	Address  string         `json:"address"`
	Identity keys.PublicKey `json:"identity"`
	// CertFP is the pinned fingerprint of the peer's TLS certificate.
	CertFP string `json:"cert_fp"`
	Role   string `json:"role"`
	// Trunk is the hushbox trunk pairing made to the peer, if any.
	Trunk   string    `json:"trunk,omitempty"`
	Created time.Time `json:"created"`
}

// Store is where peers are kept: *store.DB satisfies it.
type Store interface {
	Setting(key string) (string, bool, error)
	SetSetting(key, val string) error
}

// list is the paired peers, loaded from and written through to the store.
type list struct {
	mu    sync.RWMutex
	st    Store
	peers []Peer
}

func loadList(st Store) (*list, error) {
	l := &list{st: st}
	v, ok, err := st.Setting(SettingPeers)
	if err != nil {
		return nil, fmt.Errorf("peer: read %s: %w", SettingPeers, err)
	}
	if ok && v != "" {
		if err := json.Unmarshal([]byte(v), &l.peers); err != nil {
			return nil, fmt.Errorf("peer: %s unreadable: %w", SettingPeers, err)
		}
	}
	return l, nil
}

// save writes peers to the store; the caller holds mu.
func (l *list) save(peers []Peer) error {
	b, err := json.Marshal(peers)
	if err != nil {
		return fmt.Errorf("peer: encode peers: %w", err)
	}
	if err := l.st.SetSetting(SettingPeers, string(b)); err != nil {
		return fmt.Errorf("peer: save peers: %w", err)
	}
	l.peers = peers
	return nil
}

func (l *list) all() []Peer {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return slices.Clone(l.peers)
}

func (l *list) byName(name string) (Peer, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	for _, p := range l.peers {
		if p.Name == name {
			return p, true
		}
	}
	return Peer{}, false
}

func (l *list) byIdentity(id keys.PublicKey) (Peer, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	for _, p := range l.peers {
		if p.Identity == id {
			return p, true
		}
	}
	return Peer{}, false
}

// byCert finds the peer whose pinned fingerprint is fp, comparing every
// entry in constant time.
func (l *list) byCert(fp string) (Peer, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var found Peer
	ok := false
	for _, p := range l.peers {
		if subtle.ConstantTimeCompare([]byte(p.CertFP), []byte(fp)) == 1 {
			found, ok = p, true
		}
	}
	return found, ok
}

// add stores p, replacing an earlier pairing with the same identity (a
// box paired again, e.g. after a new certificate). A different peer under
// the same name is store.ErrExists.
func (l *list) add(p Peer) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	next := make([]Peer, 0, len(l.peers)+1)
	for _, q := range l.peers {
		if q.Identity == p.Identity {
			continue
		}
		if q.Name == p.Name {
			return fmt.Errorf("peer %s: %w", p.Name, store.ErrExists)
		}
		next = append(next, q)
	}
	return l.save(append(next, p))
}

// remove forgets the peer called name and returns it.
func (l *list) remove(name string) (Peer, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := slices.IndexFunc(l.peers, func(p Peer) bool { return p.Name == name })
	if i < 0 {
		return Peer{}, fmt.Errorf("%w: %s", ErrNoPeer, name)
	}
	p := l.peers[i]
	return p, l.save(slices.Delete(slices.Clone(l.peers), i, i+1))
}

// freeName picks a name for a new peer: want if it is a valid, free name
// (or the peer's own earlier name), else "peer-" and the identity's
// fingerprint start.
func (l *list) freeName(want string, id keys.PublicKey) string {
	l.mu.RLock()
	defer l.mu.RUnlock()
	taken := func(n string) bool {
		return slices.ContainsFunc(l.peers, func(p Peer) bool { return p.Name == n && p.Identity != id })
	}
	if store.ValidTrunkName(want) == nil && !taken(want) {
		return want
	}
	base := "peer-"
	for _, c := range id.Fingerprint() {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			base += string(c)
		} else if c >= 'A' && c <= 'Z' {
			base += string(c + 'a' - 'A')
		}
		if len(base) >= 13 {
			break
		}
	}
	n := base
	for i := 2; taken(n); i++ {
		n = fmt.Sprintf("%s-%d", base, i)
	}
	return n
}
