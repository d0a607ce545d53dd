package main

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// sectorSize is the MBR's unit: LBA values count 512-byte sectors.
const sectorSize = 512

// mbrEntry is one of the four primary partition entries of an MBR.
type mbrEntry struct {
	Type  byte
	Start uint32 // first sector (LBA)
	Size  uint32 // sectors
}

// parseMBR reads the four primary entries of a 512-byte MBR sector. It
// refuses a sector without the 0x55AA signature.
func parseMBR(sector []byte) ([4]mbrEntry, error) {
	var e [4]mbrEntry
	if len(sector) < sectorSize {
		return e, fmt.Errorf("mbr: %d bytes, want %d", len(sector), sectorSize)
	}
	if sector[510] != 0x55 || sector[511] != 0xAA {
		return e, errors.New("mbr: no boot signature")
	}
	for i := range e {
		p := sector[446+16*i:]
		e[i] = mbrEntry{Type: p[4], Start: binary.LittleEndian.Uint32(p[8:]), Size: binary.LittleEndian.Uint32(p[12:])}
	}
	return e, nil
}

// growTarget returns the size (sectors) partition number pno (1-4) should
// have to end at the end of a disk of diskSectors, rounded down to whole MiB
// (2048 sectors) and capped at what an MBR can hold; ok is false when it is
// already that big (or bigger: never shrink).
func growTarget(e [4]mbrEntry, pno int, diskSectors uint64) (size uint32, ok bool, err error) {
	if pno < 1 || pno > 4 {
		return 0, false, fmt.Errorf("mbr: partition %d is not a primary one", pno)
	}
	p := e[pno-1]
	if p.Type == 0 || p.Size == 0 {
		return 0, false, fmt.Errorf("mbr: partition %d is empty", pno)
	}
	end := uint64(p.Start) + uint64(p.Size)
	for i, o := range e {
		// A partition after ours limits the growth; none is expected.
		if i != pno-1 && o.Type != 0 && uint64(o.Start) >= end && uint64(o.Start) < diskSectors {
			diskSectors = uint64(o.Start)
		}
	}
	if diskSectors > 1<<32-1 {
		diskSectors = 1<<32 - 1
	}
	if diskSectors <= uint64(p.Start) {
		return 0, false, fmt.Errorf("mbr: partition %d starts at %d, past the disk's %d sectors", pno, p.Start, diskSectors)
	}
	want := (diskSectors - uint64(p.Start)) / 2048 * 2048
	if want <= uint64(p.Size) {
		return p.Size, false, nil
	}
	return uint32(want), true, nil
}

// setSize writes a new size into partition pno's entry of sector (in place).
// The CHS fields are left: every reader of these cards uses LBA.
func setSize(sector []byte, pno int, size uint32) {
	binary.LittleEndian.PutUint32(sector[446+16*(pno-1)+12:], size)
}
