package keys

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
)

// Sealed identity format, version 1 (61 bytes):
//
//	version (1 byte, 0x01) || nonce (12 bytes) || AES-256-GCM ciphertext of the
//	32-byte Ed25519 seed || GCM tag (16 bytes)
//
// The AES key is HKDF-SHA256(secret = kek, salt = none, info = sealInfo), so
// the store's 32-byte secret can serve other purposes under other labels.
// The additional data is sealAAD || version, so a blob cannot be opened as
// anything else, nor its version byte changed.
const (
	sealVersion = 1
	// SealedSize is the length of a sealed identity.
	SealedSize = 1 + 12 + ed25519.SeedSize + 16
	// KEKSize is the length of the key-encryption key Seal and Open take.
	KEKSize  = 32
	sealInfo = "hushbox identity seal v1"
	sealAAD  = "hushbox sealed identity"
)

// Seal encrypts the identity's private key under kek (KEKSize bytes, e.g. the
// store's secret) for storage. It fails with ErrDestroyed after Destroy.
func Seal(id *Identity, kek []byte) ([]byte, error) {
	aead, err := sealAEAD(kek)
	if err != nil {
		return nil, fmt.Errorf("keys: seal: %w", err)
	}
	out := make([]byte, 1+aead.NonceSize(), SealedSize)
	out[0] = sealVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("keys: seal: %w", err)
	}
	err = id.withSeed(func(seed []byte) error {
		out = aead.Seal(out, out[1:], seed, []byte(sealAAD+"\x01"))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("keys: seal: %w", err)
	}
	return out, nil
}

// Open decrypts a blob written by Seal. Any wrong kek, altered or truncated
// blob or unknown version gives an error wrapping ErrSealed (or a kek of
// the wrong length, an error of its own).
func Open(blob, kek []byte) (*Identity, error) {
	aead, err := sealAEAD(kek)
	if err != nil {
		return nil, fmt.Errorf("keys: open: %w", err)
	}
	if len(blob) != SealedSize {
		return nil, fmt.Errorf("keys: open: %d bytes, want %d: %w", len(blob), SealedSize, ErrSealed)
	}
	if blob[0] != sealVersion {
		return nil, fmt.Errorf("keys: open: version %d, want %d: %w", blob[0], sealVersion, ErrSealed)
	}
	ns := aead.NonceSize()
	seed, err := aead.Open(nil, blob[1:1+ns], blob[1+ns:], []byte(sealAAD+"\x01"))
	if err != nil {
		return nil, fmt.Errorf("keys: open: authentication failed: %w", ErrSealed)
	}
	defer clear(seed)
	return identityFromSeed(seed), nil
}

func sealAEAD(kek []byte) (cipher.AEAD, error) {
	if len(kek) != KEKSize {
		return nil, fmt.Errorf("key-encryption key of %d bytes, want %d", len(kek), KEKSize)
	}
	k, err := hkdf.Key(sha256.New, kek, nil, sealInfo, 32)
	if err != nil {
		return nil, err
	}
	defer clear(k)
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
