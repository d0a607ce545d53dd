package update

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The A/B boot test runs the real boot script (rootfs/boot/boot.cmd,
// compiled with mkimage) in Debian's U-Boot for qemu_arm under
// qemu-system-arm -M virt, on a disk image file holding an MBR and the FAT
// boot partition. The kernel there is a stand-in (U-Boot refuses it after
// the script has chosen and saved the slot), and the healthy daemon is
// played by MarkGood on the boot files between boots: what is under test
// is the slot choice, the boot counter and the fallback, which all happen
// in U-Boot before the kernel starts.

const (
	ubootQEMU = "/usr/lib/u-boot/qemu_arm/u-boot.bin"
	bootCmd   = "../../rootfs/boot/boot.cmd"
	fatOffset = 1 << 20 // the boot partition starts at 1 MiB
	fatSize   = 32 << 20
)

// needTools skips (or fails in CI) when a tool the test runs is missing.
func needTools(t *testing.T) {
	t.Helper()
	var missing []string
	for _, tool := range []string{"qemu-system-arm", "mkimage", "sfdisk", "mkfs.vfat", "mcopy", "mtype"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if _, err := os.Stat(ubootQEMU); err != nil {
		missing = append(missing, ubootQEMU+" (package u-boot-qemu)")
	}
	if len(missing) == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("missing tools (CI=true): %v", missing)
	}
	t.Skipf("missing tools: %v", missing)
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

// abDisk is a disk image with an MBR and the boot partition, and a host
// folder mirroring the partition's files for the Installer to work on.
type abDisk struct {
	t    *testing.T
	path string // disk image
	dir  string // the boot files on the host side
}

func newABDisk(t *testing.T, files map[string]string) *abDisk {
	t.Helper()
	tmp := t.TempDir()
	d := &abDisk{t: t, path: filepath.Join(tmp, "disk.img"), dir: filepath.Join(tmp, "boot")}
	if err := os.Mkdir(d.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	run(t, "mkimage", "-A", "arm", "-O", "linux", "-T", "script", "-C", "none", "-n", "hushbox",
		"-d", bootCmd, filepath.Join(d.dir, "boot.scr"))
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(d.dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(d.path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(d.path, fatOffset+fatSize); err != nil {
		t.Fatal(err)
	}
	sf := exec.Command("sfdisk", "-q", d.path)
	sf.Stdin = strings.NewReader(fmt.Sprintf("label: dos\nstart=%d, size=%d, type=c, bootable\n", fatOffset/512, fatSize/512))
	if out, err := sf.CombinedOutput(); err != nil {
		t.Fatalf("sfdisk: %v\n%s", err, out)
	}
	fat := filepath.Join(tmp, "fat.img")
	if err := os.WriteFile(fat, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(fat, fatSize); err != nil {
		t.Fatal(err)
	}
	run(t, "mkfs.vfat", "-n", "HUSHBOOT", fat)
	src, err := os.ReadFile(fat)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(d.path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(src, fatOffset); err != nil {
		t.Fatal(err)
	}
	f.Close()
	d.push()
	return d
}

func (d *abDisk) part() string { return fmt.Sprintf("%s@@%d", d.path, fatOffset) }

// push copies every host-side boot file onto the partition.
func (d *abDisk) push() {
	d.t.Helper()
	ents, err := os.ReadDir(d.dir)
	if err != nil {
		d.t.Fatal(err)
	}
	args := []string{"-o", "-i", d.part()}
	for _, e := range ents {
		args = append(args, filepath.Join(d.dir, e.Name()))
	}
	run(d.t, "mcopy", append(args, "::/")...)
}

// pull copies the partition's hushbox.env (which U-Boot rewrites) to the
// host side and returns it.
func (d *abDisk) pull() *Env {
	d.t.Helper()
	out, err := exec.Command("mtype", "-i", d.part(), "::"+EnvFile).Output()
	if err != nil {
		d.t.Fatalf("mtype %s: %v", EnvFile, err)
	}
	if err := os.WriteFile(filepath.Join(d.dir, EnvFile), out, 0o644); err != nil {
		d.t.Fatal(err)
	}
	env, err := ParseEnv(out)
	if err != nil {
		d.t.Fatalf("%s as U-Boot left it: %v\n%q", EnvFile, err, out)
	}
	return env
}

func (d *abDisk) slotFile(s string) string {
	d.t.Helper()
	out, err := exec.Command("mtype", "-i", d.part(), "::"+SlotFile(s)).Output()
	if err != nil {
		d.t.Fatalf("mtype: %v", err)
	}
	return string(out)
}

var bootingRe = regexp.MustCompile(`hushbox: booting slot ([ab])`)

// boot powers the board on, waits until the boot script has handed over to
// the kernel, powers it off, and returns the slot booted and the console.
func (d *abDisk) boot() (slot, console string) {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "qemu-system-arm", "-M", "virt", "-cpu", "cortex-a15", "-m", "256",
		"-nographic", "-bios", ubootQEMU, "-nic", "none", "-no-reboot",
		"-drive", "if=none,file="+strings.ReplaceAll(d.path, ",", ",,")+",format=raw,id=hd0", "-device", "virtio-blk-device,drive=hd0")
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
		if m := bootingRe.FindStringSubmatch(line); m != nil {
			slot = m[1]
		}
		// The stand-in kernel is refused after the choice is saved.
		if slot != "" && (strings.Contains(line, "hushbox: boot of slot") || strings.Contains(line, "Starting kernel")) {
			return slot, log.String()
		}
		if strings.Contains(line, "SCRIPT FAILED") || strings.HasPrefix(line, "=> ") {
			break
		}
	}
	d.t.Fatalf("the boot script never booted a slot (err %v):\n%s", ctx.Err(), log.String())
	return "", ""
}

func TestABBootInUBoot(t *testing.T) {
	needTools(t)
	pub, priv := newKey(t)
	_, wrongPriv := newKey(t)
	image := map[string]string{"vmlinuz": "not a kernel", "initrd-a.img": "firmware v1", "initrd-b.img": "firmware v1",
		EnvFile: "slot=a\ntry=\ntries=0\nhb_board=rpi2\nhb_ver_a=v1\nhb_ver_b=v1\n"}
	install := func(d *abDisk, booted string, bundle []byte) error {
		in := &Installer{Dir: d.dir, Key: pub, Board: "rpi2", Booted: booted}
		_, err := in.Install(context.Background(), bytes.NewReader(bundle))
		d.push()
		return err
	}
	markGood := func(d *abDisk, booted string) {
		if _, err := (&Installer{Dir: d.dir, Booted: booted}).MarkGood(); err != nil {
			t.Fatal(err)
		}
		d.push()
	}
	state := func(d *abDisk) State {
		st, err := d.pull().State()
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	expect := func(d *abDisk, what, wantSlot string, wantState State) {
		t.Helper()
		slot, console := d.boot()
		if slot != wantSlot {
			t.Fatalf("%s: booted slot %s, want %s\n%s", what, slot, wantSlot, console)
		}
		if st := state(d); st != wantState {
			t.Fatalf("%s: state after boot %+v, want %+v", what, st, wantState)
		}
	}

	t.Run("good update switches slots", func(t *testing.T) {
		d := newABDisk(t, image)
		expect(d, "first boot", "a", State{Slot: "a"})
		if err := install(d, "a", makeBundle(t, priv, "v2", []string{"rpi2"}, []byte("firmware v2"))); err != nil {
			t.Fatal(err)
		}
		expect(d, "test boot", "b", State{Slot: "a", Try: "b"})
		if env := d.pull(); env.Get(KeyBoard) != "rpi2" || env.SlotVersion("b") != "v2" || env.SlotVersion("a") != "v1" {
			t.Fatalf("U-Boot's rewrite lost hushbox's keys: %q", env.Bytes())
		}
		markGood(d, "b") // the daemon on slot b came up healthy
		expect(d, "boot after mark-good", "b", State{Slot: "b"})
		expect(d, "next boot", "b", State{Slot: "b"})
		if got := d.slotFile("b"); got != "firmware v2" {
			t.Fatalf("slot b holds %q", got)
		}
	})

	t.Run("bad update falls back", func(t *testing.T) {
		d := newABDisk(t, image)
		if err := install(d, "a", makeBundle(t, priv, "v2-broken", []string{"rpi2"}, []byte("firmware that never gets healthy"))); err != nil {
			t.Fatal(err)
		}
		// The test boot: the daemon never becomes healthy, so nobody marks
		// it good; /init's deadline (or the watchdog) reboots.
		expect(d, "test boot", "b", State{Slot: "a", Try: "b"})
		expect(d, "reboot after the failed test", "a", State{Slot: "a"})
		expect(d, "next boot", "a", State{Slot: "a"})
		if got := d.slotFile("a"); got != "firmware v1" {
			t.Fatalf("slot a holds %q", got)
		}
	})

	t.Run("two tries then fallback", func(t *testing.T) {
		d := newABDisk(t, image)
		in := &Installer{Dir: d.dir, Key: pub, Board: "rpi2", Booted: "a", Tries: 2}
		if _, err := in.Install(context.Background(), bytes.NewReader(makeBundle(t, priv, "v2", []string{"rpi2"}, []byte("firmware v2")))); err != nil {
			t.Fatal(err)
		}
		d.push()
		expect(d, "first test boot", "b", State{Slot: "a", Try: "b", Tries: 1})
		expect(d, "second test boot", "b", State{Slot: "a", Try: "b"})
		expect(d, "fallback", "a", State{Slot: "a"})
	})

	t.Run("wrong signature is refused before writing", func(t *testing.T) {
		d := newABDisk(t, image)
		if err := install(d, "a", makeBundle(t, wrongPriv, "v2", []string{"rpi2"}, []byte("evil firmware"))); err == nil {
			t.Fatal("a bundle signed with another key was installed")
		}
		if got := d.slotFile("b"); got != "firmware v1" {
			t.Fatalf("slot b holds %q after a refused bundle", got)
		}
		expect(d, "boot after the refusal", "a", State{Slot: "a"})
	})
}
