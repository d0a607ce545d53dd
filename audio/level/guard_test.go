package level

import (
	"math"
	"slices"
	"testing"
	"time"

	"hushbox/audio"
)

const fl = audio.FrameLen

// tone makes frame k of a sine of frequency f and peak amp.
func tone(k int, f, amp float64) []int16 {
	s := make([]int16, fl)
	for i := range s {
		n := float64(k*fl + i)
		s[i] = int16(amp * math.Sin(2*math.Pi*f*n/audio.SampleRate))
	}
	return s
}

func scaled(s []int16, g float64) []int16 {
	o := make([]int16, len(s))
	for i, v := range s {
		o[i] = int16(float64(v) * g)
	}
	return o
}

func add(a, b []int16) []int16 {
	o := make([]int16, len(a))
	for i := range a {
		o[i] = int16(max(min(int(a[i])+int(b[i]), math.MaxInt16), math.MinInt16))
	}
	return o
}

func power(s []int16) float64 {
	var e float64
	for _, v := range s {
		e += float64(v) * float64(v)
	}
	return e / float64(len(s))
}

func db(out, in []int16) float64 { return 10 * math.Log10(power(out)/power(in)) }

func TestDucking(t *testing.T) {
	tests := []struct {
		name    string
		far     float64 // far-end playback peak (0 = silent)
		echo    float64 // fraction of far end in the microphone
		near    float64 // near-end talker peak
		wantDB  float64 // capture gain after settling
		tolDB   float64
		ducking bool
	}{
		{"far end silent: capture untouched", 0, 0, 6000, 0, 0.01, false},
		{"far end talking, echo only: ducked 18 dB", 8000, 0.3, 0, -18, 1, true},
		{"far end quiet (under threshold): untouched", 300, 0.3, 2000, 0, 0.01, false},
		{"double talk, near end louder: break-in", 4000, 0.2, 9000, 0, 0.01, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := New(Config{})
			var in, out []int16
			for k := range 50 {
				far := tone(k, 440, tc.far)
				g.Playback(far)
				mic := add(scaled(far, tc.echo), tone(k, 230, tc.near))
				got := slices.Clone(mic)
				g.Capture(got)
				if k >= 10 { // settled
					in, out = append(in, mic...), append(out, got...)
				}
			}
			if d := db(out, in); math.Abs(d-tc.wantDB) > tc.tolDB {
				t.Errorf("capture gain %.2f dB, want %.0f±%.2f", d, tc.wantDB, tc.tolDB)
			}
			if g.Ducking() != tc.ducking {
				t.Errorf("Ducking() = %v, want %v", g.Ducking(), tc.ducking)
			}
			if !tc.ducking && !slices.Equal(in, out) {
				t.Errorf("capture altered while not ducking")
			}
		})
	}
}

func TestHangoverThenRelease(t *testing.T) {
	g := New(Config{Hangover: 200 * time.Millisecond})
	silent := make([]int16, fl)
	for k := range 20 {
		g.Playback(tone(k, 440, 8000))
		f := tone(k, 230, 1000)
		g.Capture(f)
	}
	// Far end stops: the room's echo tail is still covered for 200 ms.
	var ducked int
	for k := range 30 {
		g.Playback(silent)
		f := tone(20+k, 230, 1000)
		g.Capture(f)
		if g.Ducking() {
			ducked++
		}
	}
	// The envelope falls under the threshold in 5 frames (halving from
	// about 5100 to under 300), then 10 frames (200 ms) of hangover.
	if ducked < 13 || ducked > 17 {
		t.Errorf("ducked %d frames after the far end stopped, want about 15 (300 ms)", ducked)
	}
	f := tone(60, 230, 1000)
	want := slices.Clone(f)
	g.Capture(f)
	if !slices.Equal(f, want) {
		t.Errorf("capture still attenuated after hangover and release")
	}
}

func TestGainRamps(t *testing.T) {
	// A constant microphone signal while the far end starts: the gain
	// falls over a few samples, never in one click-sized step.
	g := New(Config{})
	dc := make([]int16, fl)
	for i := range dc {
		dc[i] = 3000 // under the far end's level: echo, not talk
	}
	g.Playback(tone(0, 440, 8000))
	f := slices.Clone(dc)
	g.Capture(f)
	for i := 1; i < fl; i++ {
		if f[i] > f[i-1] {
			t.Fatalf("gain rose at sample %d while ducking", i)
		}
		if step := int(f[i-1]) - int(f[i]); step > 3000/duckAttack+1 {
			t.Fatalf("gain step of %d at sample %d, want a ramp", step, i)
		}
	}
	if f[fl-1] > 390 {
		t.Errorf("ducked level %d, want 3000 at -18 dB (378)", f[fl-1])
	}
}

func TestLimiter(t *testing.T) {
	g := New(Config{Limit: 20000})
	loud := make([]int16, fl)
	for i := range loud {
		if (i/20)%2 == 0 {
			loud[i] = math.MaxInt16
		} else {
			loud[i] = math.MinInt16
		}
	}
	for range 5 {
		f := slices.Clone(loud)
		g.Capture(f)
		for i, v := range f {
			if v > 20000 || v < -20000 {
				t.Fatalf("sample %d = %d over the 20000 limit", i, v)
			}
			if (v > 0) != (loud[i] > 0) {
				t.Fatalf("sample %d flipped sign (%d): wrapped", i, v)
			}
		}
		if p := max(f[0], -f[20]); p < 19000 {
			t.Errorf("limited peak %d, want close to the limit (no over-attenuation)", p)
		}
	}
	// The limiter releases slowly: normal speech gets its level back.
	var f []int16
	for k := range 100 {
		f = tone(k, 300, 8000)
		g.Capture(f)
	}
	if d := db(f, tone(99, 300, 8000)); d < -0.1 {
		t.Errorf("gain %.2f dB two seconds after the overload, want back to 0", d)
	}
}

func TestAllocs(t *testing.T) {
	g := New(Config{})
	p, c := tone(0, 440, 8000), tone(0, 200, 3000)
	if n := testing.AllocsPerRun(100, func() { g.Playback(p); g.Capture(c) }); n != 0 {
		t.Errorf("%v allocations per frame", n)
	}
}

func BenchmarkGuard(b *testing.B) {
	g := New(Config{})
	p, c := tone(0, 440, 8000), tone(0, 200, 3000)
	for b.Loop() {
		g.Playback(p)
		g.Capture(c)
	}
}
