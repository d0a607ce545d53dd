package digest

import (
	"sync"
	"time"
)

// DefaultReplayEntries is a sensible cap for NewReplay on a desk PBX:
// about 100 bytes per entry, so a few MiB at most.
const DefaultReplayEntries = 1 << 16

// Replay remembers, for each nonce that has authenticated a request, the
// highest nonce count seen, so a captured request cannot be replayed.
//
// The rule: the first authenticated use of a nonce is accepted with any nc;
// every later use must carry a strictly greater nc. Clients that send no qop
// have no nc and pass 0, so for them each nonce authenticates exactly one
// request; the next one gets a fresh challenge (send it with stale=true so
// the client retries silently).
//
// Memory is bounded: an entry is dropped ttl after its nonce was first
// accepted (by then the nonce itself has expired and Nonces.Check refuses
// it), and at most max entries are kept. When the table is full the oldest
// entry is forgotten and every nonce issued before its first use is refused
// from then on (see floor): no forgotten nonce can be replayed, and a flood
// of valid logins cannot lock phones out, since fresh nonces always pass.
// Accept is only called after Credentials.Verify succeeded, with a nonce
// Nonces.Check accepted (its issue time is read from it). Safe for
// concurrent use.
type Replay struct {
	mu  sync.Mutex
	ttl time.Duration
	max int
	// floor: when the table is full the oldest entry is forgotten, and
	// from then on every nonce issued before that entry's first use is
	// refused (stale) unless remembered. A forgotten nonce can therefore
	// never be replayed, and a flood of valid logins cannot lock anyone
	// out: fresh nonces are always accepted.
	floor   time.Time
	highest map[string]uint64
	queue   []replayEntry // insertion order == expiry order
	head    int
}

type replayEntry struct {
	nonce   string
	expires time.Time
	used    time.Time // first authenticated use
}

// NewReplay returns a replay guard for nonces valid for ttl (use the same ttl
// as NewNonces) holding at most max entries (DefaultReplayEntries when max
// is not positive).
func NewReplay(ttl time.Duration, max int) *Replay {
	if max <= 0 {
		max = DefaultReplayEntries
	}
	return &Replay{ttl: ttl, max: max, highest: make(map[string]uint64)}
}

// Accept records that nonce authenticated a request with nonce count nc and
// reports whether that is allowed under the rule documented on Replay.
func (r *Replay) Accept(nonce string, nc uint64, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expire(now)
	if prev, ok := r.highest[nonce]; ok {
		if nc <= prev {
			return false
		}
		r.highest[nonce] = nc
		return true
	}
	issued, ok := Issued(nonce)
	if !ok {
		return false
	}
	if !r.floor.IsZero() && !issued.After(r.floor) {
		return false
	}
	for len(r.highest) >= r.max && r.head < len(r.queue) {
		old := r.queue[r.head]
		delete(r.highest, old.nonce)
		r.queue[r.head] = replayEntry{}
		r.head++
		if old.used.After(r.floor) {
			r.floor = old.used
		}
		if !issued.After(r.floor) {
			return false
		}
	}
	r.highest[nonce] = nc
	r.queue = append(r.queue, replayEntry{nonce: nonce, expires: now.Add(r.ttl), used: now})
	return true
}

// Len returns the number of nonces remembered.
func (r *Replay) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.highest)
}

// expire drops entries whose time is up. Called with r.mu held.
func (r *Replay) expire(now time.Time) {
	for r.head < len(r.queue) && !now.Before(r.queue[r.head].expires) {
		delete(r.highest, r.queue[r.head].nonce)
		r.queue[r.head] = replayEntry{}
		r.head++
	}
	// Compact once the dead prefix is at least half the slice, so the
	// backing array does not grow without bound.
	if r.head > 0 && r.head*2 >= len(r.queue) {
		n := copy(r.queue, r.queue[r.head:])
		clear(r.queue[n:])
		r.queue = r.queue[:n]
		r.head = 0
	}
}
