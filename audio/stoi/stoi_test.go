package stoi

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// speechLike returns seconds of a synthetic talker at rate: a harmonic
// source (f0 near 120 Hz) shaped by two formants that jump every syllable
// (200 ms), with a syllabic amplitude envelope and short pauses: the
// spectro-temporal modulation STOI measures.
func speechLike(seed uint64, seconds float64, rate int) []float64 {
	rng := rand.New(rand.NewPCG(seed, 7))
	n := int(seconds * float64(rate))
	x := make([]float64, n)
	syl := rate/5 + int(seed%4)*rate/50 // 200 ms syllables, longer for other seeds
	var f1, f2 float64
	phase := 0.0
	for i := range x {
		if i%syl == 0 {
			f1, f2 = 300+500*rng.Float64(), 900+1600*rng.Float64()
		}
		t := float64(i) / float64(rate)
		f0 := 120 + 15*math.Sin(2*math.Pi*1.3*t)
		phase += 2 * math.Pi * f0 / float64(rate)
		var v float64
		for h := 1; float64(h)*f0 < 3800; h++ {
			f := float64(h) * f0
			g := 1/(1+math.Pow((f-f1)/120, 2)) + 0.6/(1+math.Pow((f-f2)/180, 2)) + 0.02
			v += g * math.Sin(float64(h)*phase)
		}
		pos := float64(i%syl) / float64(syl)
		env := math.Pow(math.Sin(math.Pi*pos), 2)
		if (i/syl)%7 == 6 {
			env = 0.001 // a pause
		}
		x[i] = 0.1 * env * v
	}
	return x
}

func whiteNoise(seed uint64, n int, rms float64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 9))
	x := make([]float64, n)
	for i := range x {
		x[i] = rms * rng.NormFloat64()
	}
	return x
}

func rms(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v * v
	}
	return math.Sqrt(s / float64(len(x)))
}

func TestKnownProperties(t *testing.T) {
	for _, rate := range []int{8000, 10000} {
		x := speechLike(1, 3, rate)
		noise := whiteNoise(2, len(x), rms(x))
		scaled := make([]float64, len(x))
		noisy := func(snrDB float64) []float64 {
			g := math.Pow(10, -snrDB/20)
			y := make([]float64, len(x))
			for i := range y {
				y[i] = x[i] + g*noise[i]
			}
			return y
		}
		for i, v := range x {
			scaled[i] = 0.25 * v
		}
		tests := []struct {
			name   string
			y      []float64
			lo, hi float64
		}{
			{"identical", x, 0.999, 1.0001},
			{"scaled by -12 dB", scaled, 0.999, 1.0001},
			{"noise +20 dB SNR", noisy(20), 0.9, 1},
			{"white noise only", noise, -0.2, 0.45}, // the clipping correlates noise with the envelope
			{"other talker", speechLike(3, 3, rate), -0.2, 0.5},
		}
		for _, tt := range tests {
			got, err := Compute(x, tt.y, rate)
			if err != nil {
				t.Fatalf("rate %d %s: %v", rate, tt.name, err)
			}
			t.Logf("rate %d %s: STOI %.3f", rate, tt.name, got)
			if got < tt.lo || got > tt.hi {
				t.Errorf("rate %d %s: STOI %.3f, want in [%.2f, %.2f]", rate, tt.name, got, tt.lo, tt.hi)
			}
		}
		// More noise, less intelligibility: strictly decreasing.
		prev := 2.0
		for _, snr := range []float64{30, 10, 0, -10} {
			got, err := Compute(x, noisy(snr), rate)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("rate %d SNR %+.0f dB: STOI %.3f", rate, snr, got)
			if got >= prev {
				t.Errorf("rate %d: STOI %.3f at %+.0f dB SNR not below %.3f at the previous SNR", rate, got, snr, prev)
			}
			prev = got
		}
	}
}

func TestPCMMatchesCompute(t *testing.T) {
	x := speechLike(4, 2, 8000)
	a := make([]int16, len(x))
	b := make([]int16, len(x))
	for i, v := range x {
		a[i] = int16(v * 32768)
		b[i] = int16(v * 32768 / 2)
	}
	got, err := PCM(a, b, 8000)
	if err != nil {
		t.Fatal(err)
	}
	if got < 0.999 {
		t.Errorf("STOI of a signal and its half %.4f, want ~1", got)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		x, y []float64
		want error
	}{
		{"length mismatch", make([]float64, 100), make([]float64, 99), ErrLength},
		{"too short", speechLike(1, 0.2, 10000), speechLike(1, 0.2, 10000), ErrTooShort},
		{"silence", make([]float64, 20000), make([]float64, 20000), ErrSilent},
		{"empty", nil, nil, ErrSilent},
	}
	for _, tt := range tests {
		if _, err := Compute(tt.x, tt.y, 10000); !errors.Is(err, tt.want) {
			t.Errorf("%s: err %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestResample(t *testing.T) {
	tests := []struct {
		from, to int
		hz       float64
	}{{8000, 10000, 1000}, {8000, 10000, 3300}, {10000, 8000, 2000}, {22050, 8000, 440}}
	for _, tt := range tests {
		x := make([]float64, tt.from)
		for i := range x {
			x[i] = math.Sin(2 * math.Pi * tt.hz * float64(i) / float64(tt.from))
		}
		y := Resample(x, tt.from, tt.to)
		if len(y) != tt.to {
			t.Fatalf("%d->%d: %d samples, want %d", tt.from, tt.to, len(y), tt.to)
		}
		var worst float64
		for i := tt.to / 10; i < tt.to*9/10; i++ { // away from the edges
			want := math.Sin(2 * math.Pi * tt.hz * float64(i) / float64(tt.to))
			worst = math.Max(worst, math.Abs(y[i]-want))
		}
		if worst > 2e-3 {
			t.Errorf("%d->%d at %.0f Hz: worst error %.2g", tt.from, tt.to, tt.hz, worst)
		}
	}
}

func TestBands(t *testing.T) {
	// Band edges of the reference implementation at 10 kHz / 512 points.
	if bands[0] != [2]int{7, 9} || bands[numBands-1][1] != 219 {
		t.Errorf("bands %v, want first [7 9) and last ending at bin 219", bands)
	}
	for k := 1; k < numBands; k++ {
		if bands[k][0] != bands[k-1][1] {
			t.Errorf("band %d starts at %d, previous ends at %d", k, bands[k][0], bands[k-1][1])
		}
	}
}

func BenchmarkSTOI3s(b *testing.B) {
	x := speechLike(1, 3, 8000)
	y := whiteNoise(2, len(x), 0.01)
	for i := range y {
		y[i] += x[i]
	}
	for b.Loop() {
		if _, err := Compute(x, y, 8000); err != nil {
			b.Fatal(err)
		}
	}
}
