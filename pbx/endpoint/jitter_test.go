package endpoint

import (
	"testing"

	"hushbox/audio"
)

func frame(v int16) []int16 {
	f := make([]int16, audio.FrameLen)
	for i := range f {
		f[i] = v
	}
	return f
}

// TestJitterBuffer plays arrival patterns through the playout side: each
// step is what arrives before one playout slot (frame numbers), and what
// the slot must play: the frame's value, 0 for silence, -1 for
// concealment (not silence: audio/plc repeats the recent past).
func TestJitterBuffer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		target int
		arrive [][]int
		want   []int16
	}{
		{"in order, one frame of delay", 1, [][]int{{0}, {1}, {2}, {3}}, []int16{1, 2, 3, 4}},
		{"three frames of delay", 3, [][]int{{0}, {1}, {2}, {3}, {}}, []int16{0, 0, 1, 2, 3}},
		{"lost frame concealed", 1, [][]int{{0}, {1}, {3}, {4}}, []int16{1, 2, -1, 4}},
		{"one late frame: concealed, delay kept", 1, [][]int{{0}, {}, {1, 2}, {3}}, []int16{1, -1, 3, 4}},
		{"two late frames: one more frame of delay", 1, [][]int{{0}, {1}, {}, {2}, {3}, {4}}, []int16{1, 2, -1, -1, -2, 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			jb := newJitterBuffer(tc.target)
			out := make([]int16, audio.FrameLen)
			for slot, arr := range tc.arrive {
				for _, n := range arr {
					jb.Push(uint16(100+n), uint32(8000+n*audio.FrameLen), n == 0, frame(int16(n+1)*1000))
				}
				jb.Pop(out)
				want := tc.want[slot]
				switch {
				case want == -2: // concealment faded out or not: either
				case want == -1:
					if out[0] == 0 && out[80] == 0 {
						t.Errorf("slot %d: silence, want concealment", slot)
					}
				case want == 0:
					if out[0] != 0 {
						t.Errorf("slot %d: played %d, want silence", slot, out[0])
					}
				case out[80] != want*1000:
					t.Errorf("slot %d: played %d, want frame %d", slot, out[80], want*1000)
				}
			}
		})
	}
	// Reordered frames all play, in order, without concealment.
	jb := newJitterBuffer(2)
	out := make([]int16, audio.FrameLen)
	var played []int16
	for _, arr := range [][]int{{0}, {2}, {1}, {3}, {}, {}, {}} {
		for _, n := range arr {
			jb.Push(uint16(100+n), uint32(8000+n*audio.FrameLen), n == 0, frame(int16(n+1)*1000))
		}
		jb.Pop(out)
		if out[80] != 0 {
			played = append(played, out[80]/1000)
		}
	}
	// (What follows the last frame is concealment of the underrun.)
	if len(played) < 4 || played[0] != 1 || played[1] != 2 || played[2] != 3 || played[3] != 4 {
		t.Errorf("reordered frames played as %v, want [1 2 3 4 ...]", played)
	}
	st := jb.Stats()
	if st.Late != 0 || st.Played < 4 {
		t.Errorf("reordered: stats %+v", st)
	}
	if _, ok := newJitterBuffer(1).Anchor(); ok {
		t.Error("anchored before any packet")
	}
}

func TestJitterBufferGrowsAndResyncs(t *testing.T) {
	jb := newJitterBuffer(1)
	out := make([]int16, audio.FrameLen)
	for _, arr := range [][]int{{0}, {1}, {}, {2}, {3}, {4}} {
		for _, n := range arr {
			jb.Push(uint16(n), uint32(n*audio.FrameLen), false, frame(int16(n+1)*1000))
		}
		jb.Pop(out)
	}
	if st := jb.Stats(); st.Late != 2 || st.Target != 2 {
		t.Errorf("after two late frames: %+v, want 2 late and 2 frames of delay", st)
	}
	jb.Push(9, 1<<31, false, frame(7000)) // a jump: start over there
	jb.Pop(out)
	jb.Pop(out)
	if out[80] != 7000 || jb.Stats().Resyncs != 1 {
		t.Errorf("after a jump played %d, stats %+v", out[80], jb.Stats())
	}
	jb.Push(10, 5, false, make([]int16, 3)) // wrong size: ignored
	for i := range 2 * maxBufferedFrames {
		jb.Push(uint16(i), 1<<31+uint32(i+1)*audio.FrameLen, false, frame(3))
	}
	if len(jb.frames) > maxBufferedFrames {
		t.Errorf("holds %d frames, bound %d", len(jb.frames), maxBufferedFrames)
	}
}
