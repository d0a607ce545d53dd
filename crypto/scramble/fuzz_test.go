package scramble

import (
	"encoding/binary"
	"testing"
)

// FuzzScrambleRoundTrip feeds arbitrary frames, sizes, keys, SSRCs and
// frame numbers through Scramble and Descramble: neither may panic, the
// outputs have the frame length, and when the scrambled frame did not
// saturate the round trip is within a few LSB of the input. It also
// descrambles the raw input, the receive path's view of hostile audio.
func FuzzScrambleRoundTrip(f *testing.F) {
	f.Add([]byte{}, uint8(1), uint32(0), uint64(0), false)
	f.Add([]byte{0xff, 0x7f, 0x00, 0x80}, uint8(0), uint32(0xffffffff), uint64(1<<63), true)
	f.Add(make([]byte, 640), uint8(3), uint32(7), uint64(12345), false)
	speech := speechLike(1, 320, true)
	b := make([]byte, 640)
	for i, v := range speech {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
	}
	f.Add(b, uint8(2), uint32(99), uint64(3), true)
	f.Fuzz(func(t *testing.T, data []byte, sizeSel uint8, ssrc uint32, frame uint64, keyA bool) {
		n := frameSizes[int(sizeSel)%len(frameSizes)]
		key := testKeyB
		if keyA {
			key = testKeyA
		}
		s, err := New(key, n)
		if err != nil {
			t.Fatal(err)
		}
		x := make([]int16, n)
		for i := 0; i < n && 2*i+1 < len(data); i++ {
			x[i] = int16(binary.LittleEndian.Uint16(data[2*i:]))
		}
		y := make([]int16, n)
		z := make([]int16, n)
		if err := s.Scramble(y, x, ssrc, frame); err != nil {
			t.Fatal(err)
		}
		if err := s.Descramble(z, y, ssrc, frame); err != nil {
			t.Fatal(err)
		}
		if len(y) != n || len(z) != n {
			t.Fatalf("output lengths %d, %d, want %d", len(y), len(z), n)
		}
		saturated := false
		for _, v := range y {
			if v == 32767 || v == -32768 {
				saturated = true
			}
		}
		if !saturated {
			for i := range x {
				if d := int(z[i]) - int(x[i]); d > 4 || d < -4 {
					t.Fatalf("N=%d sample %d: %d came back as %d", n, i, x[i], z[i])
				}
			}
		}
		if err := s.Descramble(z, x, ssrc, frame); err != nil {
			t.Fatal(err)
		}
		// A short or long frame is an error, never a panic.
		if len(data)%7 == 1 {
			if err := s.Scramble(y, x[:n-1], ssrc, frame); err == nil {
				t.Fatal("short frame accepted")
			}
		}
	})
}
