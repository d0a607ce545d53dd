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

// exportTo exports db into a new file and returns its path.
func exportTo(t *testing.T, db *DB) string {
	t.Helper()
	var buf bytes.Buffer
	if err := db.Export(&buf); err != nil {
		t.Fatalf("Export: %v", err)
	}
	path := filepath.Join(t.TempDir(), "snapshot.db")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestExportRoundTrip(t *testing.T) {
	db := openTest(t)
	if err := db.AddExtension(Extension{Number: "201", Name: "Desk", Realm: "hushbox"}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetSetting("realm", "office"); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	c := CDR{CallID: "a@b", From: "201", To: "202", Start: now, End: now.Add(time.Minute), Disposition: DispAnswered, SIPCode: 200}
	if err := db.AppendCDR(&c); err != nil {
		t.Fatal(err)
	}
	size, err := db.ExportSize()
	if err != nil {
		t.Fatal(err)
	}
	path := exportTo(t, db)
	fi, _ := os.Stat(path)
	if fi.Size() != size {
		t.Errorf("export wrote %d bytes, ExportSize said %d", fi.Size(), size)
	}
	if err := ValidateSnapshot(path); err != nil {
		t.Fatalf("ValidateSnapshot of a fresh export: %v", err)
	}
	// The snapshot opens as a store holding the same data.
	snap, err := Open(path)
	if err != nil {
		t.Fatalf("Open snapshot: %v", err)
	}
	defer snap.Close()
	e, err := snap.Extension("201")
	if err != nil || e.Name != "Desk" {
		t.Errorf("extension in snapshot = %+v, %v", e, err)
	}
	if v, ok, _ := snap.Setting("realm"); !ok || v != "office" {
		t.Errorf("setting in snapshot = %q %v", v, ok)
	}
	cdrs, err := snap.CDRs(CDRQuery{})
	if err != nil || len(cdrs) != 1 || cdrs[0].CallID != "a@b" {
		t.Errorf("CDRs in snapshot = %+v, %v", cdrs, err)
	}
}

// TestExportWhileWriting: a snapshot taken while writers run is a valid
// store (bbolt's read transaction gives a consistent view).
func TestExportWhileWriting(t *testing.T) {
	db := openTest(t)
	done := make(chan error)
	go func() {
		for i := 0; i < 50; i++ {
			if err := db.SetSetting("k", string(rune('a'+i%26))); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	path := exportTo(t, db)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := ValidateSnapshot(path); err != nil {
		t.Fatalf("ValidateSnapshot: %v", err)
	}
}

// rawDB makes a bbolt file at a new path and lets fill shape it.
func rawDB(t *testing.T, fill func(tx *bolt.Tx) error) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "raw.db")
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Update(fill); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// storeThen makes a valid current store, then changes it raw with fill.
func storeThen(t *testing.T, fill func(tx *bolt.Tx) error) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "store.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.AddExtension(Extension{Number: "201", Realm: "r"}); err != nil {
		t.Fatal(err)
	}
	if err := db.bolt.Update(fill); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestValidateSnapshotRefuses(t *testing.T) {
	noop := func(*bolt.Tx) error { return nil }
	tests := []struct {
		name     string
		path     func(t *testing.T) string
		tooNew   bool
		wantText string
	}{
		{"missing file", func(t *testing.T) string { return filepath.Join(t.TempDir(), "nope.db") }, false, "no such file"},
		{"folder", func(t *testing.T) string { return t.TempDir() }, false, "not a regular file"},
		{"empty file", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "empty.db")
			_ = os.WriteFile(p, nil, 0o600)
			return p
		}, false, ""},
		{"text file", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "text.db")
			_ = os.WriteFile(p, bytes.Repeat([]byte("not a database "), 2000), 0o600)
			return p
		}, false, ""},
		{"bare bbolt file", func(t *testing.T) string { return rawDB(t, noop) }, false, "not a hushbox store"},
		{"meta without schema", func(t *testing.T) string {
			return rawDB(t, func(tx *bolt.Tx) error { _, err := tx.CreateBucket(bucketMeta); return err })
		}, false, "no schema version"},
		{"newer schema", func(t *testing.T) string {
			return storeThen(t, func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keySchema, u64(SchemaVersion+1)) })
		}, true, "schema"},
		{"corrupt schema record", func(t *testing.T) string {
			return storeThen(t, func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keySchema, []byte{1}) })
		}, false, "schema version record"},
		{"missing trunks bucket", func(t *testing.T) string {
			return storeThen(t, func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketTrunks) })
		}, false, "lacks bucket trunks"},
		{"undecodable extension", func(t *testing.T) string {
			return storeThen(t, func(tx *bolt.Tx) error { return tx.Bucket(bucketExtensions).Put([]byte("202"), []byte("{not json")) })
		}, false, "extension \"202\""},
		{"extension under wrong key", func(t *testing.T) string {
			return storeThen(t, func(tx *bolt.Tx) error {
				return tx.Bucket(bucketExtensions).Put([]byte("202"), []byte(`{"number":"203"}`))
			})
		}, false, "holds number"},
		{"undecodable trunk", func(t *testing.T) string {
			return storeThen(t, func(tx *bolt.Tx) error { return tx.Bucket(bucketTrunks).Put([]byte("t"), []byte(`{"name":5}`)) })
		}, false, "trunk \"t\""},
		{"undecodable CDR", func(t *testing.T) string {
			return storeThen(t, func(tx *bolt.Tx) error { return tx.Bucket(bucketCDR).Put(u64(9), []byte(`[]`)) })
		}, false, "CDR"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateSnapshot(tc.path(t))
			if !errors.Is(err, ErrSnapshot) {
				t.Fatalf("ValidateSnapshot = %v, want ErrSnapshot", err)
			}
			if tc.tooNew != errors.Is(err, ErrSchemaTooNew) {
				t.Errorf("errors.Is(ErrSchemaTooNew) = %v, want %v (%v)", !tc.tooNew, tc.tooNew, err)
			}
			if tc.wantText != "" && !bytes.Contains([]byte(err.Error()), []byte(tc.wantText)) {
				t.Errorf("error %q does not mention %q", err, tc.wantText)
			}
		})
	}
}

