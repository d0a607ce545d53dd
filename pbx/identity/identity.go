// Package identity loads this hushbox's Ed25519 identity: the key that
// signs its per-call key shares and that other hushboxes pin. The private
// key lives in the store sealed (AES-256-GCM) under a key-encryption key
// kept in its own file beside the store, so a copy or backup of the store
// alone does not carry a usable identity.
package identity

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"hushbox/crypto/keys"
	"hushbox/pbx/store"
)

// KEKFile is the key-encryption key's file name in the data folder.
const KEKFile = "identity.kek"

// storeKey is the name of the sealed identity in the store's keys bucket.
const storeKey = "identity"

// Load returns the box's identity, creating it on first start.
func Load(dataDir string, db *store.DB) (*keys.Identity, error) {
	kek, err := loadKEK(filepath.Join(dataDir, KEKFile))
	if err != nil {
		return nil, err
	}
	defer clear(kek)
	blob, err := db.Key(storeKey)
	if errors.Is(err, store.ErrNotFound) {
		id, err := keys.NewIdentity()
		if err != nil {
			return nil, fmt.Errorf("identity: %w", err)
		}
		sealed, err := keys.Seal(id, kek)
		id.Destroy()
		if err != nil {
			return nil, fmt.Errorf("identity: seal: %w", err)
		}
		if blob, err = db.PutKeyIfAbsent(storeKey, sealed); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	id, err := keys.Open(blob, kek)
	if err != nil {
		return nil, fmt.Errorf("identity: cannot unseal (was %s replaced?): %w", KEKFile, err)
	}
	return id, nil
}

// loadKEK reads the key-encryption key, creating it (0600) when absent.
func loadKEK(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) != keys.KEKSize {
			return nil, fmt.Errorf("identity: %s holds %d bytes, want %d", path, len(b), keys.KEKSize)
		}
		return b, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("identity: %w", err)
	}
	k := make([]byte, keys.KEKSize)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return loadKEK(path) // another process made it first
		}
		return nil, fmt.Errorf("identity: %w", err)
	}
	if _, err := f.Write(k); err != nil {
		f.Close()
		return nil, fmt.Errorf("identity: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("identity: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("identity: write %s: %w", path, err)
	}
	return k, nil
}
