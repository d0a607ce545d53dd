package imagetest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// hostTools are the amd64 programs the image build and these tests run.
var hostTools = []string{"mkimage", "mkfs.vfat", "mcopy", "mdir", "mtype", "sfdisk", "mke2fs", "tune2fs", "cpio", "zstd", "depmod", "apt-get", "dpkg"}

// repoRoot is the repository root (two levels above this package).
func repoRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Clean(filepath.Join(wd, "..", ".."))
}

// needTools fails (CI=true) or skips the test when a host tool is missing.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	if testing.Short() {
		t.Skip("image build and qemu boots skipped in -short mode")
	}
	os.Setenv("PATH", os.Getenv("PATH")+":/usr/sbin:/sbin")
	var missing []string
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("host tools missing: %s (apt-get install qemu-system-arm mtools dosfstools u-boot-tools fdisk cpio zstd kmod e2fsprogs)", strings.Join(missing, " "))
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// built is one board's image as the tests use it.
type built struct {
	dir    string // cache folder
	img    string // the raw card image (hushbox.img)
	initrd string // the compressed initramfs (initrd.img)
	zst    string // out/hushbox-BOARD-VERSION.img.zst
}

var (
	buildMu  sync.Mutex
	armOnce  sync.Once
	armErr   error
	armBin   string
	imageFor = map[string]*built{}
)

// armBinary runs `make arm` once per test run and returns the binary's path.
func armBinary(t *testing.T, root string) string {
	t.Helper()
	armOnce.Do(func() {
		cmd := exec.Command("make", "-s", "arm")
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			armErr = fmt.Errorf("make arm: %v\n%s", err, out)
			return
		}
		armBin = filepath.Join(root, "bin", "hushbox-linux-armv7")
	})
	if armErr != nil {
		t.Fatal(armErr)
	}
	return armBin
}

// inputsKey hashes everything an image is built from: rootfs/ (but not this
// test package), the build scripts and the hushbox binary.
func inputsKey(t *testing.T, root, bin, board string) string {
	t.Helper()
	h := sha256.New()
	add := func(path string) {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		rel, _ := filepath.Rel(root, path)
		fmt.Fprintf(h, "%s\x00", rel)
		if _, err := io.Copy(h, f); err != nil {
			t.Fatal(err)
		}
	}
	err := filepath.WalkDir(filepath.Join(root, "rootfs"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "imagetest" {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			add(path)
		} else if d.Type()&fs.ModeSymlink != 0 {
			target, _ := os.Readlink(path)
			fmt.Fprintf(h, "%s->%s\x00", path, target)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	add(filepath.Join(root, "scripts", "image.sh"))
	add(filepath.Join(root, "scripts", "fetch-debs.sh"))
	add(bin)
	fmt.Fprintf(h, "board=%s", board)
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// buildImage builds (or takes from the cache) the image of board.
func buildImage(t *testing.T, board string) *built {
	t.Helper()
	needTools(t, "apt-get", "dpkg")
	buildMu.Lock()
	defer buildMu.Unlock()
	if b, ok := imageFor[board]; ok {
		return b
	}
	root := repoRoot(t)
	// fetch-debs.sh fetches the pinned packages and, as root, installs the
	// host tools that are missing (docs/image.md).
	fetch := exec.Command(filepath.Join(root, "scripts", "fetch-debs.sh"))
	fetch.Dir = root
	if out, err := fetch.CombinedOutput(); err != nil {
		t.Fatalf("scripts/fetch-debs.sh: %v\n%s", err, out)
	}
	needTools(t, hostTools...)
	bin := armBinary(t, root)
	key := inputsKey(t, root, bin, board)
	dir := filepath.Join(root, "build", "imagetest", board+"-"+key)
	b := &built{dir: dir, img: filepath.Join(dir, "hushbox.img"), initrd: filepath.Join(dir, "initrd.img"),
		zst: filepath.Join(dir, "hushbox-"+board+"-imagetest.img.zst")}
	if cached(b.zst+".sha256", b.img, b.initrd) {
		t.Logf("image %s from cache %s", board, dir)
		imageFor[board] = b
		return b
	}
	t.Logf("building the %s image (cache %s)", board, dir)
	// Older builds of this board (other inputs) are of no further use.
	if old, err := filepath.Glob(filepath.Join(root, "build", "imagetest", board+"-*")); err == nil {
		for _, o := range old {
			os.RemoveAll(o)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(root, "scripts", "image.sh"), board)
	cmd.Dir = root
	// zstd -9, not the release -19: the same files, built faster per test run.
	cmd.Env = append(os.Environ(), "VERSION=imagetest", "OUT="+dir, "HUSHBOX_BIN="+bin, "ZSTD_LEVEL=9")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/image.sh %s: %v\n%s", board, err, out)
	}
	t.Logf("%s", strings.TrimSpace(string(out)))
	work := filepath.Join(root, "build", "image", board)
	for _, f := range []string{"hushbox.img", "initrd.img"} {
		if err := os.Rename(filepath.Join(work, f), filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	imageFor[board] = b
	return b
}

// cached reports whether all files exist (a build that finished).
func cached(files ...string) bool {
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			return false
		}
	}
	return true
}
