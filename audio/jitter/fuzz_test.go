package jitter

import (
	"slices"
	"testing"
	"time"

	"hushbox/audio"
)

// FuzzBuffer drives the buffer with arbitrary packet streams (the network is
// outside input): any sequence numbers, timestamps, arrival times, markers
// and Pop interleavings. It must never panic, never play a frame with the
// wrong content, never play the same frame twice in a row and keep its
// delay within MaxDelay.
func FuzzBuffer(f *testing.F) {
	f.Add([]byte{0, 0, 1, 2, 0, 1, 1, 2, 3, 0, 0, 0})
	f.Add([]byte{1, 255, 255, 9, 1, 0, 0, 9, 0, 0, 0, 0, 2, 128, 0, 200})
	f.Add([]byte("\x01\x10\x00\x05\x01\x0f\x00\x05\x00\x00\x00\x00\x01\x11\x80\x05"))
	f.Fuzz(func(t *testing.T, ops []byte) {
		b := New(Config{})
		dst := make([]int16, audio.FrameLen)
		now := time.Unix(0, 0)
		var seq uint16
		var ts uint32
		last, restarts := -1, uint64(0)
		for len(ops) >= 4 {
			op, a, c, d := ops[0], ops[1], ops[2], ops[3]
			ops = ops[4:]
			now = now.Add(time.Duration(d) * time.Millisecond)
			if op&1 == 0 {
				r := b.Pop(dst)
				if r.Status == Frame {
					if !slices.Equal(dst, fill(r.Seq)) {
						t.Fatalf("frame %d has the wrong content", r.Seq)
					}
					if int(r.Seq) == last && b.Stats().Restarts == restarts {
						t.Fatalf("frame %d played twice in a row", r.Seq)
					}
					last, restarts = int(r.Seq), b.Stats().Restarts
				}
				if st := b.Stats(); st.CurrentDelay > 200*time.Millisecond {
					t.Fatalf("delay %v over the maximum", st.CurrentDelay)
				}
				continue
			}
			seq += uint16(int8(a))
			if op&2 != 0 {
				seq += uint16(c) << 8
			}
			ts += uint32(int8(c)) * audio.FrameLen
			b.Push(seq, ts, op&4 != 0, now, fill(seq))
		}
		st := b.Stats()
		if st.Played > st.Received {
			t.Fatalf("played %d of %d received", st.Played, st.Received)
		}
	})
}
