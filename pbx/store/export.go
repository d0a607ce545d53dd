package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ErrSnapshot marks a file that is not a usable hushbox store snapshot:
// not a bbolt file, damaged, from a newer program, or holding records this
// program cannot read. Test with errors.Is.
var ErrSnapshot = errors.New("store: not a valid hushbox store snapshot")

// snapshotOpenTimeout bounds how long ValidateSnapshot waits for a shared
// lock on the file (only another process writing it would hold one).
const snapshotOpenTimeout = time.Second

// Export writes a consistent snapshot of the whole database to w: one
// bbolt read transaction copies every page as of its start, so writes that
// run meanwhile are either wholly in the snapshot or not at all, and they
// are not blocked. The bytes written are a complete bbolt file that Open
// (and ValidateSnapshot) accept. Export holds a read transaction for as
// long as w takes to absorb the data.
func (db *DB) Export(w io.Writer) error {
	err := db.bolt.View(func(tx *bolt.Tx) error {
		_, err := tx.WriteTo(w)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: export %s: %w", db.path, err)
	}
	return nil
}

// ExportSize returns the size in bytes Export would write now (the store
// may change before Export runs; use it for progress, not framing).
func (db *DB) ExportSize() (int64, error) {
	var n int64
	err := db.bolt.View(func(tx *bolt.Tx) error {
		n = tx.Size()
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: export size: %w", err)
	}
	return n, nil
}

// bucketsForSchema lists the buckets a file of schema version v must hold.
func bucketsForSchema(v uint64) [][]byte {
	out := [][]byte{bucketMeta, bucketSettings, bucketSecrets, bucketExtensions, bucketCDR}
	if v >= 2 {
		out = append(out, bucketTrunks, bucketKeys)
	}
	return out
}

// ValidateSnapshot checks that the file at path is a hushbox store this
// program can open, without changing it: it opens the file read-only,
// runs bbolt's page consistency check, requires a schema version between 1
// and SchemaVersion (an older one is fine: Open migrates it), requires
// every bucket that version has, reads every key of every bucket and
// decodes every extension, trunk and CDR record. Any failure wraps
// ErrSnapshot (and ErrSchemaTooNew for a newer schema). It is meant for a
// restored backup before it replaces the live store.
func ValidateSnapshot(path string) (err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrSnapshot, path, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%w: %s is not a regular file", ErrSnapshot, path)
	}
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: snapshotOpenTimeout})
	if err != nil {
		return fmt.Errorf("%w: open %s: %w", ErrSnapshot, path, err)
	}
	defer func() {
		if cerr := bdb.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("%w: close %s: %w", ErrSnapshot, path, cerr)
		}
	}()
	// bbolt can panic on a damaged page that its checks did not catch, or
	// fault reading past the mapping; a snapshot comes from outside, so
	// turn both into an error (SetPanicOnFault is per goroutine).
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %s: damaged file: %v", ErrSnapshot, path, r)
		}
	}()
	err = bdb.View(func(tx *bolt.Tx) error {
		var checkErr error
		for cerr := range tx.Check() {
			// Drain the channel so the checking goroutine ends.
			if checkErr == nil {
				checkErr = fmt.Errorf("consistency check: %w", cerr)
			}
		}
		if checkErr != nil {
			return checkErr
		}
		return validateTx(tx)
	})
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrSnapshot, path, err)
	}
	return nil
}

// validateTx checks the schema, the buckets and the records of a snapshot.
func validateTx(tx *bolt.Tx) error {
	if tx.Bucket(bucketMeta) == nil {
		return errors.New("no meta bucket: not a hushbox store")
	}
	v, err := readSchema(tx)
	if err != nil {
		return err
	}
	if v == 0 {
		return errors.New("no schema version recorded")
	}
	if v > SchemaVersion {
		return fmt.Errorf("%w: file has schema %d, this program knows up to %d", ErrSchemaTooNew, v, SchemaVersion)
	}
	for _, name := range bucketsForSchema(v) {
		if tx.Bucket(name) == nil {
			return fmt.Errorf("schema %d store lacks bucket %s", v, name)
		}
	}
	// Every bucket, known or not, must be readable to the last key.
	err = tx.ForEach(func(name []byte, b *bolt.Bucket) error {
		if err := readAll(b); err != nil {
			return fmt.Errorf("bucket %s: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = tx.Bucket(bucketExtensions).ForEach(func(k, v []byte) error {
		var e Extension
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("extension %q: %w", k, err)
		}
		if e.Number != string(k) {
			return fmt.Errorf("extension %q: record holds number %q", k, e.Number)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if b := tx.Bucket(bucketTrunks); b != nil {
		err = b.ForEach(func(k, v []byte) error {
			var t Trunk
			if err := json.Unmarshal(v, &t); err != nil {
				return fmt.Errorf("trunk %q: %w", k, err)
			}
			if t.Name != string(k) {
				return fmt.Errorf("trunk %q: record holds name %q", k, t.Name)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return tx.Bucket(bucketCDR).ForEach(func(k, v []byte) error {
		var c CDR
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("CDR %x: %w", k, err)
		}
		return nil
	})
}

// readAll walks every key and nested bucket of b.
func readAll(b *bolt.Bucket) error {
	return b.ForEach(func(k, v []byte) error {
		if v == nil {
			nb := b.Bucket(k)
			if nb == nil {
				return fmt.Errorf("key %x: neither value nor bucket", k)
			}
			return readAll(nb)
		}
		return nil
	})
}
