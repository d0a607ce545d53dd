// Package flashtest tests scripts/flash.sh against plain files standing in
// for SD cards and a fake /sys tree and mount table (HUSHBOX_SYSFS,
// HUSHBOX_MOUNTS): no host block device is ever opened.
package flashtest

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const script = "../flash.sh"

// card is a fake SD card: a file named like a disk (dev/sdz) with its
// /sys/block entry, and a mount table.
type card struct {
	dev, sysfs, mounts string
}

func newCard(t *testing.T, name string, size int64, removable string, mounts string) card {
	t.Helper()
	root := t.TempDir()
	c := card{dev: filepath.Join(root, "dev", name), sysfs: filepath.Join(root, "sys"), mounts: filepath.Join(root, "mounts")}
	blk := filepath.Join(c.sysfs, "block", name)
	for _, d := range []string{filepath.Dir(c.dev), blk} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The card's file holds only its first MiB (0xff, as erased flash);
	// the sysfs size says how big the card claims to be.
	write(c.dev, string(bytes.Repeat([]byte{0xff}, 1<<20)))
	write(filepath.Join(blk, "size"), strconv.FormatInt(size/512, 10)+"\n")
	write(filepath.Join(blk, "removable"), removable+"\n")
	write(c.mounts, "sysfs /sys sysfs rw 0 0\n/dev/nvme0n1p2 / ext4 rw 0 0\n"+mounts)
	return c
}

// image writes a 256 KiB image (plain or zstd) and, unless sum is "none",
// its .sha256 ("" means the right one).
func image(t *testing.T, compress bool, sum string) (path string, raw []byte) {
	t.Helper()
	raw = make([]byte, 256<<10)
	rand.Read(raw)
	dir := t.TempDir()
	path = filepath.Join(dir, "hushbox-rpi2-v1.img")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if compress {
		if out, err := exec.Command("zstd", "-q", "--rm", path).CombinedOutput(); err != nil {
			t.Fatalf("zstd: %v %s", err, out)
		}
		path += ".zst"
	}
	if sum != "none" {
		if sum == "" {
			b, _ := os.ReadFile(path)
			h := sha256.Sum256(b)
			sum = hex.EncodeToString(h[:])
		}
		os.WriteFile(path+".sha256", []byte(sum+"  "+filepath.Base(path)+"\n"), 0o644)
	}
	return path, raw
}

func needTools(t *testing.T) {
	for _, tool := range []string{"bash", "zstd", "dd", "sha256sum", "cmp"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s missing (CI=true)", tool)
			}
			t.Skipf("%s missing", tool)
		}
	}
}

func TestFlash(t *testing.T) {
	needTools(t)
	const GiB = int64(1) << 30
	wrongSum := strings.Repeat("ab", 32)
	tests := []struct {
		name      string
		devName   string
		size      int64
		removable string
		mounts    string
		compress  bool
		sum       string
		force     bool
		wantErr   string // "" means the card must hold the image
	}{
		{"zstd image on a removable card", "sdz", 16 * GiB, "1", "", true, "", false, ""},
		{"plain image", "sdz", 16 * GiB, "1", "", false, "", false, ""},
		{"SD slot reporting not removable", "mmcblk0", 16 * GiB, "0", "", true, "", false, ""},
		{"checksum missing", "sdz", 16 * GiB, "1", "", true, "none", false, ".sha256 missing"},
		{"checksum wrong", "sdz", 16 * GiB, "1", "", true, wrongSum, false, "does not match"},
		{"partition mounted", "sdz", 16 * GiB, "1", "/dev/sdz1 /media/boot vfat rw 0 0\n", true, "", false, "is mounted"},
		{"mounted even with --force", "mmcblk0", 16 * GiB, "1", "/dev/mmcblk0p2 /media/data ext4 rw 0 0\n", true, "", true, "is mounted"},
		{"another disk mounted", "sdz", 16 * GiB, "1", "/dev/sdz9x /media/x vfat rw 0 0\n/dev/sdzz1 /media/y vfat rw 0 0\n", true, "", false, ""},
		{"not removable", "sdz", 16 * GiB, "0", "", true, "", false, "not a removable device"},
		{"not removable, forced", "sdz", 16 * GiB, "0", "", true, "", true, ""},
		{"larger than 64 GiB", "sdz", 128 * GiB, "1", "", true, "", false, "larger than a sane SD card"},
		{"larger than 64 GiB, forced", "sdz", 128 * GiB, "1", "", true, "", true, ""},
		{"no medium", "sdz", 0, "1", "", true, "", false, "no medium"},
		{"image does not fit", "sdz", 128 << 10, "1", "", true, "", false, "does not fit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCard(t, tt.devName, tt.size, tt.removable, tt.mounts)
			img, raw := image(t, tt.compress, tt.sum)
			before, _ := os.ReadFile(c.dev)
			args := []string{script, img, c.dev}
			if tt.force {
				args = append(args, "--force")
			}
			cmd := exec.Command("bash", args...)
			cmd.Env = append(os.Environ(), "HUSHBOX_SYSFS="+c.sysfs, "HUSHBOX_MOUNTS="+c.mounts, "PATH=/usr/bin:/bin:/usr/sbin:/sbin")
			out, err := cmd.CombinedOutput()
			after, _ := os.ReadFile(c.dev)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(string(out), tt.wantErr) {
					t.Fatalf("want a refusal saying %q, got err %v:\n%s", tt.wantErr, err, out)
				}
				if !bytes.Equal(after, before) {
					t.Fatal("the card was written although flash refused")
				}
				return
			}
			if err != nil {
				t.Fatalf("flash failed: %v\n%s", err, out)
			}
			if len(after) < len(raw) || !bytes.Equal(after[:len(raw)], raw) {
				t.Fatal("the card does not start with the image")
			}
			if !bytes.Equal(after[len(raw):], before[len(raw):]) {
				t.Fatal("bytes beyond the image changed (the card file was truncated or overwritten)")
			}
		})
	}
}

// A partition (sdz1) and a name the kernel does not know are refused.
func TestFlashRefusesNonDisks(t *testing.T) {
	needTools(t)
	c := newCard(t, "sdz", 1<<34, "1", "")
	img, _ := image(t, true, "")
	part := filepath.Join(filepath.Dir(c.dev), "sdz1")
	os.WriteFile(part, nil, 0o644)
	os.MkdirAll(filepath.Join(c.sysfs, "class", "block", "sdz1"), 0o755)
	os.WriteFile(filepath.Join(c.sysfs, "class", "block", "sdz1", "partition"), []byte("1\n"), 0o644)
	unknown := filepath.Join(filepath.Dir(c.dev), "card.img")
	os.WriteFile(unknown, nil, 0o644)
	for dev, want := range map[string]string{part: "is a partition", unknown: "not a disk the kernel knows",
		filepath.Join(filepath.Dir(c.dev), "sdy"): "no such device"} {
		cmd := exec.Command("bash", script, img, dev)
		cmd.Env = append(os.Environ(), "HUSHBOX_SYSFS="+c.sysfs, "HUSHBOX_MOUNTS="+c.mounts)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), want) {
			t.Errorf("%s: want %q, got %v\n%s", filepath.Base(dev), want, err, out)
		}
		if b, _ := os.ReadFile(dev); len(b) != 0 {
			t.Errorf("%s was written", filepath.Base(dev))
		}
	}
}
