package plc

import (
	"testing"
)

// FuzzConceal feeds arbitrary audio (what a peer sends is outside input)
// with an arbitrary loss pattern: no panic, and concealment goes silent
// after 60 ms of continuous loss whatever the history.
func FuzzConceal(f *testing.F) {
	f.Add([]byte{0x80, 1, 2, 3, 0xff, 0x7f}, uint64(0b0111100))
	f.Add([]byte{}, uint64(0xffff))
	f.Fuzz(func(t *testing.T, pcm []byte, loss uint64) {
		c := New()
		frame := make([]int16, fl)
		run := 0
		for n := range 64 {
			if loss&(1<<n) != 0 {
				c.Conceal(frame)
				run++
				if run >= 4 { // frames 60-80 ms and later
					for i, v := range frame {
						if v != 0 {
							t.Fatalf("sample %d = %d after %d lost frames, want silence", i, v, run)
						}
					}
				}
				continue
			}
			run = 0
			for i := range frame {
				if len(pcm) > 1 {
					k := (n*fl + i) * 2 % (len(pcm) - 1)
					frame[i] = int16(uint16(pcm[k]) | uint16(pcm[k+1])<<8)
				} else {
					frame[i] = 0
				}
			}
			c.Good(frame)
		}
	})
}
