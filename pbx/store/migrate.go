package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// migration upgrades a file from schema version i to i+1, where i is its
// index in the migrations list. All migrations that apply run in the one
// transaction Open starts, so a file is never left between two versions.
type migration func(tx *bolt.Tx) error

// migrations is the ordered upgrade path; len(migrations) == SchemaVersion.
// Append new steps, never edit old ones: files in the field went through them.
var migrations = []migration{
	// 0 -> 1: the initial buckets.
	func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketMeta, bucketSettings, bucketSecrets, bucketExtensions, bucketCDR} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		return nil
	},
	// 1 -> 2: trunks and key material (the box's sealed identity).
	func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketTrunks, bucketKeys} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		return nil
	},
}

// migrate brings the file up to len(steps), recording the version in meta.
func migrate(tx *bolt.Tx, steps []migration) error {
	have, err := readSchema(tx)
	if err != nil {
		return err
	}
	want := uint64(len(steps))
	if have > want {
		return fmt.Errorf("%w: file has schema %d, this program knows up to %d", ErrSchemaTooNew, have, want)
	}
	for v := have; v < want; v++ {
		if err := steps[v](tx); err != nil {
			return fmt.Errorf("migrate schema %d to %d: %w", v, v+1, err)
		}
	}
	if have == want {
		return nil
	}
	meta, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return fmt.Errorf("create bucket meta: %w", err)
	}
	if err := meta.Put(keySchema, u64(want)); err != nil {
		return fmt.Errorf("record schema version: %w", err)
	}
	return nil
}
