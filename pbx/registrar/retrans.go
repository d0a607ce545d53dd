package registrar

import (
	"hash/maphash"
	"sync"
	"time"
)

// Retransmissions. REGISTERs are answered without a server transaction, so
// nothing absorbs a UDP retransmission: a phone (or sipp) whose 200 OK was
// late or lost sends the same authenticated REGISTER again, and its nonce
// count, already used, would earn a stale challenge in place of the 200 it
// is waiting for. RFC 3261 17.2.1 has the server transaction resend its
// last response instead; answered keeps just that for authenticated
// REGISTERs over UDP: the bytes of the final answer, keyed by what makes
// the retransmission the same request (source, top Via branch, Call-ID,
// CSeq, credentials), for as long as a transaction would live (64*T1).
//
// Its size is fixed: retransmissionSlots answers, the oldest overwritten
// first; a request is known by two 64-bit keyed hashes of its identity, not
// the identity itself, so a slot is the answer's few hundred bytes (about
// 4 MB when full). Retransmissions come 0.5, 1.5, 3.5 s ... after the
// original (RFC 3261 17.1.2.2); the slots cover the first ones up to about
// 8000 registrations a second, and all of them for a desk PBX's phones.
// A hit changes no state.

const (
	retransmissionSlots = 8192
	retransmissionTTL   = 32 * time.Second
)

type answeredSlot struct {
	h1, h2  uint64 // the request's identity, hashed with two seeds
	res     []byte
	at      time.Time
	pending bool // claimed: its answer is being worked out
}

// claim outcomes.
const (
	claimProceed  = iota // nothing known: work the answer out, then finish
	claimAnswered        // a retransmission: the answer was appended
	claimInFlight        // a retransmission of a request still being answered: drop it
)

// answered is the fixed-size memory of recent authenticated answers.
type answered struct {
	mu           sync.Mutex
	seed1, seed2 maphash.Seed
	slots        [retransmissionSlots]answeredSlot
	index        map[uint64]int // h1 -> slot
	next         int
}

func newAnswered() *answered {
	return &answered{seed1: maphash.MakeSeed(), seed2: maphash.MakeSeed(), index: make(map[uint64]int)}
}

func (a *answered) hash(key []byte) (uint64, uint64) {
	return maphash.Bytes(a.seed1, key), maphash.Bytes(a.seed2, key)
}

// appendKey appends the identity of a request to dst: the fields joined by
// a NUL, which none of them can hold.
func appendKey(dst []byte, src string, branch, callID, cseq, authz []byte) []byte {
	dst = append(dst, src...)
	for _, f := range [...][]byte{branch, callID, cseq, authz} {
		dst = append(dst, 0)
		dst = append(dst, f...)
	}
	return dst
}

// claim looks key up. A finished answer is appended to dst (claimAnswered);
// a request still being answered makes this copy one to drop, as a server
// transaction in the Trying state absorbs it (claimInFlight); otherwise
// the key is claimed (claimProceed) and the caller must call finish.
// Claiming before the credentials are checked closes the window in which
// a retransmission arriving while the original is in the authenticator
// would find its nonce count spent and no answer yet.
func (a *answered) claim(key []byte, now time.Time, dst []byte) ([]byte, int) {
	h1, h2 := a.hash(key)
	a.mu.Lock()
	defer a.mu.Unlock()
	if i, ok := a.index[h1]; ok {
		s := &a.slots[i]
		if s.h2 == h2 && !now.Before(s.at) && now.Sub(s.at) <= retransmissionTTL {
			if s.pending {
				return dst, claimInFlight
			}
			return append(dst, s.res...), claimAnswered
		}
	}
	a.store(h1, h2, nil, now, true)
	return dst, claimProceed
}

// finish ends a claim: res (copied) is the answer to resend to
// retransmissions; nil forgets the key (nothing worth resending: a
// challenge or a refusal, which a retransmission may as well earn anew).
func (a *answered) finish(key, res []byte, now time.Time) {
	h1, h2 := a.hash(key)
	a.mu.Lock()
	defer a.mu.Unlock()
	i, ok := a.index[h1]
	if !ok || a.slots[i].h2 != h2 {
		if res != nil { // overwritten meanwhile (a full round of claims): keep it anew
			a.store(h1, h2, res, now, false)
		}
		return
	}
	s := &a.slots[i]
	if res == nil {
		delete(a.index, h1)
		*s = answeredSlot{res: s.res[:0]}
		return
	}
	s.res = append(s.res[:0], res...)
	s.pending, s.at = false, now
}

// store puts an entry in the next slot, overwriting the oldest. a.mu is held.
func (a *answered) store(h1, h2 uint64, res []byte, now time.Time, pending bool) {
	s := &a.slots[a.next]
	if j, ok := a.index[s.h1]; ok && j == a.next {
		delete(a.index, s.h1)
	}
	s.h1, s.h2 = h1, h2
	s.res = append(s.res[:0], res...)
	s.at, s.pending = now, pending
	a.index[h1] = a.next
	a.next = (a.next + 1) % retransmissionSlots
}
