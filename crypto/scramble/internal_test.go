package scramble

import (
	"encoding/binary"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"golang.org/x/crypto/chacha20"
)

// TestKeystreamIsChaCha20 checks the key material, made both ways (the
// AEAD's bulk path and the plain cipher), against RFC 8439's block
// function test vector (section 2.3.2: key 00..1f, nonce 00 00 00 09 00 00
// 00 4a 00 00 00 00, counter 1: SSRC 9, frame 0x4a00000000) and against
// golang.org/x/crypto's ChaCha20 from counter 1 for other keys and nonces.
func TestKeystreamIsChaCha20(t *testing.T) {
	rfcKey := make([]byte, 32)
	for i := range rfcKey {
		rfcKey[i] = byte(i)
	}
	rfcBlock, _ := hex.DecodeString("10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e" +
		"d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e")
	tests := []struct {
		key   []byte
		ssrc  uint32
		frame uint64
	}{
		{rfcKey, 9, 0x4a00000000},
		{testKeyB, 0, 0},
		{testKeyB, 0xdeadbeef, 1},
		{testKeyA, 1, 1<<40 + 7},
		{testKeyA, 0xffffffff, math.MaxUint64},
	}
	for _, tt := range tests {
		for _, aead := range []bool{false, true} {
			saved := useAEAD
			useAEAD = aead
			ks, err := newKeystream(tt.key, 1000)
			useAEAD = saved
			if err != nil {
				t.Fatal(err)
			}
			kb := ks.newBuf()
			ks.fill(kb, tt.ssrc, tt.frame)
			nonce := make([]byte, 12)
			binary.BigEndian.PutUint32(nonce, tt.ssrc)
			binary.BigEndian.PutUint64(nonce[4:], tt.frame)
			c, err := chacha20.NewUnauthenticatedCipher(tt.key, nonce)
			if err != nil {
				t.Fatal(err)
			}
			c.SetCounter(1)
			want := make([]byte, len(kb.buf))
			c.XORKeyStream(want, want)
			if !slices.Equal(kb.buf, want) {
				t.Errorf("key %x ssrc %x frame %d aead %v: keystream differs from ChaCha20 from block 1", tt.key[:4], tt.ssrc, tt.frame, aead)
			}
			if tt.ssrc == 9 && !slices.Equal(kb.buf[:64], rfcBlock) {
				t.Errorf("aead %v: first block %x, want RFC 8439's %x", aead, kb.buf[:64], rfcBlock)
			}
			if len(kb.buf) != 1024 {
				t.Errorf("keystream of %d bytes, want 1000 rounded up to 1024", len(kb.buf))
			}
		}
	}
}

// BenchmarkKeystream compares the two ways of making a frame's key
// material on this machine (see keystream).
func BenchmarkKeystream(b *testing.B) {
	for _, aead := range []bool{true, false} {
		name := "aead"
		if !aead {
			name = "chacha20"
		}
		b.Run(name, func(b *testing.B) {
			saved := useAEAD
			useAEAD = aead
			ks, err := newKeystream(testKeyA, 1024)
			useAEAD = saved
			if err != nil {
				b.Fatal(err)
			}
			kb := ks.newBuf()
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				ks.fill(kb, 1, uint64(i))
			}
		})
	}
}

// floatDCT is the unnormalised DCT-II in float64, scaled like forward.
func floatDCT(x []int16) []float64 {
	n := len(x)
	out := make([]float64, n)
	for k := range out {
		for i, v := range x {
			out[k] += float64(v) * math.Cos(math.Pi*float64((2*i+1)*k)/float64(2*n))
		}
		out[k] *= 1 << fracBits
	}
	return out
}

func randomFrame(rng *rand.Rand, n int, amp int) []int16 {
	x := make([]int16, n)
	for i := range x {
		x[i] = int16(rng.IntN(2*amp+1) - amp)
	}
	return x
}

// TestForwardIsDCT compares the fixed-point transform with the real DCT-II.
func TestForwardIsDCT(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range frameSizes {
		tr := transformFor(n)
		sc := newScratch(n)
		x := randomFrame(rng, n, 32767)
		got := make([]int32, n)
		tr.forward(got, x, &sc)
		want := floatDCT(x)
		var errE, sigE float64
		for k := range want {
			d := float64(got[k]) - want[k]
			errE += d * d
			sigE += want[k] * want[k]
		}
		snr := 10 * math.Log10(sigE/errE)
		t.Logf("N=%d: forward transform vs float DCT-II %.1f dB", n, snr)
		if snr < 80 {
			t.Errorf("N=%d: forward transform %.1f dB from the DCT-II, want >= 80", n, snr)
		}
	}
}

// TestTransformRoundTrip: inverse(forward(x)) gives x back to within two
// LSB, including full scale (the Q15 twiddles of the FFT stages).
func TestTransformRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range frameSizes {
		tr := transformFor(n)
		sc := newScratch(n)
		coef := make([]int32, n)
		y := make([]int16, n)
		off := 0
		inputs := [][]int16{randomFrame(rng, n, 32767), randomFrame(rng, n, 100), make([]int16, n)}
		full := make([]int16, n)
		for i := range full {
			full[i] = -32768
		}
		inputs = append(inputs, full)
		for _, x := range inputs {
			tr.forward(coef, x, &sc)
			tr.inverse(y, coef, &sc)
			for i := range x {
				d := int(y[i]) - int(x[i])
				if d < -2 || d > 2 {
					t.Fatalf("N=%d: sample %d: %d back as %d", n, i, x[i], y[i])
				}
				if d != 0 {
					off++
				}
			}
		}
		t.Logf("N=%d: %d of %d samples off by one or two LSB", n, off, len(inputs)*n)
	}
}

