package backup

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"testing"

	"hushbox/pbx/store"
)

// store10MB makes a store of about 10 MB (settings of 60 KiB each, plus
// extensions and CDRs from newStore).
func store10MB(b *testing.B) *store.DB {
	b.Helper()
	db := newStore(b, 100)
	val := bytes.Repeat([]byte("0123456789abcdef"), 60<<10/16)
	for i := 0; i < 170; i++ {
		if err := db.SetSetting(fmt.Sprintf("bench-%03d", i), string(val)); err != nil {
			b.Fatal(err)
		}
	}
	n, err := db.ExportSize()
	if err != nil || n < 10<<20 {
		b.Fatalf("store is %d bytes, %v", n, err)
	}
	return db
}

// BenchmarkWrite10MB writes a backup of a 10 MB store with the production
// argon2id costs (one derivation per backup is part of the price).
func BenchmarkWrite10MB(b *testing.B) {
	db := store10MB(b)
	defaultKDF = prodKDF
	defer func() { defaultKDF = kdfParams{Time: 1, Memory: 64, Threads: 1} }()
	size, _ := db.ExportSize()
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := Write(io.Discard, db, pass); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRestore10MB restores that backup (decrypt, write, fsync,
// validate, rename) with the production argon2id costs.
func BenchmarkRestore10MB(b *testing.B) {
	db := store10MB(b)
	defaultKDF = prodKDF
	defer func() { defaultKDF = kdfParams{Time: 1, Memory: 64, Threads: 1} }()
	var buf bytes.Buffer
	if err := Write(&buf, db, pass); err != nil {
		b.Fatal(err)
	}
	size, _ := db.ExportSize()
	dst := filepath.Join(b.TempDir(), "hushbox.db")
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := Restore(bytes.NewReader(buf.Bytes()), pass, dst); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStream10MB is Write without the key derivation cost: the
// chunked AES-GCM stream alone.
func BenchmarkStream10MB(b *testing.B) {
	db := store10MB(b)
	size, _ := db.ExportSize()
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := Write(io.Discard, db, pass); err != nil {
			b.Fatal(err)
		}
	}
}
