package imagetest

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// sfdiskTable is what `sfdisk --json` prints.
type sfdiskTable struct {
	PartitionTable struct {
		Label      string `json:"label"`
		Partitions []struct {
			Node     string `json:"node"`
			Start    int64  `json:"start"`
			Size     int64  `json:"size"`
			Type     string `json:"type"`
			Bootable bool   `json:"bootable"`
		} `json:"partitions"`
	} `json:"partitiontable"`
}

func readTable(t *testing.T, img string) sfdiskTable {
	t.Helper()
	out, err := exec.Command("sfdisk", "--json", img).Output()
	if err != nil {
		t.Fatalf("sfdisk --json %s: %v", img, err)
	}
	var tab sfdiskTable
	if err := json.Unmarshal(out, &tab); err != nil {
		t.Fatalf("sfdisk --json: %v\n%s", err, out)
	}
	return tab
}

// fatOf is the mtools image spec of the card's first (boot) partition.
func fatOf(t *testing.T, img string) string {
	t.Helper()
	tab := readTable(t, img)
	if len(tab.PartitionTable.Partitions) == 0 {
		t.Fatalf("%s: no partitions", img)
	}
	return img + "@@" + itoa(tab.PartitionTable.Partitions[0].Start*512)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// mtools runs an mtools command with MTOOLS_SKIP_CHECK (our FAT has no
// geometry a floppy would).
func mtools(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return out
}

// fatFiles lists the root folder of the boot partition.
func fatFiles(t *testing.T, img string) map[string]bool {
	t.Helper()
	files := map[string]bool{}
	for _, line := range strings.Split(string(mtools(t, "mdir", "-b", "-i", fatOf(t, img), "::")), "\n") {
		if name := strings.TrimPrefix(strings.TrimSpace(line), "::/"); name != "" {
			files[name] = true
		}
	}
	return files
}

// initrdList is the file list of a zstd-compressed newc cpio.
func initrdList(t *testing.T, initrd string) map[string]bool {
	t.Helper()
	cmd := exec.Command("sh", "-c", `zstd -dc "$1" | cpio -t --quiet`, "sh", initrd)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("listing %s: %v", initrd, err)
	}
	names := map[string]bool{}
	for _, n := range strings.Split(string(out), "\n") {
		if n != "" {
			names[strings.TrimPrefix(n, "./")] = true
		}
	}
	return names
}

func hasSuffix(names map[string]bool, suffix string) bool {
	for n := range names {
		if strings.HasSuffix(n, suffix) {
			return true
		}
	}
	return false
}

