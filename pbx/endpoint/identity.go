package endpoint

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"hushbox/crypto/keys"
)

// Files of a phone's identity in its data folder: the Ed25519 identity
// sealed (crypto/keys.Seal) under a key-encryption key kept in its own
// file, both 0600 in a 0700 folder.
const (
	identityFile = "identity.sealed"
	kekFile      = "identity.kek"
)

// LoadIdentity returns the phone's identity kept in dir, creating dir and
// the identity on first use.
func LoadIdentity(dir string) (*keys.Identity, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("endpoint: identity folder: %w", err)
	}
	kek, err := readOrCreate(filepath.Join(dir, kekFile), func() ([]byte, error) {
		k := make([]byte, keys.KEKSize)
		_, _ = rand.Read(k)
		return k, nil
	})
	if err != nil {
		return nil, err
	}
	defer clear(kek)
	if len(kek) != keys.KEKSize {
		return nil, fmt.Errorf("endpoint: %s: %d bytes, want %d", kekFile, len(kek), keys.KEKSize)
	}
	blob, err := readOrCreate(filepath.Join(dir, identityFile), func() ([]byte, error) {
		id, err := keys.NewIdentity()
		if err != nil {
			return nil, err
		}
		defer id.Destroy()
		return keys.Seal(id, kek)
	})
	if err != nil {
		return nil, err
	}
	id, err := keys.Open(blob, kek)
	if err != nil {
		return nil, fmt.Errorf("endpoint: cannot open %s (was %s replaced?): %w", identityFile, kekFile, err)
	}
	return id, nil
}

// readOrCreate reads path, or writes what make returns there (0600, never
// replacing a file that appeared meanwhile) and returns it.
func readOrCreate(path string, make func() ([]byte, error)) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return b, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("endpoint: %w", err)
	}
	b, err = make()
	if err != nil {
		return nil, fmt.Errorf("endpoint: %s: %w", filepath.Base(path), err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("endpoint: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return nil, fmt.Errorf("endpoint: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("endpoint: sync %s: %w", path, err)
	}
	return b, f.Close()
}
