package main

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

// Linux ioctls (include/uapi/linux/blkpg.h, fs/ext4/ext4.h).
const (
	blkpgIoctl          = 0x1269     // BLKPG
	blkpgResizePart     = 3          // BLKPG_RESIZE_PARTITION
	ext4IocResizeFS     = 0x40086610 // EXT4_IOC_RESIZE_FS: _IOW('f', 16, __u64)
	ext4SuperOffset     = 1024
	ext4SuperMagicOff   = 0x38
	ext4Magic           = 0xEF53
	ext4FeatureIncompat = 0x60
	ext4Incompat64Bit   = 0x80
)

// blkpgPartition and blkpgArg mirror struct blkpg_partition and
// struct blkpg_ioctl_arg.
type blkpgPartition struct {
	Start   int64 // bytes
	Length  int64 // bytes
	Pno     int32
	Devname [64]byte
	Volname [64]byte
}

type blkpgArg struct {
	Op      int32
	Flags   int32
	Datalen int32
	Data    unsafe.Pointer
}

// growFS grows partition dev (e.g. /dev/mmcblk0p2) to the end of its disk,
// tells the kernel, then grows the ext4 file system mounted on mnt to fill
// it. Each step is skipped when already done, so it runs on every boot.
func growFS(dev, mnt string, log *slog.Logger) error {
	name := filepath.Base(dev)
	sys := "/sys/class/block/" + name
	pno, err := readSysInt(sys + "/partition")
	if err != nil {
		return fmt.Errorf("growfs: %s is not a partition: %w", dev, err)
	}
	link, err := filepath.EvalSymlinks(sys)
	if err != nil {
		return fmt.Errorf("growfs: %w", err)
	}
	disk := "/dev/" + filepath.Base(filepath.Dir(link))
	diskSectors, err := readSysInt("/sys/class/block/" + filepath.Base(disk) + "/size")
	if err != nil {
		return fmt.Errorf("growfs: size of %s: %w", disk, err)
	}

	if err := growPartition(disk, int(pno), uint64(diskSectors), log); err != nil {
		return err
	}
	return growExt4(dev, mnt, log)
}

// growPartition rewrites the MBR entry and resizes the kernel's view of it.
func growPartition(disk string, pno int, diskSectors uint64, log *slog.Logger) error {
	f, err := os.OpenFile(disk, os.O_RDWR|syscall.O_SYNC, 0)
	if err != nil {
		return fmt.Errorf("growfs: %w", err)
	}
	defer f.Close()
	sector := make([]byte, sectorSize)
	if _, err := f.ReadAt(sector, 0); err != nil {
		return fmt.Errorf("growfs: read MBR of %s: %w", disk, err)
	}
	entries, err := parseMBR(sector)
	if err != nil {
		return fmt.Errorf("growfs: %s: %w", disk, err)
	}
	size, grow, err := growTarget(entries, pno, diskSectors)
	if err != nil {
		return fmt.Errorf("growfs: %s: %w", disk, err)
	}
	start := entries[pno-1].Start
	if grow {
		setSize(sector, pno, size)
		if _, err := f.WriteAt(sector, 0); err != nil {
			return fmt.Errorf("growfs: write MBR of %s: %w", disk, err)
		}
		if err := f.Sync(); err != nil {
			return fmt.Errorf("growfs: sync %s: %w", disk, err)
		}
		log.Info("data partition grown in the MBR", "disk", disk, "partition", pno, "sectors", size)
	}
	// The kernel may still have the old size (just written, or written by a
	// boot that lost power before this step): make it match the table.
	cur, err := readSysInt(fmt.Sprintf("/sys/class/block/%s/%s/size", filepath.Base(disk), partName(filepath.Base(disk), pno)))
	if err == nil && cur == int64(size) {
		return nil
	}
	p := blkpgPartition{Start: int64(start) * sectorSize, Length: int64(size) * sectorSize, Pno: int32(pno)}
	arg := blkpgArg{Op: blkpgResizePart, Datalen: int32(unsafe.Sizeof(p)), Data: unsafe.Pointer(&p)}
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), blkpgIoctl, uintptr(unsafe.Pointer(&arg))); e != 0 {
		return fmt.Errorf("growfs: BLKPG resize of %s partition %d: %w", disk, pno, e)
	}
	log.Info("kernel told the new partition size", "disk", disk, "partition", pno)
	return nil
}

// partName is the kernel's name of partition pno of disk: mmcblk0 -> mmcblk0p2,
// vda -> vda2.
func partName(disk string, pno int) string {
	if disk != "" && disk[len(disk)-1] >= '0' && disk[len(disk)-1] <= '9' {
		return disk + "p" + strconv.Itoa(pno)
	}
	return disk + strconv.Itoa(pno)
}

// growExt4 resizes the mounted ext4 on dev to fill the partition.
func growExt4(dev, mnt string, log *slog.Logger) error {
	blocks, blockSize, err := ext4Blocks(dev)
	if err != nil {
		return fmt.Errorf("growfs: %w", err)
	}
	size, err := readSysInt("/sys/class/block/" + filepath.Base(dev) + "/size")
	if err != nil {
		return fmt.Errorf("growfs: %w", err)
	}
	want := uint64(size) * sectorSize / blockSize
	if want <= blocks {
		return nil
	}
	d, err := os.Open(mnt)
	if err != nil {
		return fmt.Errorf("growfs: %w", err)
	}
	defer d.Close()
	n := want
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, d.Fd(), ext4IocResizeFS, uintptr(unsafe.Pointer(&n))); e != 0 {
		return fmt.Errorf("growfs: EXT4_IOC_RESIZE_FS %s to %d blocks: %w", mnt, want, e)
	}
	log.Info("data file system grown", "device", dev, "from_blocks", blocks, "to_blocks", want, "block_size", blockSize)
	return nil
}

// ext4Blocks reads the block count and size from dev's ext4 superblock.
func ext4Blocks(dev string) (blocks, blockSize uint64, err error) {
	f, err := os.Open(dev)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sb := make([]byte, 1024)
	if _, err := f.ReadAt(sb, ext4SuperOffset); err != nil {
		return 0, 0, fmt.Errorf("read superblock of %s: %w", dev, err)
	}
	return parseExt4Super(sb)
}

// parseExt4Super returns the block count and block size of an ext4
// superblock (the 1024 bytes at offset 1024).
func parseExt4Super(sb []byte) (blocks, blockSize uint64, err error) {
	if len(sb) < 0x154 || binary.LittleEndian.Uint16(sb[ext4SuperMagicOff:]) != ext4Magic {
		return 0, 0, fmt.Errorf("not an ext4 superblock")
	}
	logSize := binary.LittleEndian.Uint32(sb[0x18:])
	if logSize > 6 {
		return 0, 0, fmt.Errorf("ext4 block size 2^(10+%d) out of range", logSize)
	}
	blocks = uint64(binary.LittleEndian.Uint32(sb[0x4:]))
	if binary.LittleEndian.Uint32(sb[ext4FeatureIncompat:])&ext4Incompat64Bit != 0 {
		blocks |= uint64(binary.LittleEndian.Uint32(sb[0x150:])) << 32
	}
	return blocks, 1024 << logSize, nil
}

func readSysInt(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
}
