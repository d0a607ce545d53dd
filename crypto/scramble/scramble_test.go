package scramble

import (
	"errors"
	"math"
	"slices"
	"testing"
)

var (
	testKeyA = []byte("0123456789abcdef0123456789ABCDEF")
	testKeyB = []byte("hushbox scrambler test key no. 2")
	wrongKey = []byte("0123456789abcdef0123456789ABCDEG")
)

const testSSRC = 0x1234abcd

func mustNew(t testing.TB, key []byte, n int) *Scrambler {
	t.Helper()
	s, err := New(key, n)
	if err != nil {
		t.Fatalf("New(%d-byte key, %d): %v", len(key), n, err)
	}
	return s
}

// scrambleAll scrambles every frame of x with s (ssrc testSSRC, frames
// counted from 0).
func scrambleAll(t testing.TB, s *Scrambler, x []int16) []int16 {
	t.Helper()
	y, err := frameRun(x, s.FrameSize(), 0, func(dst, src []int16, f uint64) error { return s.Scramble(dst, src, testSSRC, f) })
	if err != nil {
		t.Fatal(err)
	}
	return y
}

func descrambleAll(t testing.TB, s *Scrambler, x []int16) []int16 {
	t.Helper()
	y, err := frameRun(x, s.FrameSize(), 0, func(dst, src []int16, f uint64) error { return s.Descramble(dst, src, testSSRC, f) })
	if err != nil {
		t.Fatal(err)
	}
	return y
}

func TestNewRejectsBadArguments(t *testing.T) {
	tests := []struct {
		name    string
		key     []byte
		n       int
		wantErr error
	}{
		{"key A 160", testKeyA, 160, nil},
		{"key B 160", testKeyB, 160, nil},
		{"80", testKeyB, 80, nil},
		{"240", testKeyB, 240, nil},
		{"320", testKeyA, 320, nil},
		{"size 0", testKeyB, 0, ErrFrameSize},
		{"size -160", testKeyB, -160, ErrFrameSize},
		{"size 159", testKeyB, 159, ErrFrameSize},
		{"size 161", testKeyB, 161, ErrFrameSize},
		{"size 480", testKeyB, 480, ErrFrameSize},
		{"nil key", nil, 160, ErrKeySize},
		{"15-byte key", testKeyB[:15], 160, ErrKeySize},
		{"16-byte key (AES-128 before version 3)", testKeyB[:16], 160, ErrKeySize},
		{"24-byte key", testKeyA[:24], 160, ErrKeySize},
		{"33-byte key", append(slices.Clone(testKeyA), 0), 160, ErrKeySize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.key, tt.n)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("New: error %v, want %v", err, tt.wantErr)
			}
			if err == nil && s.FrameSize() != tt.n {
				t.Fatalf("FrameSize %d, want %d", s.FrameSize(), tt.n)
			}
			if err != nil && s != nil {
				t.Fatal("New returned a Scrambler with an error")
			}
		})
	}
}

func TestScrambleRejectsBadLengths(t *testing.T) {
	s := mustNew(t, testKeyB, 160)
	tests := []struct {
		name     string
		src, dst int
	}{
		{"short src", 159, 160},
		{"long src", 161, 160},
		{"short dst", 160, 80},
		{"long dst", 160, 320},
		{"empty", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := make([]int16, tt.src)
			for i := range src {
				src[i] = int16(i * 100)
			}
			dst := make([]int16, tt.dst)
			for _, f := range []func([]int16, []int16, uint32, uint64) error{s.Scramble, s.Descramble} {
				if err := f(dst, src, 1, 1); !errors.Is(err, ErrFrameSize) {
					t.Fatalf("error %v, want ErrFrameSize", err)
				}
				if slices.ContainsFunc(dst, func(v int16) bool { return v != 0 }) {
					t.Fatal("dst written on error")
				}
			}
		})
	}
}

