package identity

import (
	"os"
	"path/filepath"
	"testing"

	"hushbox/pbx/store"
)

func TestLoadCreatesThenKeeps(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a, err := Load(dir, db)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Load(dir, db)
	if err != nil {
		t.Fatal(err)
	}
	if a.Public() != b.Public() {
		t.Fatal("a second start made a new identity")
	}
	st, err := os.Stat(filepath.Join(dir, KEKFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("kek file: %v %v", st, err)
	}
	// The store alone (a backup without the kek) does not open the key.
	if err := os.Remove(filepath.Join(dir, KEKFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir, db); err == nil {
		t.Fatal("identity unsealed with a fresh kek")
	}
}
