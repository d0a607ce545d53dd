package digest

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"hash"
	"sync"
	"time"
)

// Nonce layout: 8-byte big-endian Unix time in nanoseconds, 8 random bytes,
// then the first 16 bytes of HMAC-SHA256(key, time||random). Encoded with
// unpadded base64url, so it is a valid SIP token and quoted-string content.
const (
	nonceTSLen   = 8
	nonceRandLen = 8
	nonceMACLen  = 16
	nonceRawLen  = nonceTSLen + nonceRandLen + nonceMACLen
	// NonceLen is the length of an encoded nonce.
	NonceLen = (nonceRawLen*8 + 5) / 6
)

// MaxClockSkew is how far in the future a nonce's time stamp may be before
// Check treats it as expired (stale) rather than valid. A genuine nonce from
// the future only happens when the clock stepped backwards.
const MaxClockSkew = 5 * time.Second

// Nonces mints and checks stateless nonces: a nonce carries its own issue
// time and an HMAC, so issuing a challenge stores nothing and a flood of
// unauthenticated requests costs no memory. Safe for concurrent use.
type Nonces struct {
	key []byte
	ttl time.Duration
	// macs holds keyed HMAC-SHA256 states for reuse: keying one costs more
	// than the MAC of a nonce.
	macs sync.Pool
}

// NewNonces returns a nonce source keyed with key (32 random bytes, e.g.
// store.DB.Secret("nonce-key", 32), so nonces survive a restart) whose nonces
// are valid for ttl. It panics when key is shorter than 16 bytes or ttl is
// not positive: both are programming errors, never outside input.
func NewNonces(key []byte, ttl time.Duration) *Nonces {
	if len(key) < 16 {
		panic("digest: nonce key shorter than 16 bytes")
	}
	if ttl <= 0 {
		panic("digest: nonce ttl must be positive")
	}
	n := &Nonces{key: append([]byte(nil), key...), ttl: ttl}
	n.macs.New = func() any { return &macState{h: hmac.New(sha256.New, n.key)} }
	return n
}

// TTL returns how long a nonce stays valid.
func (n *Nonces) TTL() time.Duration { return n.ttl }

// New returns a fresh nonce issued at now.
func (n *Nonces) New(now time.Time) string {
	var raw [nonceRawLen]byte
	binary.BigEndian.PutUint64(raw[:nonceTSLen], uint64(now.UnixNano()))
	_, _ = rand.Read(raw[nonceTSLen : nonceTSLen+nonceRandLen]) // never fails since Go 1.24
	var mac [sha256.Size]byte
	copy(raw[nonceTSLen+nonceRandLen:], n.mac(mac[:0], raw[:nonceTSLen+nonceRandLen]))
	var out [NonceLen]byte
	base64.RawURLEncoding.Encode(out[:], raw[:])
	return string(out[:])
}

// Check reports whether nonce was minted by this source (same key). ok is
// true when it is genuine and younger than the TTL; stale is true when it is
// genuine but expired (or dated more than MaxClockSkew in the future), in
// which case the caller challenges again with stale=true so the client
// retries without asking its user. A forged, tampered or malformed nonce
// gives false, false. It never panics.
func (n *Nonces) Check(nonce string, now time.Time) (ok bool, stale bool) {
	if len(nonce) != NonceLen {
		return false, false
	}
	raw, ok := decodeNonce(nonce)
	if !ok {
		return false, false
	}
	var mac [sha256.Size]byte
	if !hmac.Equal(raw[nonceTSLen+nonceRandLen:], n.mac(mac[:0], raw[:nonceTSLen+nonceRandLen])) {
		return false, false
	}
	issued := time.Unix(0, int64(binary.BigEndian.Uint64(raw[:nonceTSLen])))
	age := now.Sub(issued)
	if age > n.ttl || age < -MaxClockSkew {
		return false, true
	}
	return true, false
}

// Issued returns when a nonce was minted. It does not authenticate the
// nonce: call it after Check said ok.
func Issued(nonce string) (time.Time, bool) {
	raw, ok := decodeNonce(nonce)
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(raw[:nonceTSLen]))), true
}

// decodeNonce decodes an encoded nonce into its raw bytes, working on the
// stack (no allocation); ok is false when it is not a nonce's encoding.
func decodeNonce(nonce string) (raw [nonceRawLen]byte, ok bool) {
	if len(nonce) != NonceLen {
		return raw, false
	}
	var src [NonceLen]byte
	copy(src[:], nonce)
	m, err := base64.RawURLEncoding.Decode(raw[:], src[:])
	return raw, err == nil && m == nonceRawLen
}

// macState is a keyed HMAC and the buffer its sums go to (a buffer passed
// through the hash.Hash interface would escape to the heap).
type macState struct {
	h   hash.Hash
	sum [sha256.Size]byte
}

// mac appends the truncated HMAC-SHA256 of msg to dst and returns the
// nonceMACLen bytes of it.
func (n *Nonces) mac(dst, msg []byte) []byte {
	st := n.macs.Get().(*macState)
	st.h.Reset()
	st.h.Write(msg)
	st.h.Sum(st.sum[:0])
	dst = append(dst, st.sum[:nonceMACLen]...)
	n.macs.Put(st)
	return dst[len(dst)-nonceMACLen:]
}