// TestRoundTripSNR measures descramble(scramble(x)) against x on speech:
// directly, and through G.711 mu-law as on a PCMU call.
func TestRoundTripSNR(t *testing.T) {
	for _, n := range frameSizes {
		for _, tel := range []bool{true, false} {
			x := speechLike(uint64(n), 4*SampleRate, tel)
			s := mustNew(t, testKeyB, n)
			y := scrambleAll(t, s, x)
			z := descrambleAll(t, s, y)
			direct := snrDB(x, z)
			coded := make([]int16, len(y))
			for i, v := range y {
				coded[i] = mulaw(v)
			}
			viaG711 := snrDB(x, descrambleAll(t, s, coded))
			plainG711 := make([]int16, len(x))
			for i, v := range x {
				plainG711[i] = mulaw(v)
			}
			t.Logf("N=%d telephone-band=%v: round trip %.1f dB, via mu-law %.1f dB (mu-law alone %.1f dB), scrambled energy ratio %.4f",
				n, tel, direct, viaG711, snrDB(x, plainG711), energy(y)/energy(x))
			if direct < 60 {
				t.Errorf("N=%d: round-trip SNR %.1f dB, want >= 60", n, direct)
			}
			if viaG711 < 30 {
				t.Errorf("N=%d: round-trip SNR through mu-law %.1f dB, want >= 30", n, viaG711)
			}
		}
	}
}

