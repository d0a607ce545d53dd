package backup

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzRestore feeds arbitrary bytes to the reader: it must return an
// error (or restore a valid store), never panic, and never leave dst
// behind after an error.
func FuzzRestore(f *testing.F) {
	// Cheap limits: a fuzzed header must not make each run take seconds.
	saved := kdfLimits
	kdfLimits = kdfParams{Time: 2, Memory: 128, Threads: 2}
	f.Cleanup(func() { kdfLimits = saved })

	db := newStore(f, 3)
	valid := backupOf(f, db, map[string][]byte{"identity.kek": []byte("0123456789abcdef0123456789abcdef")})
	f.Add(valid)
	f.Add(valid[:HeaderSize])
	f.Add(valid[:HeaderSize+100])
	f.Add([]byte(Magic))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		dst := filepath.Join(t.TempDir(), "hushbox.db")
		files, err := RestoreFiles(bytes.NewReader(data), pass, dst)
		if err != nil {
			if files != nil {
				t.Fatal("files returned with an error")
			}
			if _, serr := os.Stat(dst); !errors.Is(serr, os.ErrNotExist) {
				t.Fatalf("dst exists after error %v", err)
			}
			ents, _ := os.ReadDir(filepath.Dir(dst))
			if len(ents) != 0 {
				t.Fatalf("temporary files left: %d", len(ents))
			}
		}
	})
}

// FuzzReadExtra fuzzes the decrypted payload's file list, which only an
// attacker knowing the passphrase controls: limits hold and what it
// accepts re-encodes to the same bytes.
func FuzzReadExtra(f *testing.F) {
	var seed bytes.Buffer
	_ = writeExtra(&seed, map[string][]byte{"identity.kek": []byte("key"), "b": nil})
	f.Add(seed.Bytes())
	f.Add([]byte{0, 0})
	f.Add([]byte{0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		files, err := readExtra(r)
		if err != nil {
			return
		}
		if len(files) > MaxExtraFiles {
			t.Fatalf("%d files accepted", len(files))
		}
		for name, b := range files {
			if ValidFileName(name) != nil || len(b) > MaxExtraFileSize {
				t.Fatalf("accepted file %q of %d bytes", name, len(b))
			}
		}
		used := len(data) - r.Len()
		var again bytes.Buffer
		if err := writeExtra(&again, files); err != nil {
			t.Fatal(err)
		}
		// Same set of files; writeExtra sorts names, the input may not.
		back, err := readExtra(bytes.NewReader(again.Bytes()))
		if err != nil || len(back) != len(files) || again.Len() != used {
			t.Fatalf("re-encoding differs: %v, %d files vs %d, %d bytes vs %d", err, len(back), len(files), again.Len(), used)
		}
		for name, b := range files {
			if !bytes.Equal(back[name], b) {
				t.Fatalf("file %q changed on re-encoding", name)
			}
		}
	})
}
