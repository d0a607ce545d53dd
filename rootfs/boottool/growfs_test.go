package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestParseExt4Super reads the size of file systems made by the host's mke2fs.
func TestParseExt4Super(t *testing.T) {
	if _, err := exec.LookPath("mke2fs"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("mke2fs missing (e2fsprogs)")
		}
		t.Skip("mke2fs missing")
	}
	cases := []struct {
		opts      []string
		size      string
		blocks    uint64
		blockSize uint64
	}{
		{[]string{"-b", "4096"}, "64M", 16384, 4096},
		{[]string{"-b", "1024"}, "8M", 8192, 1024},
		{[]string{"-b", "4096", "-O", "64bit"}, "32M", 8192, 4096},
	}
	for _, tc := range cases {
		img := filepath.Join(t.TempDir(), "fs.ext4")
		args := append([]string{"-q", "-F", "-t", "ext4"}, tc.opts...)
		if out, err := exec.Command("mke2fs", append(args, img, tc.size)...).CombinedOutput(); err != nil {
			t.Fatalf("mke2fs: %v %s", err, out)
		}
		blocks, bs, err := ext4Blocks(img)
		if err != nil || blocks != tc.blocks || bs != tc.blockSize {
			t.Errorf("%v %s: %d blocks of %d (%v), want %d of %d", tc.opts, tc.size, blocks, bs, err, tc.blocks, tc.blockSize)
		}
	}
	if _, _, err := parseExt4Super(make([]byte, 1024)); err == nil {
		t.Error("zero superblock accepted")
	}
}

func TestPartName(t *testing.T) {
	for disk, want := range map[string]string{"mmcblk0": "mmcblk0p2", "vda": "vda2", "sda": "sda2", "nvme0n1": "nvme0n1p2"} {
		if got := partName(disk, 2); got != want {
			t.Errorf("partName(%s) = %s, want %s", disk, got, want)
		}
	}
}
