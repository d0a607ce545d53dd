package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A backup restored into a fresh data folder brings the extensions and the
// identity back; a wrong passphrase or a damaged file replaces nothing.
func TestBackupRestore(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	if _, err := runCLI(t, "ext", "add", "101", "--name", "Alice", "--data", src); err != nil {
		t.Fatal(err)
	}
	id1, err := runCLI(t, "identity", "--data", src)
	if err != nil {
		t.Fatal(err)
	}
	pwFile := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pwFile, []byte("correct horse battery staple\n"), 0o600)
	file := filepath.Join(t.TempDir(), "box.hbk")
	if out, err := runCLI(t, "backup", "--out", file, "--passphrase-file", pwFile, "--data", src); err != nil || !strings.Contains(out, "verified") {
		t.Fatalf("backup: %v %s", err, out)
	}

	dst := filepath.Join(t.TempDir(), "dst")
	if out, err := runCLI(t, "restore", file, "--passphrase-file", pwFile, "--data", dst); err != nil {
		t.Fatalf("restore: %v %s", err, out)
	}
	list, err := runCLI(t, "ext", "list", "--data", dst)
	if err != nil || !strings.Contains(list, "Alice") {
		t.Fatalf("restored extensions: %v %s", err, list)
	}
	if id2, err := runCLI(t, "identity", "--data", dst); err != nil || id2 != id1 {
		t.Fatalf("identity after restore %q, want %q (%v)", id2, id1, err)
	}

	// Failures leave the target as it was.
	before, _ := os.ReadFile(filepath.Join(dst, "hushbox.db"))
	wrong := filepath.Join(t.TempDir(), "wrong")
	os.WriteFile(wrong, []byte("not the passphrase at all\n"), 0o600)
	if _, err := runCLI(t, "restore", file, "--passphrase-file", wrong, "--data", dst); err == nil {
		t.Fatal("wrong passphrase restored")
	}
	damaged := filepath.Join(t.TempDir(), "damaged.hbk")
	b, _ := os.ReadFile(file)
	b[len(b)/2] ^= 0x20
	os.WriteFile(damaged, b, 0o600)
	if _, err := runCLI(t, "restore", damaged, "--passphrase-file", pwFile, "--data", dst); err == nil {
		t.Fatal("damaged backup restored")
	}
	after, _ := os.ReadFile(filepath.Join(dst, "hushbox.db"))
	if !bytes.Equal(before, after) {
		t.Fatal("a refused restore changed the store")
	}
	short := filepath.Join(t.TempDir(), "short")
	os.WriteFile(short, []byte("short\n"), 0o600)
	if _, err := runCLI(t, "backup", "--out", file+"2", "--passphrase-file", short, "--data", src); err == nil {
		t.Fatal("weak passphrase accepted")
	}
}
