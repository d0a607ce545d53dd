package update

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// The full-stack A/B test: the SD image from `make image` (a copy of it),
// booted by Debian's qemu_arm U-Boot under qemu-system-arm -M virt, its
// boot script choosing the slot, its kernel and initramfs starting the
// daemon, the daemon marking a healthy test boot good. It needs an image:
// HUSHBOX_IMAGE, else the newest out/hushbox-*.img.zst; without one it
// skips (run `make image BOARD=rpi2` first). Slow: each boot is a minute
// or two of emulated ARM.

// imageFile finds the image to test, or "".
func imageFile() string {
	if p := os.Getenv("HUSHBOX_IMAGE"); p != "" {
		return p
	}
	all, _ := filepath.Glob("../../out/hushbox-*.img.zst")
	var m []string
	for _, p := range all {
		// Only a finished image: make image writes the .sha256 last.
		img, err1 := os.Stat(p)
		sum, err2 := os.Stat(p + ".sha256")
		if err1 == nil && err2 == nil && !sum.ModTime().Before(img.ModTime()) {
			m = append(m, p)
		}
	}
	sort.Slice(m, func(i, j int) bool {
		a, _ := os.Stat(m[i])
		b, _ := os.Stat(m[j])
		return a.ModTime().After(b.ModTime())
	})
	if len(m) == 0 {
		return ""
	}
	return m[0]
}

// imageDisk is a private copy of the image with its boot partition.
type imageDisk struct {
	t      *testing.T
	path   string
	offset int64
	board  string
}

func newImageDisk(t *testing.T, img string) *imageDisk {
	t.Helper()
	d := &imageDisk{t: t, path: filepath.Join(t.TempDir(), "card.img")}
	out, err := os.Create(d.path)
	if err != nil {
		t.Fatal(err)
	}
	zc := exec.Command("zstd", "-dcq", img)
	zc.Stdout = out
	if err := zc.Run(); err != nil {
		t.Fatalf("zstd -d %s: %v", img, err)
	}
	out.Close()
	js, err := exec.Command("sfdisk", "--json", d.path).Output()
	if err != nil {
		t.Fatal(err)
	}
	var pt struct {
		PartitionTable struct {
			Partitions []struct {
				Start int64  `json:"start"`
				Type  string `json:"type"`
			} `json:"partitions"`
		} `json:"partitiontable"`
	}
	if err := json.Unmarshal(js, &pt); err != nil || len(pt.PartitionTable.Partitions) == 0 {
		t.Fatalf("partition table of %s: %v", img, err)
	}
	d.offset = pt.PartitionTable.Partitions[0].Start * 512
	// Rebuild boot.scr from this tree's boot.cmd: the A/B logic under test.
	scr := filepath.Join(t.TempDir(), "boot.scr")
	run(t, "mkimage", "-A", "arm", "-O", "linux", "-T", "script", "-C", "none", "-n", "hushbox", "-d", bootCmd, scr)
	d.put("boot.scr", scr)
	return d
}

func (d *imageDisk) part() string { return fmt.Sprintf("%s@@%d", d.path, d.offset) }

func (d *imageDisk) get(name string) []byte {
	d.t.Helper()
	cmd := exec.Command("mtype", "-i", d.part(), "::"+name)
	cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		d.t.Fatalf("mtype %s: %v: %s", name, err, stderr.String())
	}
	return out
}

func (d *imageDisk) put(name, src string) {
	d.t.Helper()
	cmd := exec.Command("mcopy", "-o", "-i", d.part(), src, "::"+name)
	cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		d.t.Fatalf("mcopy %s: %v\n%s", name, err, out)
	}
}

// bootDir copies the files the Installer works on out of the partition.
func (d *imageDisk) bootDir() string {
	dir := d.t.TempDir()
	for _, n := range []string{"initrd-a.img", "initrd-b.img", EnvFile} {
		if err := os.WriteFile(filepath.Join(dir, n), d.get(n), 0o644); err != nil {
			d.t.Fatal(err)
		}
	}
	return dir
}

func (d *imageDisk) state() State {
	d.t.Helper()
	env, err := ParseEnv(d.get(EnvFile))
	if err != nil {
		d.t.Fatal(err)
	}
	st, err := env.State()
	if err != nil {
		d.t.Fatal(err)
	}
	return st
}

// boot runs the card until a console line contains one of stop, or
// starts a daemon too old to mark good (a line starting hushbox serve
// without --boot-dir), or qemu exits (a kernel panic reboots, and
// -no-reboot ends qemu); it returns the console.
func (d *imageDisk) boot(limit time.Duration, stop ...string) string {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, "qemu-system-arm", "-M", "virt", "-cpu", "cortex-a15", "-m", "512",
		"-nographic", "-bios", ubootQEMU, "-no-reboot",
		"-drive", "if=none,file="+strings.ReplaceAll(d.path, ",", ",,")+",format=raw,id=hd0", "-device", "virtio-blk-device,drive=hd0",
		"-netdev", "user,id=n0,restrict=on", "-device", "virtio-net-device,netdev=n0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		d.t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	var log bytes.Buffer
	sc := bufio.NewScanner(io.TeeReader(out, &log))
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, "starting hushbox serve") && !strings.Contains(line, "--boot-dir") {
			return log.String()
		}
		for _, s := range stop {
			if strings.Contains(line, s) {
				return log.String()
			}
		}
	}
	if ctx.Err() != nil {
		d.t.Fatalf("boot did not reach %q within %s:\n%s", stop, limit, tail(log.String()))
	}
	return log.String()
}