// TestMixExactInverse: unmix(mix(v)) == v for every band size and random
// coefficients up to the largest a frame can produce; mix moves energy
// around without changing the total.
func TestMixExactInverse(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range frameSizes {
		for _, r := range bandRanges(n) {
			l := newMixLayout(r[1] - r[0])
			ks := make([]byte, l.bytes)
			for trial := 0; trial < 50; trial++ {
				for i := range ks {
					ks[i] = byte(rng.Uint32())
				}
				v := make([]int32, l.m)
				amp := int32(1 << (4 + rng.IntN(22)))
				for i := range v {
					v[i] = rng.Int32N(2*amp) - amp
				}
				orig := slices.Clone(v)
				l.mix(v, make([]int32, l.m), ks)
				if slices.Equal(v, orig) {
					t.Fatalf("N=%d: mix left the band unchanged", n)
				}
				var e0, e1 float64
				for i := range v {
					e0 += float64(orig[i]) * float64(orig[i])
					e1 += float64(v[i]) * float64(v[i])
				}
				if r := e1 / e0; amp >= 1<<12 && math.Abs(r-1) > 1e-3 {
					t.Fatalf("N=%d amp %d: mix changed energy by factor %v", n, amp, r)
				}
				l.unmix(v, make([]int32, l.m), ks)
				if !slices.Equal(v, orig) {
					t.Fatalf("N=%d: unmix(mix(v)) != v", n)
				}
			}
		}
	}
}

// TestMixSpreads: after the rounds one input coefficient reaches many
// outputs (a bare permutation would reach one).
func TestMixSpreads(t *testing.T) {
	lo, hi := bandLimits(160)
	l := newMixLayout(hi - lo)
	rng := rand.New(rand.NewPCG(7, 8))
	ks := make([]byte, l.bytes)
	total := 0
	const trials = 40
	for trial := 0; trial < trials; trial++ {
		for i := range ks {
			ks[i] = byte(rng.Uint32())
		}
		v := make([]int32, l.m)
		v[rng.IntN(l.m)] = 1 << 20
		l.mix(v, make([]int32, l.m), ks)
		reached := 0
		for _, c := range v {
			if c > 1<<10 || c < -(1<<10) { // at least 1/1024 of the input
				reached++
			}
		}
		total += reached
	}
	avg := float64(total) / trials
	t.Logf("one coefficient spreads to %.1f of %d (max %d)", avg, l.m, 1<<Rounds)
	if avg < 6 {
		t.Errorf("one coefficient spreads to %.1f outputs on average, want >= 6", avg)
	}
}

func TestBandLimits(t *testing.T) {
	tests := []struct{ n, lo, hi int }{{80, 6, 68}, {160, 12, 136}, {240, 18, 204}, {320, 24, 272}}
	for _, tt := range tests {
		lo, hi := bandLimits(tt.n)
		if lo != tt.lo || hi != tt.hi {
			t.Errorf("N=%d: band [%d, %d), want [%d, %d)", tt.n, lo, hi, tt.lo, tt.hi)
		}
		if (hi-lo)%2 != 0 {
			t.Errorf("N=%d: odd band size", tt.n)
		}
	}
}

func TestRoundingHelpers(t *testing.T) {
	tests := []struct {
		name      string
		got, want int64
	}{
		{"roundShift 3/2", roundShift(3, 1), 2},
		{"roundShift -3/2", roundShift(-3, 1), -1},
		{"roundShift 5/4", roundShift(5, 2), 1},
		{"roundShift -6/4", roundShift(-6, 2), -1},
		{"roundShift -7/4", roundShift(-7, 2), -2},
		{"roundDiv 7/2", roundDiv(7, 2), 4},
		{"roundDiv -7/2", roundDiv(-7, 2), -3},
		{"roundDiv -8/10", roundDiv(-8, 10), -1},
		{"roundDiv -5/10", roundDiv(-5, 10), 0},
		{"roundDiv -15/10", roundDiv(-15, 10), -1},
		{"roundDiv 14/10", roundDiv(14, 10), 1},
		{"sat16 high", int64(sat16(40000)), 32767},
		{"sat16 low", int64(sat16(-40000)), -32768},
		{"sat16 mid", int64(sat16(-5)), -5},
		{"mulQ15 half", int64(mulQ15(16384, 3)), 2},
		{"mulQ15 -half", int64(mulQ15(16384, -3)), -1},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %d, want %d", tt.name, tt.got, tt.want)
		}
	}
}

// TestRotateExactInverse: for every angle, unrotate undoes rotate exactly
// and rotate keeps the norm of the pair (to the Q15 table precision). mix
// and unmix use the same three lifting steps written out.
func TestRotateExactInverse(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for a := range angleCount {
		for range 20 {
			x, y := rng.Int32N(1<<26)-1<<25, rng.Int32N(1<<26)-1<<25
			rx, ry := rotate(x, y, byte(a))
			if ux, uy := unrotate(rx, ry, byte(a)); ux != x || uy != y {
				t.Fatalf("angle %d: unrotate(rotate(%d, %d)) = (%d, %d)", a, x, y, ux, uy)
			}
			n0 := math.Hypot(float64(x), float64(y))
			n1 := math.Hypot(float64(rx), float64(ry))
			if math.Abs(n1-n0) > 1e-3*n0+4 {
				t.Fatalf("angle %d: norm %v became %v", a, n0, n1)
			}
		}
	}
}
