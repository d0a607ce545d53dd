package digest

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
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
	return &Nonces{key: append([]byte(nil), key...), ttl: ttl}
}

// TTL returns how long a nonce stays valid.
func (n *Nonces) TTL() time.Duration { return n.ttl }

// New returns a fresh nonce issued at now.
func (n *Nonces) New(now time.Time) string {
	var raw [nonceRawLen]byte
	binary.BigEndian.PutUint64(raw[:nonceTSLen], uint64(now.UnixNano()))
	_, _ = rand.Read(raw[nonceTSLen : nonceTSLen+nonceRandLen]) // never fails since Go 1.24
	copy(raw[nonceTSLen+nonceRandLen:], n.mac(raw[:nonceTSLen+nonceRandLen]))
	return base64.RawURLEncoding.EncodeToString(raw[:])
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
	var raw [nonceRawLen]byte
	if m, err := base64.RawURLEncoding.Decode(raw[:], []byte(nonce)); err != nil || m != nonceRawLen {
		return false, false
	}
	if !hmac.Equal(raw[nonceTSLen+nonceRandLen:], n.mac(raw[:nonceTSLen+nonceRandLen])) {
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
	var raw [nonceRawLen]byte
	if m, err := base64.RawURLEncoding.Decode(raw[:], []byte(nonce)); err != nil || m != nonceRawLen {
		return time.Time{}, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(raw[:nonceTSLen]))), true
}

// mac returns the truncated HMAC-SHA256 of msg.
func (n *Nonces) mac(msg []byte) []byte {
	h := hmac.New(sha256.New, n.key)
	h.Write(msg)
	return h.Sum(nil)[:nonceMACLen]
}
