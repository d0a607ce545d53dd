package store

import (
	"crypto/rand"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// MaxSecretSize bounds Secret's size argument.
const MaxSecretSize = 4096

// Secret returns the random secret called name, creating it with size bytes
// from crypto/rand on first use. Lookup and creation happen in one
// transaction, so two callers racing on a new name get the same bytes. It
// fails with ErrSecretSize when the stored secret has another size (a
// caller bug that would otherwise silently weaken or break a key). Used for
// the nonce HMAC key and the control-socket token; the bytes are never logged.
func (db *DB) Secret(name string, size int) ([]byte, error) {
	if name == "" || len(name) > MaxSettingKey {
		return nil, fmt.Errorf("store: secret: %w: name must be 1 to %d bytes", ErrInvalid, MaxSettingKey)
	}
	if size <= 0 || size > MaxSecretSize {
		return nil, fmt.Errorf("store: secret %q: %w: size %d not in 1..%d", name, ErrInvalid, size, MaxSecretSize)
	}
	var out []byte
	// get copies an existing secret into out; it reports whether one exists.
	get := func(b *bolt.Bucket) (bool, error) {
		v := b.Get([]byte(name))
		if v == nil {
			return false, nil
		}
		if len(v) != size {
			return true, fmt.Errorf("%w: %d bytes stored, %d asked", ErrSecretSize, len(v), size)
		}
		out = append([]byte(nil), v...)
		return true, nil
	}
	// Fast path: a read-only transaction, no fsync.
	var found bool
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		found, err = get(tx.Bucket(bucketSecrets))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: secret %q: %w", name, err)
	}
	if found {
		return out, nil
	}
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSecrets)
		// Look again: another caller may have created it meanwhile.
		if ok, err := get(b); ok || err != nil {
			return err
		}
		out = make([]byte, size)
		if _, err := rand.Read(out); err != nil {
			return fmt.Errorf("random: %w", err)
		}
		return b.Put([]byte(name), out)
	})
	if err != nil {
		return nil, fmt.Errorf("store: secret %q: %w", name, err)
	}
	return out, nil
}
