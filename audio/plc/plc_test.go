package plc

import (
	"math"
	"testing"

	"hushbox/audio"
)

const fl = audio.FrameLen

// voiced makes n samples of a vowel-like signal: a 100 Hz (or f0) glottal
// series with decaying harmonics, about -12 dBFS.
func voiced(n int, f0 float64) []int16 {
	s := make([]int16, n)
	for i := range s {
		var v float64
		for h := 1; h <= 8; h++ {
			v += math.Sin(2*math.Pi*f0*float64(h)*float64(i)/8000+float64(h)) / float64(h)
		}
		s[i] = int16(3000 * v)
	}
	return s
}

func sine(n int, f float64) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(8000 * math.Sin(2*math.Pi*f*float64(i)/8000))
	}
	return s
}

// play runs src frame by frame through a Concealer, losing the frames in
// lost; with zero set, lost frames are zero-filled instead.
func play(src []int16, lost map[int]bool, zero bool) []int16 {
	c := New()
	out := make([]int16, len(src))
	for f := 0; f*fl+fl <= len(src); f++ {
		o := out[f*fl : f*fl+fl]
		switch {
		case !lost[f]:
			copy(o, src[f*fl:])
			if !zero {
				c.Good(o)
			}
		case zero:
			clear(o)
		default:
			c.Conceal(o)
		}
	}
	return out
}

// snr over the lost frames and the frame after each run (the merge).
func snr(ref, got []int16, lost map[int]bool) float64 {
	var sig, noise float64
	for f := range len(ref) / fl {
		if !lost[f] && !lost[f-1] {
			continue
		}
		for i := f * fl; i < f*fl+fl; i++ {
			d := float64(ref[i]) - float64(got[i])
			sig += float64(ref[i]) * float64(ref[i])
			noise += d * d
		}
	}
	return 10 * math.Log10(sig/math.Max(noise, 1))
}

func TestConcealBeatsZeroFill(t *testing.T) {
	tests := []struct {
		name   string
		src    []int16
		lost   []int
		margin float64 // dB better than zero fill, at least
	}{
		{"sine 250 Hz, single losses", sine(8000, 250), []int{10, 20, 31, 40}, 12},
		{"voiced 100 Hz, single losses", voiced(8000, 100), []int{10, 20, 31, 40}, 12},
		{"voiced 140 Hz, burst of two", voiced(8000, 140), []int{12, 13, 30, 31}, 5},
		{"sine 400 Hz, burst of three", sine(8000, 400), []int{15, 16, 17}, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lost := map[int]bool{}
			for _, f := range tc.lost {
				lost[f] = true
			}
			pl := snr(tc.src, play(tc.src, lost, false), lost)
			zf := snr(tc.src, play(tc.src, lost, true), lost)
			t.Logf("concealment %.1f dB, zero fill %.1f dB", pl, zf)
			if pl < zf+tc.margin {
				t.Errorf("concealment SNR %.1f dB, want at least %.1f dB over zero fill (%.1f dB)", pl, tc.margin, zf)
			}
		})
	}
}

// maxStep is the largest sample-to-sample change in s[from:to].
func maxStep(s []int16, from, to int) int {
	m := 0
	for i := max(from, 1); i < to; i++ {
		d := int(s[i]) - int(s[i-1])
		if d < 0 {
			d = -d
		}
		m = max(m, d)
	}
	return m
}

func TestContinuityAtBoundaries(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  []int16
	}{
		{"sine 300 Hz", sine(4000, 300)},
		{"voiced 120 Hz", voiced(4000, 120)},
		{"sine 173 Hz (pitch not a whole number of samples)", sine(4000, 173)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lost := map[int]bool{8: true, 15: true, 16: true}
			out := play(tc.src, lost, false)
			limit := maxStep(tc.src, 0, len(tc.src)) * 3 / 2
			for _, b := range []int{8, 9, 15, 17} { // into and out of each loss
				at := b * fl
				if got := maxStep(out, at-2, at+3); got > limit {
					t.Errorf("step of %d at the frame %d boundary, signal's largest is %d", got, b, limit*2/3)
				}
			}
		})
	}
}

func TestFadeAndSilence(t *testing.T) {
	src := voiced(1600, 110)
	c := New()
	for f := range 10 {
		c.Good(src[f*fl : f*fl+fl])
	}
	energy := func(s []int16) float64 {
		var e float64
		for _, v := range s {
			e += float64(v) * float64(v)
		}
		return e
	}
	frames := make([][]int16, 4)
	for i := range frames {
		frames[i] = make([]int16, fl)
		c.Conceal(frames[i])
	}
	if e0, e1, e2 := energy(frames[0]), energy(frames[1]), energy(frames[2]); !(e0 > 0 && e1 < e0 && e2 < e1) {
		t.Errorf("concealment energy per frame %v %v %v, want decreasing", e0, e1, e2)
	}
	// 60 ms on: silence.
	if e := energy(frames[3]); e != 0 {
		t.Errorf("energy %v in the 60-80 ms concealed frame, want silence", e)
	}
	// A real frame after long loss fades in from silence.
	next := append([]int16(nil), src[:fl]...)
	c.Good(next)
	if next[0] != 0 && math.Abs(float64(next[0])) > math.Abs(float64(src[0]))/10+1 {
		t.Errorf("first sample after silence %d, want faded in from zero", next[0])
	}
	if next[fl-1] != src[fl-1] {
		t.Errorf("end of the merged frame altered: %d, want %d", next[fl-1], src[fl-1])
	}
}

func TestSilentHistory(t *testing.T) {
	c := New()
	dst := make([]int16, fl)
	for range 5 {
		for i := range dst {
			dst[i] = 99
		}
		c.Conceal(dst)
		for i, v := range dst {
			if v != 0 {
				t.Fatalf("sample %d = %d concealing silence, want 0", i, v)
			}
		}
	}
	c.Good(make([]int16, fl))
}

func TestFullScaleDoesNotWrap(t *testing.T) {
	// A clipped square wave: concealment must saturate, never wrap
	// (a wrapped sample flips sign and ruins the SNR).
	src := make([]int16, 2400)
	for i := range src {
		if (i/37)%2 == 0 {
			src[i] = math.MaxInt16
		} else {
			src[i] = math.MinInt16
		}
	}
	out := play(src, map[int]bool{10: true}, false)
	if snr(src, out, map[int]bool{10: true}) < 3 {
		t.Errorf("concealment of a square wave worse than silence")
	}
}

func TestAllocs(t *testing.T) {
	c := New()
	f := voiced(fl, 100)
	allocs := testing.AllocsPerRun(200, func() {
		c.Good(f)
		c.Conceal(f)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per frame pair, want 0", allocs)
	}
}

func BenchmarkConceal(b *testing.B) {
	c := New()
	src := voiced(20*fl, 100)
	for f := range 20 {
		c.Good(src[f*fl : f*fl+fl])
	}
	dst := make([]int16, fl)
	b.ReportAllocs()
	for b.Loop() {
		c.Conceal(dst) // first-loss path: pitch search every other call
		c.Good(src[:fl])
	}
}
