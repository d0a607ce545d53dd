package backup

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"hushbox/pbx/store"
)

const pass = "correct horse battery staple"

// prodKDF keeps the production costs; tests run with cheap ones so the
// hundreds of restores in the tamper tests stay fast.
var prodKDF = defaultKDF

func TestMain(m *testing.M) {
	defaultKDF = kdfParams{Time: 1, Memory: 64, Threads: 1}
	os.Exit(m.Run())
}

// newStore opens a store in a temporary folder holding two extensions, a
// setting and cdrs CDRs.
func newStore(t testing.TB, cdrs int) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "hushbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	for _, e := range []store.Extension{{Number: "201", Name: "Reception", Realm: "hushbox"}, {Number: "202", Name: "Lab", Realm: "hushbox"}} {
		if err := db.AddExtension(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.SetSetting("realm", "hushbox"); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := 0; i < cdrs; i++ {
		c := store.CDR{
			CallID: fmt.Sprintf("call-%d@hushbox.test-with-some-padding-to-make-records-longer", i),
			From:   "201", To: "202", FromName: "Reception",
			Start: start.Add(time.Duration(i) * time.Minute), End: start.Add(time.Duration(i)*time.Minute + 30*time.Second),
			Disposition: store.DispAnswered, SIPCode: 200, Codec: "PCMU",
		}
		if err := db.AppendCDR(&c); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// backupOf writes a backup of db.
func backupOf(t testing.TB, db *store.DB, extra map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteWithFiles(&buf, db, pass, extra); err != nil {
		t.Fatalf("WriteWithFiles: %v", err)
	}
	return buf.Bytes()
}

// existingDst makes a different, valid store at dst and returns its path
// and bytes: restores that fail must leave exactly these bytes.
func existingDst(t *testing.T) (string, []byte) {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "hushbox.db")
	db, err := store.Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.AddExtension(store.Extension{Number: "999", Realm: "old"}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	orig, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	return dst, orig
}

// assertUntouched checks dst still holds orig and no temporary file is
// left in its folder.
func assertUntouched(t *testing.T, dst string, orig []byte, what string) {
	t.Helper()
	now, err := os.ReadFile(dst)
	if err != nil {
		t.Fatalf("%s: read dst: %v", what, err)
	}
	if !bytes.Equal(now, orig) {
		t.Fatalf("%s: dst changed", what)
	}
	ents, _ := os.ReadDir(filepath.Dir(dst))
	if len(ents) != 1 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Fatalf("%s: folder holds %v, want only the store", what, names)
	}
}

// restoreFails restores data over dst expecting an error wrapping one of
// want, and dst untouched.
func restoreFails(t *testing.T, data []byte, passphrase, dst string, orig []byte, what string, want ...error) error {
	t.Helper()
	err := Restore(bytes.NewReader(data), passphrase, dst)
	if err == nil {
		t.Fatalf("%s: Restore succeeded", what)
	}
	ok := len(want) == 0
	for _, w := range want {
		ok = ok || errors.Is(err, w)
	}
	if !ok {
		t.Fatalf("%s: error %v, want one of %v", what, err, want)
	}
	assertUntouched(t, dst, orig, what)
	return err
}

func TestRoundTrip(t *testing.T) {
	db := newStore(t, 400)
	data := backupOf(t, db, nil)
	if len(data) < HeaderSize+2*sealedChunk {
		t.Fatalf("backup is %d bytes; the test wants at least three chunks", len(data))
	}
	if !bytes.HasPrefix(data, []byte(Magic)) {
		t.Error("backup does not start with the magic")
	}
	// The snapshot is not readable in the clear.
	if bytes.Contains(data, []byte("Reception")) || bytes.Contains(data, []byte("call-1@")) {
		t.Error("backup holds store content in the clear")
	}
	dst, _ := existingDst(t)
	files, err := RestoreFiles(bytes.NewReader(data), pass, dst)
	if err != nil {
		t.Fatalf("RestoreFiles: %v", err)
	}
	if len(files) != 0 {
		t.Errorf("files = %v, want none", files)
	}
	got, err := store.Open(dst)
	if err != nil {
		t.Fatalf("open restored store: %v", err)
	}
	defer got.Close()
	exts, err := got.Extensions()
	if err != nil || len(exts) != 2 || exts[0].Number != "201" || exts[1].Name != "Lab" {
		t.Errorf("restored extensions = %+v, %v", exts, err)
	}
	if _, err := got.Extension("999"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("extension of the replaced store still there: %v", err)
	}
	cdrs, err := got.CDRs(store.CDRQuery{})
	if err != nil || len(cdrs) != 400 || cdrs[0].CallID != "call-399@hushbox.test-with-some-padding-to-make-records-longer" {
		t.Errorf("restored %d CDRs, %v", len(cdrs), err)
	}
	if v, ok, _ := got.Setting("realm"); !ok || v != "hushbox" {
		t.Errorf("restored setting realm = %q, %v", v, ok)
	}
	fi, _ := os.Stat(dst)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("restored store mode %o, want 600", fi.Mode().Perm())
	}
}

