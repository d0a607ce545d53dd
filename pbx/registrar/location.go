// Package registrar is hushbox's SIP registrar: it authenticates REGISTER
// requests and keeps the location service, the map from an extension to the
// contacts (phones) where it can be reached right now.
package registrar

import (
	"slices"
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
	// ckey is key() once the binding is stored: the location service's
	// map key, kept so a refresh need not format the URI again.
	ckey string
}

// key identifies a binding within its extension (RFC 3261 10.3: contact URI equality).
func (b Binding) key() string {
	if b.ckey != "" {
		return b.ckey
	}
	return b.Contact.String()
}

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
	slices.SortFunc(out, byUpdated)
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
// keys, when not nil, are set's keys (the caller had them at hand); the
// live bindings are appended to dst and returned.
func (l *Location) update(ext string, set []Binding, keys []string, removeAll bool, remove []string, maxPerExt int, dst []Binding) ([]Binding, bool) {
	if keys == nil {
		keys = make([]string, len(set)) // each key once: it formats a URI
		for i, b := range set {
			keys[i] = b.key()
		}
	}
	l.mu.Lock()
	m := l.byExt[ext]
	if m == nil {
		m = map[string]Binding{}
	}
	for i, b := range set {
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
		b.ckey = keys[i]
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
	out := dst
	for _, b := range m {
		if b.Expires.After(now) {
			out = append(out, b)
		}
	}
	l.mu.Unlock()
	slices.SortFunc(out, byUpdated)
	if l.onChange != nil {
		l.onChange(ext)
	}
	return out, true
}

// knownStrings returns callID and userAgent as strings, reusing the
// strings of one of ext's bindings when they are equal: a phone
// refreshing its registration sends the same ones every time, and this
// spares the fast path two allocations per REGISTER.
func (l *Location) knownStrings(ext string, callID, userAgent []byte) (string, string) {
	var c, u string
	l.mu.RLock()
	for _, b := range l.byExt[ext] {
		if c == "" && b.CallID == string(callID) {
			c = b.CallID
		}
		if u == "" && userAgent != nil && b.UserAgent == string(userAgent) {
			u = b.UserAgent
		}
	}
	l.mu.RUnlock()
	if c == "" {
		c = string(callID)
	}
	if u == "" && userAgent != nil {
		u = string(userAgent)
	}
	return c, u
}

// byUpdated orders bindings oldest first.
func byUpdated(a, b Binding) int { return a.Updated.Compare(b.Updated) }

// known returns, for a refresh, the extension name and the binding key
// and contact URI already held for the contact URI text uri of extension
// ext: the strings and the parsed URI of the last registration, so that a
// phone re-registering costs no new ones. ok is false when there is none.
func (l *Location) known(ext, uri []byte) (extName, key string, contact sip.Uri, ok bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	m := l.byExt[string(ext)]
	b, ok := m[string(uri)]
	if !ok {
		return "", "", sip.Uri{}, false
	}
	return b.Extension, b.key(), b.Contact, true
}

// extName returns the extension name ext as a string, the one its
// bindings hold when it has some.
func (l *Location) extName(ext []byte) string {
	l.mu.RLock()
	for _, b := range l.byExt[string(ext)] {
		l.mu.RUnlock()
		return b.Extension
	}
	l.mu.RUnlock()
	return string(ext)
}
