package tone

import (
	"math"
	"testing"
	"time"

	"hushbox/audio"
)

// goertzel returns the power of frequency f in s, Hann-windowed (so leakage
// from a strong tone does not mask what is near it) and normalised so a
// sine of peak A gives about A^2/4.
func goertzel(s []int16, f float64) float64 {
	w := 2 * math.Pi * f / audio.SampleRate
	coeff := 2 * math.Cos(w)
	var s1, s2 float64
	for i, v := range s {
		hann := 1 - math.Cos(2*math.Pi*float64(i)/float64(len(s))) // gain 1 on average
		s0 := float64(v)*hann + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	p := s1*s1 + s2*s2 - coeff*s1*s2
	n := float64(len(s))
	return p / (n * n)
}

func render(g *Generator, d time.Duration) []int16 {
	n := int(d * audio.SampleRate / time.Second)
	out := make([]int16, n)
	for i := 0; i < n; i += audio.FrameLen {
		g.FillFrame(out[i:min(i+audio.FrameLen, n)])
	}
	return out
}

// checkPair asserts that s holds f1 and f2 strongly and nothing else in the
// telephone band (probed every 25 Hz, 50 Hz or more from the pair).
func checkPair(t *testing.T, s []int16, f1, f2 int, amp float64) {
	t.Helper()
	want := amp * amp / 4
	for _, f := range []int{f1, f2} {
		if p := goertzel(s, float64(f)); p < want*0.8 || p > want*1.2 {
			t.Errorf("%d Hz power %.0f, want about %.0f", f, p, want)
		}
	}
	for f := 200; f < 3400; f += 25 {
		if abs(f-f1) < 50 || abs(f-f2) < 50 {
			continue
		}
		if p := goertzel(s, float64(f)); p > want/1000 {
			t.Errorf("stray energy at %d Hz: %.1f (tones %.0f)", f, p, want)
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func TestFrequencies(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tone   Tone
		f1, f2 int
	}{
		{"dial", Dial, 350, 440},
		{"ringback", Ringback, 440, 480},
		{"busy", Busy, 480, 620},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// 400 ms: inside the first "on" of every cadence; a whole
			// number of periods of 50 Hz resolution.
			s := render(New(tc.tone), 400*time.Millisecond)
			checkPair(t, s, tc.f1, tc.f2, float64(tc.tone.Amp))
		})
	}
}

func TestDTMFPairs(t *testing.T) {
	want := map[byte][2]int{
		'1': {697, 1209}, '2': {697, 1336}, '3': {697, 1477}, 'A': {697, 1633},
		'4': {770, 1209}, '5': {770, 1336}, '6': {770, 1477}, 'B': {770, 1633},
		'7': {852, 1209}, '8': {852, 1336}, '9': {852, 1477}, 'C': {852, 1633},
		'*': {941, 1209}, '0': {941, 1336}, '#': {941, 1477}, 'D': {941, 1633},
		'd': {941, 1633},
	}
	for key, pair := range want {
		tn, err := DTMF(key)
		if err != nil {
			t.Fatalf("DTMF(%q): %v", key, err)
		}
		if tn.F1 != pair[0] || tn.F2 != pair[1] {
			t.Errorf("DTMF(%q) = %d+%d Hz, want %d+%d", key, tn.F1, tn.F2, pair[0], pair[1])
		}
		g := New(tn)
		s := render(g, DTMFFeedback)
		checkPair(t, s, pair[0], pair[1], float64(tn.Amp))
		// Then silence for good.
		rest := render(g, time.Second)
		for i, v := range rest {
			if v != 0 {
				t.Fatalf("DTMF(%q) sample %d after the burst = %d, want silence", key, i, v)
			}
		}
		if !g.Done() {
			t.Errorf("DTMF(%q) not done after the burst", key)
		}
	}
	for _, bad := range []byte{'E', 'x', ' ', 0} {
		if _, err := DTMF(bad); err == nil {
			t.Errorf("DTMF(%q) accepted", bad)
		}
	}
}

// cadence returns, per 20 ms frame, whether the frame carries tone.
func cadence(g *Generator, frames int) []bool {
	on := make([]bool, frames)
	f := make([]int16, audio.FrameLen)
	for i := range on {
		g.FillFrame(f)
		var e int64
		for _, v := range f {
			e += int64(v) * int64(v)
		}
		on[i] = e > 0
	}
	return on
}

func TestCadence(t *testing.T) {
	for _, tc := range []struct {
		name    string
		tone    Tone
		on, off int // frames
	}{
		{"ringback 2s on 4s off", Ringback, 100, 200},
		{"busy 0.5s on 0.5s off", Busy, 25, 25},
	} {
		t.Run(tc.name, func(t *testing.T) {
			period := tc.on + tc.off
			got := cadence(New(tc.tone), 3*period)
			for i, on := range got {
				if want := i%period < tc.on; on != want {
					t.Fatalf("frame %d (%v): on=%v, want %v", i, time.Duration(i)*20*time.Millisecond, on, want)
				}
			}
		})
	}
	for i, on := range cadence(New(Dial), 500) {
		if !on {
			t.Fatalf("dial tone silent at frame %d, want continuous", i)
		}
	}
}

func TestLevelAndReset(t *testing.T) {
	g := New(Dial)
	a := render(g, 100*time.Millisecond)
	peak := 0
	for _, v := range a {
		peak = max(peak, abs(int(v)))
	}
	if limit := 2 * int(Dial.Amp); peak > limit || peak < limit*9/10 {
		t.Errorf("dial tone peak %d, want close to %d", peak, limit)
	}
	g.Reset()
	b := render(g, 100*time.Millisecond)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("sample %d differs after Reset: %d vs %d", i, a[i], b[i])
		}
	}
}

func TestFillFrameAllocs(t *testing.T) {
	g := New(Ringback)
	f := make([]int16, audio.FrameLen)
	if n := testing.AllocsPerRun(100, func() { g.FillFrame(f) }); n != 0 {
		t.Errorf("%v allocations per frame", n)
	}
}

func BenchmarkFillFrame(b *testing.B) {
	g := New(Dial)
	f := make([]int16, audio.FrameLen)
	for b.Loop() {
		g.FillFrame(f)
	}
}
