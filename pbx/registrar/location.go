// Package registrar is hushbox's SIP registrar: it authenticates REGISTER
// requests and keeps the location service, the map from an extension to the
// contacts (phones) where it can be reached right now.
package registrar

import (
	"sort"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Binding is one registered contact of an extension.
type Binding struct {
	Extension string
	Contact   sip.Uri   // the phone's Contact URI (request-URI of calls to it)
	Expires   time.Time // when the binding lapses unless refreshed
	// Source and Transport are where the REGISTER came from: calls are sent
	// there, not to the Contact host, so phones behind NAT are reachable.
	Source    string
	Transport string
	CallID    string
	CSeq      uint32
	UserAgent string
	Updated   time.Time
}

// key identifies a binding within its extension (RFC 3261 10.3: contact URI equality).
func (b Binding) key() string { return b.Contact.String() }

// Location is the in-memory location service. Safe for concurrent use.
type Location struct {
	mu    sync.RWMutex
	byExt map[string]map[string]Binding
	now   func() time.Time
	// onChange, when set, is told an extension's bindings changed.
	onChange func(ext string)
}

// NewLocation returns an empty location service.
func NewLocation() *Location {
	return &Location{byExt: map[string]map[string]Binding{}, now: time.Now}
}

// Lookup returns the live bindings of ext, oldest first.
func (l *Location) Lookup(ext string) []Binding {
	now := l.now()
	l.mu.RLock()
	defer l.mu.RUnlock()
	var out []Binding
	for _, b := range l.byExt[ext] {
		if b.Expires.After(now) {
			out = append(out, b)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Updated.Before(out[j].Updated) })
	return out
}

// All returns every live binding, sorted by extension.
func (l *Location) All() []Binding {
	l.mu.RLock()
	exts := make([]string, 0, len(l.byExt))
	for e := range l.byExt {
		exts = append(exts, e)
	}
	l.mu.RUnlock()
	sort.Strings(exts)
	var out []Binding
	for _, e := range exts {
		out = append(out, l.Lookup(e)...)
	}
	return out
}

// Count is the number of live bindings.
func (l *Location) Count() int {
	now := l.now()
	l.mu.RLock()
	defer l.mu.RUnlock()
	n := 0
	for _, m := range l.byExt {
		for _, b := range m {
			if b.Expires.After(now) {
				n++
			}
		}
	}
	return n
}

// Remove drops every binding of ext (used when an extension is deleted).
func (l *Location) Remove(ext string) {
	l.mu.Lock()
	delete(l.byExt, ext)
	l.mu.Unlock()
}

// Sweep drops expired bindings. The daemon calls it periodically so a
// phone that vanished stops being rung and its memory is returned.
func (l *Location) Sweep() int {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for ext, m := range l.byExt {
		for k, b := range m {
			if !b.Expires.After(now) {
				delete(m, k)
				n++
			}
		}
		if len(m) == 0 {
			delete(l.byExt, ext)
		}
	}
	return n
}

// update applies one REGISTER's changes atomically: removals and upserts.
// It refuses (returns false) a request whose CSeq is not newer than the one
// that last touched a binding with the same Call-ID (RFC 3261 10.3 step 7).
func (l *Location) update(ext string, set []Binding, removeAll bool, remove []string, maxPerExt int) ([]Binding, bool) {
	l.mu.Lock()
	m := l.byExt[ext]
	if m == nil {
		m = map[string]Binding{}
	}
	keys := make([]string, len(set)) // each key once: it formats a URI
	for i, b := range set {
		keys[i] = b.key()
		if old, ok := m[keys[i]]; ok && old.CallID == b.CallID && b.CSeq <= old.CSeq {
			l.mu.Unlock()
			return nil, false
		}
	}
	if removeAll {
		m = map[string]Binding{}
	}
	for _, k := range remove {
		delete(m, k)
	}
	now := l.now()
	for i, b := range set {
		m[keys[i]] = b
	}
	// Enforce the per-extension cap by dropping the stalest bindings.
	for len(m) > maxPerExt {
		var oldestK string
		var oldest time.Time
		for k, b := range m {
			if oldestK == "" || b.Updated.Before(oldest) {
				oldestK, oldest = k, b.Updated
			}
		}
		delete(m, oldestK)
	}
	if len(m) == 0 {
		delete(l.byExt, ext)
	} else {
		l.byExt[ext] = m
	}
	var out []Binding
	for _, b := range m {
		if b.Expires.After(now) {
			out = append(out, b)
		}
	}
	l.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Updated.Before(out[j].Updated) })
	if l.onChange != nil {
		l.onChange(ext)
	}
	return out, true
}
