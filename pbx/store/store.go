// Package store keeps the daemon's persistent state in one bbolt file:
// settings, secrets, extensions and call detail records, each in its own
// bucket, behind a schema version with ordered migrations.
//
// Every write runs in one bbolt read-write transaction and bbolt syncs the
// file on commit (NoSync stays false), so a write that returned nil survives
// a power cut and a failed write leaves nothing behind.
package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// SchemaVersion is the schema this code writes. Open migrates older files
// up to it and refuses newer ones.
const SchemaVersion = 2

// Bucket names.
var (
	bucketMeta       = []byte("meta")
	bucketSettings   = []byte("settings")
	bucketSecrets    = []byte("secrets")
	bucketExtensions = []byte("extensions")
	bucketCDR        = []byte("cdr")
	bucketTrunks     = []byte("trunks")
	bucketKeys       = []byte("keys")

	keySchema = []byte("schema")
)

// Errors callers can test with errors.Is.
var (
	ErrLocked        = errors.New("store: database is locked by another process")
	ErrSchemaTooNew  = errors.New("store: database schema is newer than this program")
	ErrNotFound      = errors.New("store: not found")
	ErrExists        = errors.New("store: already exists")
	ErrInvalid       = errors.New("store: invalid value")
	ErrSecretSize    = errors.New("store: stored secret has a different size")
	errCorruptSchema = errors.New("store: schema version record is corrupt")
)

// DB is an open store. Safe for concurrent use.
type DB struct {
	bolt *bolt.DB
	path string
	now  func() time.Time
	exts extCache
	// trunks caches the decoded trunk list: every INVITE consults it (DIDs,
	// key shares, the dial plan), before authentication for the first two.
	trunks trunkCache
}

// Option configures Open.
type Option func(*options)

type options struct {
	timeout    time.Duration
	now        func() time.Time
	migrations []migration
}

// WithTimeout sets how long Open waits for another process's lock before it
// fails with ErrLocked (default 1 s).
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithClock sets the clock used for Created/Updated stamps (default time.Now).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// Open opens or creates the store at path (mode 0600, tightened if an
// existing file is looser), migrates it to SchemaVersion in one transaction
// and returns it. It fails with an error wrapping ErrLocked when another
// process holds the file, and ErrSchemaTooNew when the file was written by a
// newer program.
func Open(path string, opts ...Option) (*DB, error) {
	o := options{timeout: time.Second, now: time.Now, migrations: migrations}
	for _, opt := range opts {
		opt(&o)
	}
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: o.timeout, NoSync: false})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("store: open %s: %w (%w)", path, ErrLocked, err)
		}
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := tightenMode(path); err != nil {
		_ = bdb.Close()
		return nil, err
	}
	if err := bdb.Update(func(tx *bolt.Tx) error { return migrate(tx, o.migrations) }); err != nil {
		_ = bdb.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	return &DB{bolt: bdb, path: path, now: o.now}, nil
}

// tightenMode makes sure the file is readable by its owner only: it holds
// HA1 values and secrets.
func tightenMode(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("store: stat %s: %w", path, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(path, 0o600); err != nil {
			return fmt.Errorf("store: chmod %s: %w", path, err)
		}
	}
	return nil
}

// Close closes the file, releasing the lock.
func (db *DB) Close() error {
	if err := db.bolt.Close(); err != nil {
		return fmt.Errorf("store: close %s: %w", db.path, err)
	}
	return nil
}

// Path returns the file the store was opened from.
func (db *DB) Path() string { return db.path }

// SchemaVersion returns the schema version recorded in the file.
func (db *DB) SchemaVersion() (int, error) {
	var v uint64
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		v, err = readSchema(tx)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: schema version: %w", err)
	}
	return int(v), nil
}

// readSchema returns the stored schema version, 0 for a new file.
func readSchema(tx *bolt.Tx) (uint64, error) {
	b := tx.Bucket(bucketMeta)
	if b == nil {
		return 0, nil
	}
	v := b.Get(keySchema)
	if v == nil {
		return 0, nil
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: %d bytes", errCorruptSchema, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// u64 encodes n as 8 big-endian bytes (keys sort numerically).
func u64(n uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	return b[:]
}
