package main

import (
	"encoding/binary"
	"testing"
)

// mbrWith builds an MBR sector holding the given entries.
func mbrWith(entries ...mbrEntry) []byte {
	s := make([]byte, sectorSize)
	for i, e := range entries {
		p := s[446+16*i:]
		p[4] = e.Type
		binary.LittleEndian.PutUint32(p[8:], e.Start)
		binary.LittleEndian.PutUint32(p[12:], e.Size)
	}
	s[510], s[511] = 0x55, 0xAA
	return s
}

// The hushbox card: 4 MiB gap, 128 MiB FAT, 64 MiB ext4.
var card = []mbrEntry{{Type: 0x0c, Start: 8192, Size: 262144}, {Type: 0x83, Start: 270336, Size: 131072}}

func TestGrowTarget(t *testing.T) {
	cases := []struct {
		name     string
		entries  []mbrEntry
		pno      int
		disk     uint64
		wantSize uint32
		wantGrow bool
		wantErr  bool
	}{
		{"fills a 512 MiB card", card, 2, 1 << 20, 1<<20 - 270336, true, false},
		{"rounds down to whole MiB", card, 2, 1<<20 + 100, 1<<20 - 270336, true, false},
		{"already full", card, 2, 270336 + 131072, 131072, false, false},
		{"less than a MiB more is left", card, 2, 270336 + 131072 + 2000, 131072, false, false},
		{"card smaller than the image: never shrink", card, 2, 300000, 131072, false, false},
		{"a partition after it limits growth", append(append([]mbrEntry{}, card...), mbrEntry{Type: 0x83, Start: 600000, Size: 2048}), 2, 1 << 20, (600000 - 270336) / 2048 * 2048, true, false},
		{"capped at the MBR's 2 TiB", card, 2, 1 << 40, (1<<32 - 1 - 270336) / 2048 * 2048, true, false},
		{"empty entry", card, 3, 1 << 20, 0, false, true},
		{"not a primary partition", card, 5, 1 << 20, 0, false, true},
		{"starts past the disk", card, 2, 1000, 0, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := parseMBR(mbrWith(tc.entries...))
			if err != nil {
				t.Fatal(err)
			}
			size, grow, err := growTarget(e, tc.pno, tc.disk)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err == nil && (size != tc.wantSize || grow != tc.wantGrow) {
				t.Errorf("growTarget = %d, %v; want %d, %v", size, grow, tc.wantSize, tc.wantGrow)
			}
		})
	}
}

func TestSetSizeKeepsTheRest(t *testing.T) {
	s := mbrWith(card...)
	setSize(s, 2, 999424)
	e, err := parseMBR(s)
	if err != nil {
		t.Fatal(err)
	}
	if e[1] != (mbrEntry{Type: 0x83, Start: 270336, Size: 999424}) || e[0] != card[0] {
		t.Errorf("after setSize: %+v", e)
	}
}

func TestParseMBRRefuses(t *testing.T) {
	if _, err := parseMBR(make([]byte, 100)); err == nil {
		t.Error("short sector accepted")
	}
	if _, err := parseMBR(make([]byte, sectorSize)); err == nil {
		t.Error("sector without 55AA accepted")
	}
}

func FuzzGrowTarget(f *testing.F) {
	f.Add(mbrWith(card...), 2, uint64(1<<20))
	f.Fuzz(func(t *testing.T, sector []byte, pno int, disk uint64) {
		e, err := parseMBR(sector)
		if err != nil {
			return
		}
		size, grow, err := growTarget(e, pno, disk)
		if err != nil {
			return
		}
		p := e[pno-1]
		if grow && (size <= p.Size || uint64(p.Start)+uint64(size) > disk) {
			t.Fatalf("grow %+v to %d on a %d-sector disk", p, size, disk)
		}
	})
}