// TestImageLayout builds the rpi2 and cubietruck images and checks what a
// person flashing them would: an MBR with a bootable FAT boot partition and an
// ext4 data partition, the files U-Boot and the Pi firmware load, the A20 SPL
// at 8 KiB, and an initramfs with /init, busybox, hushbox and the modules.
func TestImageLayout(t *testing.T) {
	cases := []struct {
		board   string
		dtb     string
		extra   []string // boot partition files only this board has
		modules []string // .ko files its initramfs must hold
		spl     string   // u-boot-sunxi-with-spl.bin folder, "" = none
	}{
		{"rpi2", "bcm2836-rpi-2-b.dtb", []string{"bootcode.bin", "start.elf", "fixup.dat", "u-boot.bin", "config.txt", "cmdline.txt"},
			[]string{"smsc95xx.ko", "dwc2.ko", "bcm2835.ko", "snd-bcm2835.ko", "bcm2835_wdt.ko"}, ""},
		{"cubietruck", "sun7i-a20-cubietruck.dtb", nil,
			[]string{"dwmac-sunxi.ko", "sunxi-mmc.ko", "sun4i-codec.ko", "sunxi_wdt.ko"}, "Cubietruck"},
	}
	for _, tc := range cases {
		t.Run(tc.board, func(t *testing.T) {
			b := buildImage(t, tc.board)
			root := repoRoot(t)

			// Released artefacts: .img.zst and a sha256sum line that checks.
			sum, err := os.ReadFile(b.zst + ".sha256")
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("sha256sum", "-c", "--quiet", filepath.Base(b.zst)+".sha256")
			cmd.Dir = b.dir
			if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(sum), filepath.Base(b.zst)) {
				t.Errorf("sha256sum -c: %v %s (file says %q)", err, out, sum)
			}

			tab := readTable(t, b.img).PartitionTable
			if tab.Label != "dos" || len(tab.Partitions) != 2 {
				t.Fatalf("partition table: label %q, %d partitions; want dos with 2", tab.Label, len(tab.Partitions))
			}
			boot, data := tab.Partitions[0], tab.Partitions[1]
			if boot.Type != "c" || !boot.Bootable || boot.Start != 4*2048 {
				t.Errorf("boot partition: type %s bootable %v start %d; want FAT32 LBA (c), bootable, at 4 MiB", boot.Type, boot.Bootable, boot.Start)
			}
			if data.Type != "83" || data.Start != boot.Start+boot.Size {
				t.Errorf("data partition: type %s start %d; want Linux (83) right after the boot partition (%d)", data.Type, data.Start, boot.Start+boot.Size)
			}
			if out, err := exec.Command("file", "-s", b.img).Output(); err == nil && !bytes.Contains(out, []byte("DOS/MBR boot sector")) {
				t.Errorf("file -s: %s", out)
			}

			files := fatFiles(t, b.img)
			for _, f := range append([]string{"vmlinuz", tc.dtb, "initrd-a.img", "initrd-b.img", "boot.scr", "hushbox.env"}, tc.extra...) {
				if !files[f] {
					t.Errorf("boot partition lacks %s (has %v)", f, files)
				}
			}
			fat := fatOf(t, b.img)
			env := string(mtools(t, "mtype", "-i", fat, "::hushbox.env"))
			for _, kv := range []string{"slot=a", "try=", "tries=0"} {
				if !strings.Contains(env, kv+"\n") {
					t.Errorf("hushbox.env lacks %q:\n%s", kv, env)
				}
			}
			// Both slots hold the image's initramfs.
			slotA := mtools(t, "mtype", "-i", fat, "::initrd-a.img")
			slotB := mtools(t, "mtype", "-i", fat, "::initrd-b.img")
			want, err := os.ReadFile(b.initrd)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(slotA, want) || !bytes.Equal(slotB, want) {
				t.Errorf("initrd-a.img (%d bytes) and initrd-b.img (%d bytes) differ from the built initramfs (%d bytes)", len(slotA), len(slotB), len(want))
			}
			// boot.scr is a U-Boot script image (legacy header magic).
			scr := mtools(t, "mtype", "-i", fat, "::boot.scr")
			if len(scr) < 64 || !bytes.Equal(scr[:4], []byte{0x27, 0x05, 0x19, 0x56}) || !bytes.Contains(scr, []byte("initrd-${bootslot}.img")) {
				t.Errorf("boot.scr is not a mkimage script of rootfs/boot/boot.cmd (%d bytes)", len(scr))
			}
			if tc.board == "rpi2" {
				cfg := string(mtools(t, "mtype", "-i", fat, "::config.txt"))
				if !strings.Contains(cfg, "kernel=u-boot.bin") || !strings.Contains(cfg, "device_tree="+tc.dtb) {
					t.Errorf("config.txt does not start U-Boot with %s:\n%s", tc.dtb, cfg)
				}
			}

			// The A20 boot ROM reads the SPL at 8 KiB.
			card, err := os.ReadFile(b.img)
			if err != nil {
				t.Fatal(err)
			}
			if tc.spl != "" {
				spl, err := os.ReadFile(filepath.Join(root, "build", "armhf", "usr", "lib", "u-boot", tc.spl, "u-boot-sunxi-with-spl.bin"))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(card[8192:8192+len(spl)], spl) {
					t.Errorf("bytes at 8 KiB are not %s's u-boot-sunxi-with-spl.bin", tc.spl)
				}
				if !bytes.Equal(card[8196:8204], []byte("eGON.BT0")) {
					t.Errorf("no eGON.BT0 SPL signature at 8 KiB + 4")
				}
			} else if bytes.Contains(card[8192:1<<20], []byte("eGON.BT0")) {
				t.Errorf("an SPL in the %s image's gap", tc.board)
			}

			// The initramfs: the whole root file system.
			if st, err := os.Stat(b.initrd); err != nil || st.Size() >= 16<<20 {
				t.Errorf("initramfs %v bytes, want under 16 MiB compressed (%v)", st.Size(), err)
			}
			names := initrdList(t, b.initrd)
			for _, n := range []string{"init", "bin/busybox", "bin/sh", "usr/bin/hushbox", "etc/udhcpc.script", "etc/hushbox/modules", "etc/hushbox/board"} {
				if !names[n] {
					t.Errorf("initramfs lacks /%s", n)
				}
			}
			for _, m := range append([]string{"modules.dep", "ext4.ko", "vfat.ko", "virtio_net.ko", "virtio_blk.ko", "virtio_mmio.ko", "snd-usb-audio.ko"}, tc.modules...) {
				if !hasSuffix(names, "/"+m) {
					t.Errorf("initramfs lacks module %s", m)
				}
			}
		})
	}
}
