package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The update commands as a release manager and the box's /init use them:
// make a key, sign an initramfs, verify, install into a boot folder, mark
// the test boot good, wait for it.
func TestUpdateCommands(t *testing.T) {
	dir := t.TempDir()
	key, pub := filepath.Join(dir, "keys", "release-key"), filepath.Join(dir, "release.pub")
	if out, err := runCLI(t, "update", "keygen", "--out", key, "--pub", pub); err != nil {
		t.Fatal(err, out)
	}
	if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key mode: %v %v", fi, err)
	}
	initrd := filepath.Join(dir, "initrd.img")
	os.WriteFile(initrd, []byte("new firmware"), 0o644)
	bundle := filepath.Join(dir, "fw.hbup")
	if out, err := runCLI(t, "update", "sign", "--key", key, "--version", "v2", "--board", "rpi2,cubietruck", "--out", bundle, initrd); err != nil {
		t.Fatal(err, out)
	}
	if out, err := runCLI(t, "update", "verify", "--update-key", pub, "--board", "cubietruck", bundle); err != nil || !strings.Contains(out, "good bundle of hushbox v2") {
		t.Fatalf("verify: %v %s", err, out)
	}
	if out, err := runCLI(t, "update", "verify", "--update-key", pub, "--board", "cubieboard2", bundle); err == nil || !strings.Contains(err.Error(), "another board") {
		t.Fatalf("verify for another board: %v %s", err, out)
	}

	boot := filepath.Join(dir, "boot")
	os.Mkdir(boot, 0o755)
	for n, b := range map[string]string{"initrd-a.img": "v1", "initrd-b.img": "v1", "hushbox.env": "slot=a\ntry=\ntries=0\nhb_board=rpi2\n"} {
		os.WriteFile(filepath.Join(boot, n), []byte(b), 0o644)
	}
	cmdline := filepath.Join(dir, "cmdline")
	os.WriteFile(cmdline, []byte("hushbox.slot=a\n"), 0o644)
	common := []string{"--boot-dir", boot, "--cmdline", cmdline}
	if out, err := runCLI(t, append([]string{"update", "install", "--update-key", pub, bundle}, common...)...); err != nil || !strings.Contains(out, "into slot b") {
		t.Fatalf("install: %v %s", err, out)
	}
	if b, _ := os.ReadFile(filepath.Join(boot, "initrd-b.img")); string(b) != "new firmware" {
		t.Fatalf("slot b holds %q", b)
	}
	// Reboot into the test boot of b.
	os.WriteFile(cmdline, []byte("hushbox.slot=b\n"), 0o644)
	if out, err := runCLI(t, append([]string{"update", "await-healthy", "--timeout", "10ms"}, common...)...); err == nil {
		t.Fatalf("await-healthy succeeded before mark-good: %s", out)
	}
	if out, err := runCLI(t, append([]string{"update", "mark-good"}, common...)...); err != nil || !strings.Contains(out, "slot b is now the known-good slot") {
		t.Fatalf("mark-good: %v %s", err, out)
	}
	if out, err := runCLI(t, append([]string{"update", "await-healthy", "--timeout", "10s"}, common...)...); err != nil {
		t.Fatalf("await-healthy after mark-good: %v %s", err, out)
	}
	if out, err := runCLI(t, append([]string{"update", "status"}, common...)...); err != nil || !strings.Contains(out, "good b\n") || !strings.Contains(out, "version_b v2\n") {
		t.Fatalf("status: %v %s", err, out)
	}
	if _, err := runCLI(t, "update", "frobnicate"); err == nil {
		t.Fatal("unknown subcommand accepted")
	}
}
