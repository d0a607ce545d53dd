package keys

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"sync"
)

// Identity is the long-term Ed25519 signing key of one hushbox (later of one
// hushbox endpoint). It signs the per-call key shares; its public half is
// what the key directory pins. An Identity is safe for concurrent use.
type Identity struct {
	mu   sync.RWMutex
	priv ed25519.PrivateKey // seed || public key; nil once destroyed
	pub  PublicKey
}

// NewIdentity makes a fresh identity from crypto/rand.
func NewIdentity() (*Identity, error) {
	seed := make([]byte, ed25519.SeedSize)
	defer clear(seed)
	if _, err := rand.Read(seed); err != nil {
		return nil, fmt.Errorf("keys: new identity: %w", err)
	}
	return identityFromSeed(seed), nil
}

// identityFromSeed expands a 32-byte seed; the caller keeps ownership of
// (and wipes) seed.
func identityFromSeed(seed []byte) *Identity {
	priv := ed25519.NewKeyFromSeed(seed)
	id := &Identity{priv: priv}
	copy(id.pub[:], priv[ed25519.SeedSize:])
	return id
}

// Public returns the identity's public key (still available after Destroy).
func (id *Identity) Public() PublicKey { return id.pub }

// Destroy overwrites the private key. Afterwards the identity can no longer
// sign (NewExchange and Seal return ErrDestroyed). Go may have left copies
// elsewhere in memory (the garbage collector moves nothing, but the
// standard library makes temporary copies while signing); Destroy wipes
// the one this package keeps.
func (id *Identity) Destroy() {
	id.mu.Lock()
	defer id.mu.Unlock()
	clear(id.priv)
	id.priv = nil
}

// sign signs msg, or fails with ErrDestroyed.
func (id *Identity) sign(msg []byte) ([]byte, error) {
	id.mu.RLock()
	defer id.mu.RUnlock()
	if id.priv == nil {
		return nil, ErrDestroyed
	}
	return ed25519.Sign(id.priv, msg), nil
}

// withSeed calls f with the private seed, or fails with ErrDestroyed.
func (id *Identity) withSeed(f func(seed []byte) error) error {
	id.mu.RLock()
	defer id.mu.RUnlock()
	if id.priv == nil {
		return ErrDestroyed
	}
	return f(id.priv[:ed25519.SeedSize])
}
