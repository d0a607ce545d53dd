package voicetest

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
)

// speechLike returns seconds of a synthetic talker at 8 kHz, peaking near
// -6 dBFS: harmonics of a gliding f0 shaped by two formants that jump
// every syllable (about 200 ms), a syllabic envelope and pauses.
func speechLike(seed uint64, seconds float64) []int16 {
	const rate = 8000
	rng := rand.New(rand.NewPCG(seed, 7))
	n := int(seconds * rate)
	x := make([]int16, n)
	syl := rate/5 + int(seed%4)*rate/50
	var f1, f2 float64
	phase := 0.0
	for i := range x {
		if i%syl == 0 {
			f1, f2 = 300+500*rng.Float64(), 900+1600*rng.Float64()
		}
		t := float64(i) / rate
		f0 := 120 + 15*math.Sin(2*math.Pi*1.3*t)
		phase += 2 * math.Pi * f0 / rate
		var v float64
		for h := 2; float64(h)*f0 < 3400; h++ { // telephone band
			f := float64(h) * f0
			v += (1/(1+math.Pow((f-f1)/120, 2)) + 0.6/(1+math.Pow((f-f2)/180, 2)) + 0.02) * math.Sin(float64(h)*phase)
		}
		env := math.Pow(math.Sin(math.Pi*float64(i%syl)/float64(syl)), 2)
		if (i/syl)%7 == 6 {
			env = 0.001
		}
		x[i] = int16(4000 * env * v)
	}
	return x
}