func tail(s string) string {
	if len(s) > 6000 {
		return "...\n" + s[len(s)-6000:]
	}
	return s
}

// newcFile is a one-file newc cpio archive (what the kernel unpacks).
func newcFile(name string, mode int, body []byte) []byte {
	var b bytes.Buffer
	entry := func(name string, mode int, body []byte) {
		fmt.Fprintf(&b, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
			1, mode, 0, 0, 1, 0, len(body), 0, 0, 0, 0, len(name)+1, 0)
		b.WriteString(name + "\x00")
		for b.Len()%4 != 0 {
			b.WriteByte(0)
		}
		b.Write(body)
		for b.Len()%4 != 0 {
			b.WriteByte(0)
		}
	}
	entry(name, mode, body)
	entry("TRAILER!!!", 0, nil)
	return b.Bytes()
}

func TestABFullImage(t *testing.T) {
	needTools(t)
	if _, err := exec.LookPath("zstd"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("zstd missing (CI=true)")
		}
		t.Skip("zstd missing")
	}
	img := imageFile()
	if img == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("no SD image (HUSHBOX_IMAGE or out/hushbox-*.img.zst) in CI: make test builds one first")
		}
		t.Skip("no SD image (HUSHBOX_IMAGE or out/hushbox-*.img.zst): run make image BOARD=rpi2 first")
	}
	t.Logf("image %s", img)
	pub, priv := newKey(t)
	const bootLimit = 8 * time.Minute
	install := func(d *imageDisk, payload []byte, version string) {
		t.Helper()
		dir := d.bootDir()
		board, err := DetectBoard(dir, "/nonexistent", "/nonexistent")
		if err != nil {
			// hushbox-BOARD-VERSION.img.zst
			board = strings.SplitN(filepath.Base(img)+"--", "-", 3)[1]
		}
		in := &Installer{Dir: dir, Key: pub, Board: board, Booted: "a"}
		if _, err := in.Install(context.Background(), bytes.NewReader(makeBundle(t, priv, version, []string{board}, payload))); err != nil {
			t.Fatal(err)
		}
		d.put("initrd-b.img", filepath.Join(dir, "initrd-b.img"))
		d.put(EnvFile, filepath.Join(dir, EnvFile))
	}

	t.Run("good update switches slots", func(t *testing.T) {
		d := newImageDisk(t, img)
		// The new firmware: the image's own initramfs, signed as v2.
		install(d, d.get("initrd-a.img"), "v2")
		con := d.boot(bootLimit, "slot marked good", "Kernel panic")
		if !strings.Contains(con, "hushbox: test boot of slot b") {
			t.Fatalf("no test boot of slot b:\n%s", tail(con))
		}
		if !strings.Contains(con, "slot marked good") {
			if strings.Contains(con, "starting hushbox serve") && !strings.Contains(con, "--boot-dir") {
				t.Skip("the image's hushbox predates --boot-dir: rebuild it with make image")
			}
			t.Fatalf("the daemon did not mark slot b good:\n%s", tail(con))
		}
		if st := d.state(); st != (State{Slot: "b"}) {
			t.Fatalf("state after the healthy test boot: %+v", st)
		}
		con = d.boot(bootLimit, "Starting kernel")
		if !strings.Contains(con, "hushbox: booting slot b") || strings.Contains(con, "test boot") {
			t.Fatalf("the next boot did not boot slot b as the good slot:\n%s", tail(con))
		}
	})

	t.Run("bad update falls back", func(t *testing.T) {
		d := newImageDisk(t, img)
		// Firmware that never comes up: an initramfs whose /init cannot run.
		// The kernel panics and reboots (panic=10); qemu exits there.
		install(d, newcFile("init", 0o100755, []byte("#!/nonexistent/sh\n")), "v2-broken")
		con := d.boot(bootLimit, "Rebooting in", "hushbox: ready")
		if !strings.Contains(con, "hushbox: test boot of slot b") || strings.Contains(con, "hushbox: ready") {
			t.Fatalf("the broken slot b was not test-booted, or came up:\n%s", tail(con))
		}
		if st := d.state(); st != (State{Slot: "a", Try: "b"}) {
			t.Fatalf("state after the failed test boot: %+v", st)
		}
		con = d.boot(bootLimit, "hushbox: ready")
		if !strings.Contains(con, "falling back to slot a") || !strings.Contains(con, "hushbox: booting slot a") {
			t.Fatalf("no fallback to slot a:\n%s", tail(con))
		}
		if st := d.state(); st != (State{Slot: "a"}) {
			t.Fatalf("state after the fallback: %+v", st)
		}
	})
}
