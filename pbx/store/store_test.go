package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// openTest opens a fresh store in a temporary folder and closes it when the
// test ends.
func openTest(t testing.TB, opts ...Option) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "hushbox.db"), opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func TestOpenCreatesPrivateFile(t *testing.T) {
	db := openTest(t)
	fi, err := os.Stat(db.Path())
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("file mode %o, want 600", perm)
	}
	v, err := db.SchemaVersion()
	if err != nil || v != SchemaVersion {
		t.Errorf("SchemaVersion = %d, %v; want %d", v, err, SchemaVersion)
	}
}

func TestOpenTightensLooseMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hushbox.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fi, _ := os.Stat(path)
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("file mode %o after reopen, want 600", perm)
	}
}

func TestOpenLocked(t *testing.T) {
	db := openTest(t)
	_, err := Open(db.Path(), WithTimeout(50*time.Millisecond))
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open error = %v, want ErrLocked", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := Open(db.Path(), WithTimeout(50*time.Millisecond))
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	_ = again.Close()
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hushbox.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keySchema, u64(SchemaVersion+1))
	}); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	_, err = Open(path)
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("Open error = %v, want ErrSchemaTooNew", err)
	}
}

func TestMigrations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hushbox.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetSetting("kept", "yes"); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()

	newBucket := []byte("v2")
	withSteps := func(steps ...migration) Option {
		return func(o *options) { o.migrations = append(append([]migration(nil), migrations...), steps...) }
	}
	// A failing migration leaves the file untouched: still the current version, no
	// half-created bucket.
	failing := func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucket(newBucket); err != nil {
			return err
		}
		return errors.New("boom")
	}
	if _, err := Open(path, withSteps(failing)); err == nil {
		t.Fatal("Open with a failing migration succeeded")
	}
	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := db.SchemaVersion(); v != SchemaVersion {
		t.Errorf("version after failed migration = %d, want %d", v, SchemaVersion)
	}
	_ = db.bolt.View(func(tx *bolt.Tx) error {
		if tx.Bucket(newBucket) != nil {
			t.Error("failed migration left its bucket behind")
		}
		return nil
	})
	_ = db.Close()

	// A good migration runs once and records the next version.
	runs := 0
	good := func(tx *bolt.Tx) error {
		runs++
		_, err := tx.CreateBucket(newBucket)
		return err
	}
	for range 2 {
		db, err = Open(path, withSteps(good))
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := db.SchemaVersion(); v != SchemaVersion+1 {
			t.Errorf("version = %d, want %d", v, SchemaVersion+1)
		}
		if v, ok, _ := db.Setting("kept"); !ok || v != "yes" {
			t.Error("migration lost a setting")
		}
		_ = db.Close()
	}
	if runs != 1 {
		t.Errorf("migration ran %d times, want 1", runs)
	}
	// This program (one version older) now refuses the file.
	if _, err := Open(path); !errors.Is(err, ErrSchemaTooNew) {
		t.Errorf("Open of a v2 file = %v, want ErrSchemaTooNew", err)
	}
}

func TestOpenNotADatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "junk.db")
	if err := os.WriteFile(path, bytes.Repeat([]byte("junk"), 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	if db, err := Open(path); err == nil {
		_ = db.Close()
		t.Fatal("Open of a junk file succeeded")
	}
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hushbox.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := db.Secret("nonce-key", 32)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetSetting("sip.port", "5060"); err != nil {
		t.Fatal(err)
	}
	ext := Extension{Number: "1001", Name: "Desk", Realm: "hushbox", HA1MD5: ha1MD5}
	if err := db.AddExtension(ext); err != nil {
		t.Fatal(err)
	}
	cdr := testCDR("a", "1001", "1002", t0)
	if err := db.AppendCDR(&cdr); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	again, err := db.Secret("nonce-key", 32)
	if err != nil || !bytes.Equal(again, secret) {
		t.Errorf("secret changed across reopen")
	}
	if v, ok, err := db.Setting("sip.port"); err != nil || !ok || v != "5060" {
		t.Errorf("Setting = %q, %v, %v", v, ok, err)
	}
	if got, err := db.Extension("1001"); err != nil || got.Name != "Desk" || got.HA1MD5 != ha1MD5 {
		t.Errorf("Extension = %+v, %v", got, err)
	}
	if got, err := db.CDRs(CDRQuery{}); err != nil || len(got) != 1 || got[0].CallID != "a" {
		t.Errorf("CDRs = %+v, %v", got, err)
	}
}