// TestPipelineOnSyntheticSpeech runs the whole chain and checks the bounds
// the issue sets for real speech (with a margin for the synthetic talker
// where noted).
func TestPipelineOnSyntheticSpeech(t *testing.T) {
	x := speechLike(1, 4)
	rep, err := Run(x, Config{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 3 {
		t.Fatalf("%d results, want 3 (0, 1, 5 %% loss)", len(rep.Results))
	}
	for _, r := range rep.Results {
		t.Logf("loss %4.1f%% (%d lost): segSNR %.2f dB (G.711 alone %.2f), SNR %.2f (%.2f), STOI %.4f (%.4f), scrambled %.3f, control %.3f, leak control %.3f",
			100*r.Loss, r.Lost, r.SegSNR, r.SegSNRPlain, r.SNR, r.SNRPlain, r.STOI, r.STOIPlain, r.STOIScrambled, r.STOIControl, r.STOILeak)
		if r.STOIScrambled > r.STOILeak+0.02 {
			t.Errorf("loss %g: scrambled STOI %.3f above the leak control %.3f: the mixing leaks more than the design says", r.Loss, r.STOIScrambled, r.STOILeak)
		}
		if r.STOIScrambled > r.STOIControl+0.05 {
			t.Errorf("loss %g: scrambled STOI %.3f more than 0.05 above the noise control %.3f", r.Loss, r.STOIScrambled, r.STOIControl)
		}
		if r.STOI < r.STOIPlain-0.01 {
			t.Errorf("loss %g: descrambled STOI %.4f below G.711 alone %.4f", r.Loss, r.STOI, r.STOIPlain)
		}
	}
	clean := rep.Results[0]
	if clean.Lost != 0 || clean.STOI < 0.99 {
		t.Errorf("no loss: %d lost, STOI %.4f, want 0 and >= 0.99", clean.Lost, clean.STOI)
	}
	if d := clean.SegSNRPlain - clean.SegSNR; d > 1 {
		t.Errorf("no loss: segmental SNR %.2f dB, %.2f dB below G.711 alone", clean.SegSNR, d)
	}
	if d := clean.SNRPlain - clean.SNR; d > 1 {
		t.Errorf("no loss: SNR %.2f dB, %.2f dB below G.711 alone", clean.SNR, d)
	}
	lossy := rep.Results[2]
	if lossy.Lost == 0 || lossy.STOI < 0.9 {
		t.Errorf("5%% loss: %d lost, STOI %.4f, want some lost and >= 0.9", lossy.Lost, lossy.STOI)
	}
	// Deterministic.
	again, err := Run(x, Config{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rep.Results, again.Results) {
		t.Error("two runs with the same seed differ")
	}
}

func TestRunRejects(t *testing.T) {
	if _, err := Run(make([]int16, 1000), Config{}); err == nil {
		t.Error("1000 samples accepted")
	}
	if _, err := Run(speechLike(1, 1), Config{Key: []byte("short")}); err == nil {
		t.Error("5-byte key accepted")
	}
	if _, err := Run(speechLike(1, 1), Config{FrameSize: 100}); err == nil {
		t.Error("frame size 100 accepted")
	}
}

func TestLossPattern(t *testing.T) {
	tests := []struct {
		p      float64
		lo, hi int
	}{{0, 0, 0}, {0.01, 50, 150}, {0.05, 400, 600}, {1, 10000, 10000}}
	for _, tt := range tests {
		n := 0
		for _, l := range LossPattern(10000, tt.p, 3) {
			if l {
				n++
			}
		}
		if n < tt.lo || n > tt.hi {
			t.Errorf("p=%g: %d of 10000 lost, want %d..%d", tt.p, n, tt.lo, tt.hi)
		}
	}
	if !slices.Equal(LossPattern(500, 0.1, 9), LossPattern(500, 0.1, 9)) {
		t.Error("same seed, different pattern")
	}
}

func TestConceal(t *testing.T) {
	tests := []struct {
		name string
		c    Concealment
		lost []bool
		want []int16
	}{
		{"repeat", Repeat, []bool{false, true, true, false}, []int16{1, 1, 1, 1, 1, 1, 4, 4}},
		{"repeat first frame is silence", Repeat, []bool{true, false, false, false}, []int16{0, 0, 2, 2, 3, 3, 4, 4}},
		{"zero", Zero, []bool{false, true, false, true}, []int16{1, 1, 0, 0, 3, 3, 0, 0}},
	}
	for _, tt := range tests {
		x := []int16{1, 1, 2, 2, 3, 3, 4, 4}
		conceal(x, tt.lost, 2, tt.c)
		if !slices.Equal(x, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, x, tt.want)
		}
	}
	for _, s := range []string{"repeat", "zero"} {
		c, err := ParseConcealment(s)
		if err != nil || c.String() != s {
			t.Errorf("ParseConcealment(%q) = %v, %v", s, c, err)
		}
	}
	if _, err := ParseConcealment("plc"); err == nil {
		t.Error("unknown concealment accepted")
	}
}

func TestSegmentalSNR(t *testing.T) {
	x := speechLike(2, 1)
	half := make([]int16, len(x)) // y = x/2: error x/2, SNR 6.02 dB in every frame
	for i, v := range x {
		half[i] = v - v/2
	}
	tests := []struct {
		name   string
		y      []int16
		lo, hi float64
	}{
		{"identical (clamped to 35 dB)", x, 35, 35},
		{"silence: error equals signal", make([]int16, len(x)), 0, 0},
		{"half amplitude", half, 5.9, 6.2},
		{"inverted: error twice the signal", negate(x), -6.1, -5.9},
	}
	for _, tt := range tests {
		got := SegmentalSNR(x, tt.y, 160)
		if got < tt.lo || got > tt.hi {
			t.Errorf("%s: %.3f dB, want %.2f..%.2f", tt.name, got, tt.lo, tt.hi)
		}
	}
}

func negate(x []int16) []int16 {
	y := make([]int16, len(x))
	for i, v := range x {
		y[i] = -max(v, -32767)
	}
	return y
}

func TestNoiseControlKeepsFrameEnergy(t *testing.T) {
	x := speechLike(3, 1)
	c := NoiseControl(x, 160, 1)
	for f := 0; f < len(x)/160; f++ {
		var ex, ec float64
		for i := f * 160; i < (f+1)*160; i++ {
			ex += float64(x[i]) * float64(x[i])
			ec += float64(c[i]) * float64(c[i])
		}
		if ex > 1e6 && math.Abs(10*math.Log10(ec/ex)) > 0.1 {
			t.Fatalf("frame %d: control energy off by %.2f dB", f, 10*math.Log10(ec/ex))
		}
	}
	if SNR(x, c) > 1 {
		t.Error("control correlates with the original")
	}
}

func TestWriteSpectrograms(t *testing.T) {
	rep, err := Run(speechLike(4, 1.5), Config{LossRates: []float64{0}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	paths, err := rep.WriteSpectrograms(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"original.png", "scrambled.png", "descrambled.png", "figure.png"}
	if len(paths) != len(want) {
		t.Fatalf("wrote %v", paths)
	}
	for i, p := range paths {
		if filepath.Base(p) != want[i] {
			t.Errorf("path %d %s, want %s", i, p, want[i])
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) || len(b) < 5000 {
			t.Errorf("%s: not a PNG figure (%d bytes)", p, len(b))
		}
	}
}

// TestSpectrogramShowsScrambling: a spectrogram keeps a tone's line; after
// scrambling the energy is spread over the voice band.
func TestSpectrogramShowsScrambling(t *testing.T) {
	x := make([]int16, 8000)
	for i := range x {
		x[i] = int16(8000 * math.Sin(2*math.Pi*1000*float64(i)/8000))
	}
	rep, err := Run(x, Config{LossRates: []float64{0}})
	if err != nil {
		t.Fatal(err)
	}
	peakShare := func(y []int16) float64 {
		s := NewSpectrogram(y, 8000)
		var at, total float64
		for _, row := range s.Power {
			for k, v := range row {
				p := math.Pow(10, v/10)
				total += p
				if k >= 30 && k <= 34 { // 1 kHz is bin 32
					at += p
				}
			}
		}
		return at / total
	}
	orig, scr := peakShare(x), peakShare(rep.Scrambled)
	t.Logf("share of energy within 1 kHz +- 2 bins: original %.3f, scrambled %.3f", orig, scr)
	if orig < 0.9 || scr > 0.2 {
		t.Errorf("1 kHz share original %.3f (want >= 0.9), scrambled %.3f (want <= 0.2)", orig, scr)
	}
}

// TestLeakControl: the leak control keeps each frame's energy and mean and
// is otherwise unrelated to the original.
func TestLeakControl(t *testing.T) {
	x := speechLike(5, 1)
	c := LeakControl(x, 160, 1)
	for f := 0; f < len(x)/160; f++ {
		var ex, ec, mx, mc float64
		for i := f * 160; i < (f+1)*160; i++ {
			ex += float64(x[i]) * float64(x[i])
			ec += float64(c[i]) * float64(c[i])
			mx += float64(x[i])
			mc += float64(c[i])
		}
		if ex > 1e6 && math.Abs(10*math.Log10(ec/ex)) > 0.1 {
			t.Fatalf("frame %d: energy off by %.2f dB", f, 10*math.Log10(ec/ex))
		}
		if math.Abs(mx-mc) > 160 { // sum of the frame: rounding of 160 samples at most
			t.Fatalf("frame %d: mean %.1f became %.1f", f, mx/160, mc/160)
		}
	}
	if SNR(x, c) > 1 {
		t.Error("leak control correlates with the original")
	}
}
