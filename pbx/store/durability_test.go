package store

import (
	"path/filepath"
	"testing"
	"time"
)

// An acknowledged write must be on disk: every commit is fsynced (bbolt's
// NoSync false), the file's growth too (NoGrowSync false), and the freelist
// is written with each commit (NoFreelistSync false) so that a file opened
// after a crash never needs a rebuild from possibly torn pages.
func TestOpenSyncsEveryCommit(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "hushbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	b := db.bolt
	if b.NoSync {
		t.Error("bbolt NoSync is true: acknowledged writes are not fsynced")
	}
	if b.NoGrowSync {
		t.Error("bbolt NoGrowSync is true: the file's growth is not fsynced")
	}
	if b.NoFreelistSync {
		t.Error("bbolt NoFreelistSync is true: the freelist is rebuilt after a crash")
	}
	if b.IsReadOnly() {
		t.Error("store opened read-only")
	}
}

// After a write returns, a second handle on the file (the next boot) sees
// it, and bbolt's consistency check passes: the write was committed, not
// left in a batch or a buffer.
func TestWritesVisibleAfterReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hushbox.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	for i := range 20 {
		if err := db.SetSetting("k", string(rune('a'+i))); err != nil {
			t.Fatal(err)
		}
		c := CDR{CallID: "c", From: "101", To: "102", Start: now, End: now, Disposition: DispFailed, SIPCode: 486}
		if err := db.AppendCDR(&c); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ValidateSnapshot(path); err != nil {
		t.Fatalf("consistency check after writes: %v", err)
	}
	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, ok, err := db.Setting("k"); err != nil || !ok || v != "t" {
		t.Errorf("setting after reopen: %q %v %v, want \"t\"", v, ok, err)
	}
	cdrs, err := db.CDRs(CDRQuery{})
	if err != nil || len(cdrs) != 20 {
		t.Errorf("CDRs after reopen: %d, %v; want 20", len(cdrs), err)
	}
}
