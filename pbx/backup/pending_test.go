package backup

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"hushbox/pbx/store"
)

// liveDir makes a data folder holding a store with extension 999 and an
// identity.kek "old-kek", as a running box has them.
func liveDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, "hushbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.AddExtension(store.Extension{Number: "999", Realm: "old"}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "identity.kek"), []byte("old-kek"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// extensionsIn opens the store at path and lists its extension numbers.
func extensionsIn(t *testing.T, path string) []string {
	t.Helper()
	db, err := store.Open(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer db.Close()
	exts, err := db.Extensions()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range exts {
		out = append(out, e.Number)
	}
	return out
}

func fileIs(t *testing.T, path, want string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	if string(got) != want {
		t.Fatalf("%s holds %q, want %q", filepath.Base(path), got, want)
	}
}

// dirNames lists the folder's file names.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func TestStageApplyRoundTrip(t *testing.T) {
	dir := liveDir(t)
	data := backupOf(t, newStore(t, 3), map[string][]byte{"identity.kek": []byte("new-kek")})
	if err := Stage(bytes.NewReader(data), pass, dir); err != nil {
		t.Fatalf("Stage: %v", err)
	}
	// Staging touches nothing live.
	if got := extensionsIn(t, filepath.Join(dir, "hushbox.db")); !slices.Equal(got, []string{"999"}) {
		t.Fatalf("live store changed by Stage: %v", got)
	}
	fileIs(t, filepath.Join(dir, "identity.kek"), "old-kek")
	if !Pending(dir) {
		t.Fatal("Pending: false after Stage")
	}
	for _, n := range []string{PendingDB, PendingPrefix + "identity.kek"} {
		fi, err := os.Stat(filepath.Join(dir, n))
		if err != nil {
			t.Fatalf("staged %s: %v", n, err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", n, fi.Mode().Perm())
		}
	}

	applied, err := ApplyPending(dir, "hushbox.db")
	if err != nil || !applied {
		t.Fatalf("ApplyPending: %v, %v", applied, err)
	}
	if got := extensionsIn(t, filepath.Join(dir, "hushbox.db")); !slices.Equal(got, []string{"201", "202"}) {
		t.Fatalf("restored store holds %v, want 201 202", got)
	}
	fileIs(t, filepath.Join(dir, "identity.kek"), "new-kek")
	if names := dirNames(t, dir); !slices.Equal(names, []string{"hushbox.db", "identity.kek"}) {
		t.Fatalf("after apply the folder holds %v", names)
	}
	if Pending(dir) {
		t.Fatal("Pending: true after ApplyPending")
	}
}

func TestStageReplacesEarlierStaging(t *testing.T) {
	dir := liveDir(t)
	first := backupOf(t, newStore(t, 0), map[string][]byte{"identity.kek": []byte("first"), "other": []byte("x")})
	if err := Stage(bytes.NewReader(first), pass, dir); err != nil {
		t.Fatal(err)
	}
	db := newStore(t, 0)
	if err := db.AddExtension(store.Extension{Number: "303", Realm: "hushbox"}); err != nil {
		t.Fatal(err)
	}
	second := backupOf(t, db, map[string][]byte{"identity.kek": []byte("second")})
	if err := Stage(bytes.NewReader(second), pass, dir); err != nil {
		t.Fatal(err)
	}
	if _, err := ApplyPending(dir, filepath.Join(dir, "hushbox.db")); err != nil {
		t.Fatal(err)
	}
	if got := extensionsIn(t, filepath.Join(dir, "hushbox.db")); !slices.Equal(got, []string{"201", "202", "303"}) {
		t.Fatalf("restored store holds %v, want the second backup's", got)
	}
	fileIs(t, filepath.Join(dir, "identity.kek"), "second")
	if _, err := os.Stat(filepath.Join(dir, "other")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a file of the replaced staging was installed: %v", err)
	}
}

func TestStageRefusesBadInputKeepsEarlierStaging(t *testing.T) {
	dir := liveDir(t)
	good := backupOf(t, newStore(t, 0), map[string][]byte{"identity.kek": []byte("staged")})
	if err := Stage(bytes.NewReader(good), pass, dir); err != nil {
		t.Fatal(err)
	}
	before := map[string][]byte{}
	for _, n := range dirNames(t, dir) {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		before[n] = b
	}
	other := backupOf(t, newStore(t, 1), map[string][]byte{"identity.kek": []byte("other")})
	tampered := bytes.Clone(other)
	tampered[len(tampered)-20] ^= 1
	cases := []struct {
		name       string
		data       []byte
		passphrase string
		want       error
	}{
		{"wrong passphrase", other, "not the right passphrase", ErrPassphrase},
		{"short passphrase", other, "short", ErrPassphrase},
		{"tampered", tampered, pass, ErrCorrupt},
		{"truncated", other[:len(other)-100], pass, ErrCorrupt},
		{"not a backup", []byte("hello, this is not a backup at all, not even close"), pass, ErrNotBackup},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Stage(bytes.NewReader(c.data), c.passphrase, dir)
			if !errors.Is(err, c.want) {
				t.Fatalf("Stage: %v, want %v", err, c.want)
			}
			names := dirNames(t, dir)
			if len(names) != len(before) {
				t.Fatalf("folder now holds %v", names)
			}
			for n, b := range before {
				fileIs(t, filepath.Join(dir, n), string(b))
			}
		})
	}
}