// TestWrongKeyUncorrelated: descrambling with the wrong key, SSRC or frame
// number gives noise that does not correlate with the speech, for
// telephone-band and full-band speech.
func TestWrongKeyUncorrelated(t *testing.T) {
	for _, tel := range []bool{true, false} {
		x := speechLike(7, 4*SampleRate, tel)
		good := mustNew(t, testKeyB, 160)
		y := scrambleAll(t, good, x)
		bad := mustNew(t, wrongKey, 160)
		tests := []struct {
			name string
			got  []int16
		}{
			{"right key (control)", descrambleAll(t, good, y)},
			{"wrong key", descrambleAll(t, bad, y)},
			{"wrong ssrc", must(frameRun(y, 160, 0, func(d, s []int16, f uint64) error { return good.Descramble(d, s, testSSRC+1, f) }))},
			{"frame off by one", must(frameRun(y, 160, 1, func(d, s []int16, f uint64) error { return good.Descramble(d, s, testSSRC, f) }))},
			{"scrambled itself", y},
		}
		for _, tt := range tests {
			c := ncc(x, tt.got)
			t.Logf("telephone-band=%v %s: normalised cross-correlation %.3f", tel, tt.name, c)
			if tt.name == "right key (control)" {
				if c < 0.99 {
					t.Errorf("right key: correlation %.3f, want >= 0.99", c)
				}
				continue
			}
			if math.Abs(c) >= 0.2 {
				t.Errorf("telephone-band=%v %s: correlation %.3f, want |c| < 0.2", tel, tt.name, c)
			}
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestEnergyPreserved checks the documented leak: each frame keeps its
// energy (the scrambler is orthogonal).
func TestEnergyPreserved(t *testing.T) {
	for _, n := range frameSizes {
		x := speechLike(uint64(n)+100, 2*SampleRate, true)
		s := mustNew(t, testKeyA, n)
		y := scrambleAll(t, s, x)
		worst := 0.0
		for i := 0; i+n <= len(x); i += n {
			ex, ey := energy(x[i:i+n]), energy(y[i:i+n])
			if ex == 0 {
				if ey != 0 {
					t.Fatalf("N=%d frame %d: silence scrambled to energy %v", n, i/n, ey)
				}
				continue
			}
			if ex < float64(n)*100 { // below 10 LSB RMS int16 rounding dominates
				continue
			}
			worst = max(worst, math.Abs(10*math.Log10(ey/ex)))
		}
		t.Logf("N=%d: worst per-frame energy change %.4f dB", n, worst)
		if worst > 0.05 {
			t.Errorf("N=%d: per-frame energy changed by %.4f dB, want <= 0.05", n, worst)
		}
	}
}

// TestFrameIndependence: any frame descrambles on its own, in any order, on
// a fresh Scrambler, giving the same bits as in-order processing.
func TestFrameIndependence(t *testing.T) {
	const n, frames = 160, 20
	x := speechLike(3, n*frames, true)
	s := mustNew(t, testKeyB, n)
	y := scrambleAll(t, s, x)
	want := descrambleAll(t, s, y)
	order := []int{7, 19, 0, 3, 3, 12, 1}
	for _, f := range order {
		fresh := mustNew(t, testKeyB, n)
		got := make([]int16, n)
		if err := fresh.Descramble(got, y[f*n:(f+1)*n], testSSRC, uint64(f)); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want[f*n:(f+1)*n]) {
			t.Fatalf("frame %d descrambled alone differs from in-order", f)
		}
		if snr := snrDB(x[f*n:(f+1)*n], got); snr < 40 && energy(x[f*n:(f+1)*n]) > 0 {
			t.Fatalf("frame %d alone: SNR %.1f dB, want >= 40", f, snr)
		}
	}
	// Reverse order on one Scrambler.
	got := make([]int16, len(y))
	for f := frames - 1; f >= 0; f-- {
		if err := s.Descramble(got[f*n:(f+1)*n], y[f*n:(f+1)*n], testSSRC, uint64(f)); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatal("reverse-order descrambling differs from in-order")
	}
}

// TestScrambledIsUnintelligible measures how much of the speech's
// frame-by-frame spectral envelope (formants, what makes it intelligible)
// survives in the scrambled signal, against controls that keep it.
func TestScrambledIsUnintelligible(t *testing.T) {
	for _, n := range frameSizes {
		x := speechLike(uint64(n)+5, 2*SampleRate, true)
		s := mustNew(t, testKeyB, n)
		y := scrambleAll(t, s, x)
		g := make([]int16, len(x))
		for i, v := range x {
			g[i] = mulaw(v)
		}
		self := envelopeCorrelation(x, g, n)
		scr := envelopeCorrelation(x, y, n)
		t.Logf("N=%d: spectral envelope correlation, speech vs scrambled %.3f (speech vs mu-law speech %.3f)", n, scr, self)
		if self < 0.9 {
			t.Errorf("N=%d: control correlation %.3f, want >= 0.9 (measure broken)", n, self)
		}
		if scr > 0.2 {
			t.Errorf("N=%d: scrambled envelope correlation %.3f, want <= 0.2", n, scr)
		}
	}
}

// TestDifferentFramesGetDifferentMixing: the same audio in two frames, or
// under two SSRCs, scrambles differently.
func TestDifferentFramesGetDifferentMixing(t *testing.T) {
	x := speechLike(9, 160*10, true)[160*5 : 160*6]
	s := mustNew(t, testKeyB, 160)
	out := func(ssrc uint32, frame uint64) []int16 {
		y := make([]int16, 160)
		if err := s.Scramble(y, x, ssrc, frame); err != nil {
			t.Fatal(err)
		}
		return y
	}
	base := out(1, 1)
	for _, c := range []struct {
		name  string
		ssrc  uint32
		frame uint64
	}{{"next frame", 1, 2}, {"other ssrc", 2, 1}, {"frame 2^32 apart", 1, 1 + 1<<32}} {
		if corr := ncc(base, out(c.ssrc, c.frame)); math.Abs(corr) > 0.5 {
			t.Errorf("%s: correlation with base %.3f, want unrelated", c.name, corr)
		}
	}
	if !slices.Equal(base, out(1, 1)) {
		t.Error("same (ssrc, frame) gave different output")
	}
}

// TestBandsStayInPlace: a tone is scrambled within its own band (low edge
// below 300 Hz, voice band, high edge above 3400 Hz): its energy stays in
// that band, its waveform does not survive.
func TestBandsStayInPlace(t *testing.T) {
	const n, frames = 160, 100
	tone := func(hz float64) []int16 {
		x := make([]int16, n)
		for i := range x {
			x[i] = int16(math.Round(8000 * math.Sin(2*math.Pi*hz*float64(i)/SampleRate)))
		}
		return x
	}
	s := mustNew(t, testKeyB, n)
	ranges := bandRanges(n)
	tests := []struct {
		hz      float64
		band    int
		maxCorr float64 // RMS correlation; about 1/sqrt(bins) by chance
	}{{100, 0, 0.45}, {1000, 1, 0.15}, {3700, 2, 0.3}}
	for _, tt := range tests {
		x := tone(tt.hz)
		y := make([]int16, n)
		coef := make([]int32, n)
		sc := newScratch(n)
		var sumSq, inBand, total float64
		for f := uint64(0); f < frames; f++ {
			if err := s.Scramble(y, x, 5, f); err != nil {
				t.Fatal(err)
			}
			c := ncc(x, y)
			sumSq += c * c
			s.t.forward(coef, y, &sc)
			for k, v := range coef {
				e := float64(v) * float64(v)
				total += e
				if k >= ranges[tt.band][0] && k < ranges[tt.band][1] {
					inBand += e
				}
			}
		}
		rms := math.Sqrt(sumSq / frames)
		t.Logf("%v Hz tone: RMS correlation with scrambled %.3f, energy kept in its band %.4f", tt.hz, rms, inBand/total)
		if rms > tt.maxCorr {
			t.Errorf("%v Hz: RMS correlation %.3f, want <= %.2f", tt.hz, rms, tt.maxCorr)
		}
		if inBand/total < 0.9 {
			t.Errorf("%v Hz: %.3f of the energy in its band, want >= 0.9", tt.hz, inBand/total)
		}
	}
}

func TestInPlace(t *testing.T) {
	for _, n := range frameSizes {
		x := speechLike(11, n*3, true)[n : 2*n]
		s := mustNew(t, testKeyA, n)
		want := make([]int16, n)
		if err := s.Scramble(want, x, 9, 42); err != nil {
			t.Fatal(err)
		}
		buf := slices.Clone(x)
		if err := s.Scramble(buf, buf, 9, 42); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(buf, want) {
			t.Fatalf("N=%d: in-place Scramble differs", n)
		}
		wantBack := make([]int16, n)
		if err := s.Descramble(wantBack, want, 9, 42); err != nil {
			t.Fatal(err)
		}
		if err := s.Descramble(buf, buf, 9, 42); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(buf, wantBack) {
			t.Fatalf("N=%d: in-place Descramble differs", n)
		}
	}
}

func TestNoAllocations(t *testing.T) {
	s := mustNew(t, testKeyB, 160)
	x := speechLike(1, 160, true)
	y := make([]int16, 160)
	frame := uint64(0)
	if a := testing.AllocsPerRun(100, func() { _ = s.Scramble(y, x, 1, frame); frame++ }); a != 0 {
		t.Errorf("Scramble: %v allocations per frame, want 0", a)
	}
	if a := testing.AllocsPerRun(100, func() { _ = s.Descramble(x, y, 1, frame); frame++ }); a != 0 {
		t.Errorf("Descramble: %v allocations per frame, want 0", a)
	}
}

func TestSaturates(t *testing.T) {
	// Full-scale square-ish input: the scrambled signal may need more than
	// int16; it must clip, not wrap.
	x := make([]int16, 160)
	for i := range x {
		if (i/7)%2 == 0 {
			x[i] = 32767
		} else {
			x[i] = -32768
		}
	}
	s := mustNew(t, testKeyB, 160)
	clipped := 0
	for f := uint64(0); f < 50; f++ {
		y := make([]int16, 160)
		if err := s.Scramble(y, x, 1, f); err != nil {
			t.Fatal(err)
		}
		for _, v := range y {
			if v == 32767 || v == -32768 {
				clipped++
			}
		}
		back := make([]int16, 160)
		if err := s.Descramble(back, y, 1, f); err != nil {
			t.Fatal(err)
		}
		if c := ncc(x, back); c < 0.9 {
			t.Errorf("frame %d: clipped round trip correlation %.3f, want >= 0.9", f, c)
		}
	}
	if clipped == 0 {
		t.Error("full-scale input never reached the int16 limits; saturation not exercised")
	}
}