// TestRoundTripRealKDF runs once with the production argon2id costs.
func TestRoundTripRealKDF(t *testing.T) {
	defaultKDF = prodKDF
	defer func() { defaultKDF = kdfParams{Time: 1, Memory: 64, Threads: 1} }()
	db := newStore(t, 1)
	data := backupOf(t, db, nil)
	h, _, err := readHeader(bytes.NewReader(data))
	if err != nil || h.kdf != prodKDF {
		t.Fatalf("header kdf = %+v, %v; want %+v", h, err, prodKDF)
	}
	dst := filepath.Join(t.TempDir(), "new.db")
	if err := Restore(bytes.NewReader(data), pass, dst); err != nil {
		t.Fatalf("Restore into a new file: %v", err)
	}
	if err := store.ValidateSnapshot(dst); err != nil {
		t.Fatal(err)
	}
}

func TestRoundTripWithFiles(t *testing.T) {
	db := newStore(t, 0)
	kek := make([]byte, 32)
	_, _ = rand.Read(kek)
	extra := map[string][]byte{"identity.kek": kek, "empty": {}}
	data := backupOf(t, db, extra)
	if bytes.Contains(data, kek) {
		t.Fatal("kek in the clear")
	}
	dst := filepath.Join(t.TempDir(), "hushbox.db")
	files, err := RestoreFiles(bytes.NewReader(data), pass, dst)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || !bytes.Equal(files["identity.kek"], kek) || files["empty"] == nil || len(files["empty"]) != 0 {
		t.Fatalf("files = %v", files)
	}
	dir := t.TempDir()
	if err := InstallFiles(dir, files); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "identity.kek"))
	if err != nil || !bytes.Equal(got, kek) {
		t.Fatalf("installed kek = %x, %v", got, err)
	}
	fi, _ := os.Stat(filepath.Join(dir, "identity.kek"))
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("installed mode %o", fi.Mode().Perm())
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Errorf("folder holds %d entries, want 2", len(ents))
	}
}

func TestWriteRefusesBadExtraFiles(t *testing.T) {
	db := newStore(t, 0)
	many := map[string][]byte{}
	for i := 0; i <= MaxExtraFiles; i++ {
		many[fmt.Sprintf("f%d", i)] = nil
	}
	for name, extra := range map[string]map[string][]byte{
		"path":      {"../identity.kek": {1}},
		"slash":     {"a/b": {1}},
		"hidden":    {".kek": {1}},
		"empty":     {"": {1}},
		"space":     {"a b": {1}},
		"long name": {strings.Repeat("a", MaxExtraNameLen+1): {1}},
		"too big":   {"big": make([]byte, MaxExtraFileSize+1)},
		"too many":  many,
	} {
		var buf bytes.Buffer
		if err := WriteWithFiles(&buf, db, pass, extra); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if buf.Len() != 0 {
			t.Errorf("%s: %d bytes written before the refusal", name, buf.Len())
		}
	}
	if err := InstallFiles(t.TempDir(), map[string][]byte{"../x": {1}}); err == nil {
		t.Error("InstallFiles accepted a path")
	}
}

