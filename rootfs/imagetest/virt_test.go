package imagetest

import (
	"encoding/binary"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	identityLine = regexp.MustCompile(`(?m)^hushbox: identity (\S+)`)
	consoleToken = regexp.MustCompile(`setup token (\S{16,})`)
	addressLine  = regexp.MustCompile(`(?m)^hushbox-init: .*address: (10\.0\.2\.\d+)/`)
	// The guard's start-up line naming its kernel backend (pbx/guard
	// OpenKernel), and the line once the SIP ports are limited.
	kernelFirewall = regexp.MustCompile(`(?m)^.*kernel firewall: (\w+).*$`)
	kernelLimits   = regexp.MustCompile(`(?m)^.*kernel SIP limits in force.*$`)
)

// setupToken reads the one-time setup token the way an owner would: from
// setup-token.txt on the card's boot partition (read here from the qemu card
// copy with mtools), or, from a daemon that does not write it there, from the
// serial console.
func setupToken(t *testing.T, v *vm) string {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		cmd := exec.Command("mtype", "-i", fatOf(t, v.dir+"/disk.img"), "::setup-token.txt")
		cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1")
		if out, err := cmd.Output(); err == nil {
			for _, f := range strings.Fields(string(out)) {
				if len(f) >= 16 {
					return f
				}
			}
		}
		if m := consoleToken.FindStringSubmatch(v.console()); m != nil {
			return m[1]
		}
		time.Sleep(time.Second)
	}
	t.Fatalf("no setup token on the boot partition or the console:\n%s", tail(v.console(), 3000))
	return ""
}

// TestQemuVirt boots the cubietruck image's kernel and initramfs under
// qemu-system-arm -M virt (virtio disk = a copy of the card, user networking
// with host forwards) and checks it as a user would: it takes a DHCP address,
// answers SIP OPTIONS and serves the web page; an extension added on the web
// page survives a hard kill of qemu (power pulled) and the next boot.
func TestQemuVirt(t *testing.T) {
	b := buildImage(t, "cubietruck")
	dir := t.TempDir()
	const password = "imagetest-admin-pw-1"

	// The card copy is 512 MiB: the first boot grows the data partition.
	const cardMiB = 512
	v := boot(t, "virt", b.img, dir, "--grow", strconv.Itoa(cardMiB))
	v.ready()
	con := v.console()
	if m := addressLine.FindStringSubmatch(con); m == nil {
		t.Errorf("console does not announce a DHCP address:\n%s", tail(con, 2000))
	}
	// The DoS guard's kernel limits are on: nf_tables programmed over
	// netlink (the card has no nft binary), in front of the SIP ports.
	if m := kernelFirewall.FindStringSubmatch(con); m == nil || m[1] != "netlink" {
		t.Errorf("console does not say the kernel firewall is netlink (%v):\n%s", m, tail(con, 3000))
	} else {
		t.Logf("console: %s", m[0])
		t.Logf("console: %s", v.waitFor(kernelLimits, time.Minute)[0])
	}
	id1 := identityLine.FindStringSubmatch(con)
	fp := certFP.FindStringSubmatch(con)
	if id1 == nil || fp == nil {
		t.Fatalf("console lacks the identity or the web certificate fingerprint:\n%s", tail(con, 3000))
	}

	status, err := sipOptions(t, v.sip)
	if err != nil {
		t.Fatalf("SIP OPTIONS: %v\nconsole:\n%s", err, tail(v.console(), 2000))
	}
	if !strings.HasPrefix(status, "SIP/2.0 200") {
		t.Errorf("SIP OPTIONS answered %q, want SIP/2.0 200", status)
	}

	w := newWebClient(t, v.web, fp[1])
	code, body := w.get("/")
	if code != http.StatusOK || !strings.Contains(body, `action="/setup"`) {
		t.Fatalf("GET / (to setup): %d\n%s", code, tail(body, 800))
	}
	w.setup(setupToken(t, v), password)
	w.addExtension("201", "Qemu desk")
	if got := w.extensions(); !slices.Contains(got, "201") {
		t.Fatalf("extension 201 not listed after adding it: %v", got)
	}

	// Pull the power: SIGKILL qemu, no shutdown, then boot the same card.
	v.kill()

	// The first boot grew the data partition and its ext4 to the card's end.
	disk := filepath.Join(dir, "disk.img")
	parts := readTable(t, disk).PartitionTable.Partitions
	if len(parts) != 2 || parts[1].Start+parts[1].Size != cardMiB*2048 {
		t.Errorf("data partition not grown to the end of the %d MiB card: %+v", cardMiB, parts)
	} else if blocks, bs := ext4Size(t, disk, parts[1].Start*512); blocks*bs != uint64(parts[1].Size)*512 {
		t.Errorf("data file system %d blocks of %d bytes, partition %d bytes", blocks, bs, parts[1].Size*512)
	}
	v2 := boot(t, "virt", b.img, dir)
	v2.ready()
	con2 := v2.console()
	if id2 := identityLine.FindStringSubmatch(con2); id2 == nil || id2[1] != id1[1] {
		t.Errorf("identity changed across the reboot: %v then %v", id1, id2)
	}
	if consoleToken.MatchString(con2) {
		t.Errorf("second boot asks for setup again: the admin password was lost")
	}
	fp2 := certFP.FindStringSubmatch(con2)
	if fp2 == nil || fp2[1] != fp[1] {
		t.Errorf("web certificate changed across the reboot")
		fp2 = fp
		if m := certFP.FindStringSubmatch(con2); m != nil {
			fp2 = m
		}
	}
	w2 := newWebClient(t, v2.web, fp2[1])
	w2.login(password)
	if got := w2.extensions(); !slices.Contains(got, "201") {
		t.Errorf("extension 201 lost across a hard kill and reboot: have %v", got)
	}
	if status, err := sipOptions(t, v2.sip); err != nil || !strings.HasPrefix(status, "SIP/2.0 200") {
		t.Errorf("SIP OPTIONS after the reboot: %q %v", status, err)
	}
}

// TestQemuRaspi2b boots the rpi2 image's kernel and initramfs under
// qemu-system-arm -M raspi2b with the Pi 2 device tree from the card: the
// console shows the daemon ready (no network: qemu's Pi has no USB Ethernet).
func TestQemuRaspi2b(t *testing.T) {
	b := buildImage(t, "rpi2")
	v := boot(t, "raspi2b", b.img, t.TempDir())
	v.ready()
	if !strings.Contains(v.console(), "Machine model: Raspberry Pi 2 Model B") {
		t.Errorf("the kernel did not run with the Pi 2 device tree:\n%s", tail(v.console(), 2000))
	}
}

// ext4Size reads the block count and block size of the ext4 at offset of img.
func ext4Size(t *testing.T, img string, offset int64) (blocks, blockSize uint64) {
	t.Helper()
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sb := make([]byte, 1024)
	if _, err := f.ReadAt(sb, offset+1024); err != nil {
		t.Fatal(err)
	}
	if binary.LittleEndian.Uint16(sb[0x38:]) != 0xEF53 {
		t.Fatalf("no ext4 superblock at %d", offset)
	}
	blocks = uint64(binary.LittleEndian.Uint32(sb[0x4:]))
	if binary.LittleEndian.Uint32(sb[0x60:])&0x80 != 0 {
		blocks |= uint64(binary.LittleEndian.Uint32(sb[0x150:])) << 32
	}
	return blocks, 1024 << binary.LittleEndian.Uint32(sb[0x18:])
}