// TestValidateSnapshotOlderSchema: a schema-1 file (before trunks) is
// accepted; Open migrates it.
func TestValidateSnapshotOlderSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	db, err := Open(path, func(o *options) { o.migrations = migrations[:1] })
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ValidateSnapshot(path); err != nil {
		t.Fatalf("schema 1 snapshot refused: %v", err)
	}
}

// TestValidateSnapshotLeavesFileAlone: validation does not write.
func TestValidateSnapshotLeavesFileAlone(t *testing.T) {
	db := openTest(t)
	path := exportTo(t, db)
	before, _ := os.ReadFile(path)
	if err := ValidateSnapshot(path); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Error("ValidateSnapshot changed the file")
	}
}

// TestValidateSnapshotDamagedPages flips bytes across a real snapshot's
// pages: validation must return an error or accept it, never panic.
func TestValidateSnapshotDamagedPages(t *testing.T) {
	if raceBuild {
		t.Skip("checkptr (on under -race) aborts inside bbolt on damaged pages; run without -race")
	}
	db := openTest(t)
	for i := 0; i < 40; i++ {
		if err := db.AddExtension(Extension{Number: "2" + string(rune('0'+i/10)) + string(rune('0'+i%10)), Realm: "r"}); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := db.Export(&buf); err != nil {
		t.Fatal(err)
	}
	orig := buf.Bytes()
	dir := t.TempDir()
	refused := 0
	for off := 0; off < len(orig); off += 509 {
		data := bytes.Clone(orig)
		data[off] ^= 0xff
		p := filepath.Join(dir, "damaged.db")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := ValidateSnapshot(p); err != nil {
			if !errors.Is(err, ErrSnapshot) {
				t.Fatalf("offset %d: error %v does not wrap ErrSnapshot", off, err)
			}
			refused++
		}
	}
	if refused == 0 {
		t.Error("no damaged snapshot was refused")
	}
}