func TestWeakPassphraseRefused(t *testing.T) {
	db := newStore(t, 0)
	for _, p := range []string{"", "short", "elevenchars", "ééééééééééé", "twelve\xffchars"} {
		var buf bytes.Buffer
		err := Write(&buf, db, p)
		if !errors.Is(err, ErrWeakPassphrase) {
			t.Errorf("Write(%q) = %v, want ErrWeakPassphrase", p, err)
		}
		if buf.Len() != 0 {
			t.Errorf("Write(%q) wrote %d bytes", p, buf.Len())
		}
	}
	for _, p := range []string{"twelve chars", "éééééééééééé"} {
		if err := Write(io.Discard, db, p); err != nil {
			t.Errorf("Write(%q) = %v, want success", p, err)
		}
	}
}

func TestWrongPassphrase(t *testing.T) {
	data := backupOf(t, newStore(t, 10), nil)
	dst, orig := existingDst(t)
	for _, p := range []string{"correct horse battery stapler", "Correct horse battery staple", "short"} {
		restoreFails(t, data, p, dst, orig, "passphrase "+p, ErrPassphrase)
	}
}

// TestFlippedBytes flips each byte of the header, of the start and end of
// the first chunk, across the first chunk boundary and at the end.
func TestFlippedBytes(t *testing.T) {
	data := backupOf(t, newStore(t, 400), nil)
	dst, orig := existingDst(t)
	var offsets []int
	add := func(from, to int) {
		for i := max(from, 0); i < min(to, len(data)); i++ {
			offsets = append(offsets, i)
		}
	}
	add(0, HeaderSize+200)
	add(HeaderSize+sealedChunk-100, HeaderSize+sealedChunk+100)
	add(len(data)-100, len(data))
	for _, off := range offsets {
		bad := bytes.Clone(data)
		bad[off] ^= 0x5a
		restoreFails(t, bad, pass, dst, orig, fmt.Sprintf("byte %d flipped", off),
			ErrNotBackup, ErrVersion, ErrPassphrase, ErrCorrupt)
	}
	// A flipped chunk byte is reported as damage, not as a wrong passphrase.
	bad := bytes.Clone(data)
	bad[HeaderSize+5] ^= 1
	if err := restoreFails(t, bad, pass, dst, orig, "chunk byte"); !errors.Is(err, ErrCorrupt) {
		t.Errorf("chunk damage reported as %v", err)
	}
}

func TestTruncated(t *testing.T) {
	data := backupOf(t, newStore(t, 400), nil)
	dst, orig := existingDst(t)
	for _, n := range []int{0, 1, len(Magic) - 1, len(Magic), len(Magic) + 1, HeaderSize - 1, HeaderSize,
		HeaderSize + 1, HeaderSize + tagSize, HeaderSize + sealedChunk - 1, HeaderSize + sealedChunk,
		HeaderSize + sealedChunk + 1, HeaderSize + 2*sealedChunk, len(data) - tagSize, len(data) - 1} {
		if n >= len(data) {
			t.Fatalf("cut %d beyond the backup (%d bytes)", n, len(data))
		}
		restoreFails(t, data[:n], pass, dst, orig, fmt.Sprintf("cut at %d", n), ErrNotBackup, ErrCorrupt)
	}
	restoreFails(t, append(bytes.Clone(data), 0), pass, dst, orig, "one byte appended", ErrCorrupt)
	restoreFails(t, append(bytes.Clone(data), data[HeaderSize:HeaderSize+sealedChunk]...), pass, dst, orig, "chunk appended", ErrCorrupt)
}

func TestChunksReordered(t *testing.T) {
	data := backupOf(t, newStore(t, 400), nil)
	other := backupOf(t, newStore(t, 400), nil)
	dst, orig := existingDst(t)
	head, body := data[:HeaderSize], data[HeaderSize:]
	chunk := func(b []byte, i int) []byte { return b[i*sealedChunk : min((i+1)*sealedChunk, len(b))] }
	nChunks := (len(body) + sealedChunk - 1) / sealedChunk
	if nChunks < 3 {
		t.Fatalf("%d chunks, want at least 3", nChunks)
	}
	join := func(parts ...[]byte) []byte { return bytes.Join(append([][]byte{head}, parts...), nil) }
	rest := body[2*sealedChunk:]
	cases := map[string][]byte{
		"first two swapped":   join(chunk(body, 1), chunk(body, 0), rest),
		"second dropped":      join(chunk(body, 0), rest),
		"first repeated":      join(chunk(body, 0), chunk(body, 0), chunk(body, 1), rest),
		"last dropped":        data[:HeaderSize+(nChunks-1)*sealedChunk],
		"chunk of another":    join(chunk(body, 0), chunk(other[HeaderSize:], 1), rest),
		"header of another":   append(bytes.Clone(other[:HeaderSize]), body...),
		"last moved to front": join(body[(nChunks-1)*sealedChunk:], body[:(nChunks-1)*sealedChunk]),
	}
	for name, bad := range cases {
		restoreFails(t, bad, pass, dst, orig, name, ErrCorrupt)
	}
}

