package identity

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"path/filepath"
)

// secretVersion is the first byte of a sealed secret.
const secretVersion = 1

// ErrSealedSecret: a sealed secret does not open (wrong key, damaged).
var ErrSealedSecret = errors.New("identity: sealed secret does not open")

// secretAEAD derives the AES-256-GCM key for secrets (trunk passwords)
// from the key-encryption key, apart from the identity's own sealing key.
func secretAEAD(dataDir string) (cipher.AEAD, error) {
	kek, err := loadKEK(filepath.Join(dataDir, KEKFile))
	if err != nil {
		return nil, err
	}
	defer clear(kek)
	key, err := hkdf.Key(sha256.New, kek, nil, "hushbox secret seal v1", 32)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	defer clear(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	return cipher.NewGCM(block)
}

// SealSecret encrypts a secret the box must be able to read back (a SIP
// provider's password, which digest authentication needs in clear) so that
// the store alone does not reveal it. name binds the blob to its use.
func SealSecret(dataDir, name string, secret []byte) ([]byte, error) {
	aead, err := secretAEAD(dataDir)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	out := append([]byte{secretVersion}, nonce...)
	return aead.Seal(out, nonce, secret, []byte(name)), nil
}

// OpenSecret decrypts what SealSecret made for the same name.
func OpenSecret(dataDir, name string, blob []byte) ([]byte, error) {
	aead, err := secretAEAD(dataDir)
	if err != nil {
		return nil, err
	}
	ns := aead.NonceSize()
	if len(blob) < 1+ns+aead.Overhead() || blob[0] != secretVersion {
		return nil, ErrSealedSecret
	}
	pt, err := aead.Open(nil, blob[1:1+ns], blob[1+ns:], []byte(name))
	if err != nil {
		return nil, ErrSealedSecret
	}
	return pt, nil
}