func TestStageBadInputStagesNothing(t *testing.T) {
	dir := liveDir(t)
	data := backupOf(t, newStore(t, 0), nil)
	if err := Stage(bytes.NewReader(data), "a wrong passphrase!", dir); !errors.Is(err, ErrPassphrase) {
		t.Fatalf("Stage: %v", err)
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"hushbox.db", "identity.kek"}) {
		t.Fatalf("folder holds %v", names)
	}
	if Pending(dir) {
		t.Fatal("Pending after a refused Stage")
	}
}

func TestApplyNothingStaged(t *testing.T) {
	dir := liveDir(t)
	orig, _ := os.ReadFile(filepath.Join(dir, "hushbox.db"))
	// A leftover of an interrupted staging (no commit mark) is dropped, not installed.
	if err := os.WriteFile(filepath.Join(dir, PendingPrefix+"identity.kek"), []byte("stray"), 0o600); err != nil {
		t.Fatal(err)
	}
	applied, err := ApplyPending(dir, "hushbox.db")
	if err != nil || applied {
		t.Fatalf("ApplyPending: %v, %v; want false, nil", applied, err)
	}
	fileIs(t, filepath.Join(dir, "hushbox.db"), string(orig))
	fileIs(t, filepath.Join(dir, "identity.kek"), "old-kek")
	if names := dirNames(t, dir); !slices.Equal(names, []string{"hushbox.db", "identity.kek"}) {
		t.Fatalf("folder holds %v", names)
	}
	// An empty or missing folder (first start) is fine too.
	for _, d := range []string{t.TempDir(), filepath.Join(t.TempDir(), "missing")} {
		if applied, err := ApplyPending(d, "hushbox.db"); err != nil || applied {
			t.Fatalf("ApplyPending on %s: %v, %v", d, applied, err)
		}
	}
}

func TestDiscardPending(t *testing.T) {
	dir := liveDir(t)
	data := backupOf(t, newStore(t, 0), map[string][]byte{"identity.kek": []byte("new")})
	if err := Stage(bytes.NewReader(data), pass, dir); err != nil {
		t.Fatal(err)
	}
	if err := DiscardPending(dir); err != nil {
		t.Fatal(err)
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"hushbox.db", "identity.kek"}) {
		t.Fatalf("folder holds %v", names)
	}
	if applied, err := ApplyPending(dir, "hushbox.db"); err != nil || applied {
		t.Fatalf("ApplyPending after discard: %v, %v", applied, err)
	}
	if err := DiscardPending(dir); err != nil {
		t.Fatalf("DiscardPending with nothing staged: %v", err)
	}
}

// TestApplyCrash stops ApplyPending after each step, as a crash would,
// and checks the store is the old or the new one, whole, and that the
// next ApplyPending (the next start) completes the restore.
func TestApplyCrash(t *testing.T) {
	errCrash := errors.New("crash")
	for _, c := range []struct {
		step    string
		wantDB  []string
		wantKEK string
	}{
		{"files", []string{"999"}, "new-kek"},
		{"db", []string{"201", "202"}, "new-kek"},
	} {
		t.Run(c.step, func(t *testing.T) {
			dir := liveDir(t)
			data := backupOf(t, newStore(t, 0), map[string][]byte{"identity.kek": []byte("new-kek")})
			if err := Stage(bytes.NewReader(data), pass, dir); err != nil {
				t.Fatal(err)
			}
			applyStep = func(s string) error {
				if s == c.step {
					return errCrash
				}
				return nil
			}
			_, err := ApplyPending(dir, "hushbox.db")
			applyStep = nil
			if !errors.Is(err, errCrash) {
				t.Fatalf("ApplyPending: %v, want the simulated crash", err)
			}
			if got := extensionsIn(t, filepath.Join(dir, "hushbox.db")); !slices.Equal(got, c.wantDB) {
				t.Fatalf("after a crash at %s the store holds %v, want %v", c.step, got, c.wantDB)
			}
			fileIs(t, filepath.Join(dir, "identity.kek"), c.wantKEK)
			// Next start.
			if _, err := ApplyPending(dir, "hushbox.db"); err != nil {
				t.Fatalf("ApplyPending after the crash: %v", err)
			}
			if got := extensionsIn(t, filepath.Join(dir, "hushbox.db")); !slices.Equal(got, []string{"201", "202"}) {
				t.Fatalf("after restart the store holds %v", got)
			}
			fileIs(t, filepath.Join(dir, "identity.kek"), "new-kek")
			if names := dirNames(t, dir); !slices.Equal(names, []string{"hushbox.db", "identity.kek"}) {
				t.Fatalf("after restart the folder holds %v", names)
			}
		})
	}
}