// encryptPayload makes a correctly encrypted backup whose snapshot is
// snapshot (tests of the store check after decryption).
func encryptPayload(t *testing.T, snapshot []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	err := write(&buf, func(w io.Writer) error { _, err := w.Write(snapshot); return err }, pass, defaultKDF, nil)
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestInvalidStoreRefused(t *testing.T) {
	dst, orig := existingDst(t)
	// A bbolt file that is not a hushbox store.
	rawPath := filepath.Join(t.TempDir(), "raw.db")
	bdb, err := bolt.Open(rawPath, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := bdb.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("other")); return err }); err != nil {
		t.Fatal(err)
	}
	_ = bdb.Close()
	raw, _ := os.ReadFile(rawPath)
	// A hushbox store from a newer program.
	newer := filepath.Join(t.TempDir(), "newer.db")
	bdb, err = bolt.Open(newer, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := bdb.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("meta"))
		if err != nil {
			return err
		}
		return b.Put([]byte("schema"), binary.BigEndian.AppendUint64(nil, store.SchemaVersion+1))
	}); err != nil {
		t.Fatal(err)
	}
	_ = bdb.Close()
	newerData, _ := os.ReadFile(newer)
	for name, snap := range map[string][]byte{
		"no store":     nil,
		"text":         []byte("this is not a database at all"),
		"other bbolt":  raw,
		"newer schema": newerData,
	} {
		err := restoreFails(t, encryptPayload(t, snap), pass, dst, orig, name, ErrInvalidStore)
		if name == "newer schema" && !errors.Is(err, store.ErrSchemaTooNew) {
			t.Errorf("newer schema: %v does not wrap store.ErrSchemaTooNew", err)
		}
	}
}

func TestNotABackup(t *testing.T) {
	dst, orig := existingDst(t)
	restoreFails(t, orig, pass, dst, orig, "a bare store", ErrNotBackup)
	restoreFails(t, []byte("HUSHBOX"), pass, dst, orig, "magic prefix only", ErrCorrupt)
	data := backupOf(t, newStore(t, 0), nil)
	v2 := bytes.Clone(data)
	v2[len(Magic)] = 2
	restoreFails(t, v2, pass, dst, orig, "version 2", ErrVersion)
}

// TestKDFLimits: a header asking for more than the reader allows is
// refused before argon2 runs.
func TestKDFLimits(t *testing.T) {
	data := backupOf(t, newStore(t, 0), nil)
	dst, orig := existingDst(t)
	set := func(off int, v uint32) []byte {
		b := bytes.Clone(data)
		binary.BigEndian.PutUint32(b[off:], v)
		return b
	}
	timeOff, memOff := len(Magic)+2, len(Magic)+6
	for name, bad := range map[string][]byte{
		"memory 4 GiB": set(memOff, 4<<20),
		"memory 0":     set(memOff, 0),
		"time 1e9":     set(timeOff, 1e9),
		"time 0":       set(timeOff, 0),
	} {
		err := restoreFails(t, bad, pass, dst, orig, name, ErrCorrupt)
		if !strings.Contains(err.Error(), "argon2id") {
			t.Errorf("%s: error %q does not name the parameter", name, err)
		}
	}
}

func TestRestoreIntoMissingFolder(t *testing.T) {
	data := backupOf(t, newStore(t, 0), nil)
	dst := filepath.Join(t.TempDir(), "nope", "hushbox.db")
	if err := Restore(bytes.NewReader(data), pass, dst); err == nil {
		t.Fatal("restore into a missing folder succeeded")
	}
}
