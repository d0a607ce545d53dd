package voicetest

import (
	"math"
	"math/rand/v2"
)

// Segmental SNR parameters (Hansen and Pellom, "An effective quality
// evaluation protocol for speech enhancement algorithms", ICSLP 1998):
// per-frame SNR clamped to [segMin, segMax] dB, averaged over the frames
// whose original is within segRange dB of the loudest frame (silent frames
// would only measure the noise floor).
const (
	segMin   = -10.0
	segMax   = 35.0
	segRange = 40.0
)

// SegmentalSNR returns the segmental SNR of y against the reference x in
// dB, over frames of n samples.
func SegmentalSNR(x, y []int16, n int) float64 {
	frames := min(len(x), len(y)) / n
	energy := make([]float64, frames)
	maxE := 0.0
	for f := range frames {
		for _, v := range x[f*n : (f+1)*n] {
			energy[f] += float64(v) * float64(v)
		}
		maxE = math.Max(maxE, energy[f])
	}
	var sum float64
	count := 0
	for f := range frames {
		if energy[f] == 0 || 10*math.Log10(maxE/energy[f]) > segRange {
			continue
		}
		var noise float64
		for i := f * n; i < (f+1)*n; i++ {
			d := float64(x[i]) - float64(y[i])
			noise += d * d
		}
		snr := segMax
		if noise > 0 {
			snr = math.Min(segMax, math.Max(segMin, 10*math.Log10(energy[f]/noise)))
		}
		sum += snr
		count++
	}
	if count == 0 {
		return 0
	}
	return sum / float64(count)
}

// SNR returns the whole-signal SNR of y against x in dB (+Inf when equal).
func SNR(x, y []int16) float64 {
	var s, e float64
	for i := range min(len(x), len(y)) {
		d := float64(x[i]) - float64(y[i])
		s += float64(x[i]) * float64(x[i])
		e += d * d
	}
	return 10 * math.Log10(s/e)
}

// NoiseControl returns white Gaussian noise with the frame energies of x
// (frames of n samples): the signal an ideal energy-preserving scrambler
// would produce, which carries exactly what such a scrambler leaks (the
// loudness envelope) and nothing else.
func NoiseControl(x []int16, n int, seed uint64) []int16 {
	rng := rand.New(rand.NewPCG(seed, 0xc0417))
	out := make([]int16, len(x))
	noise := make([]float64, n)
	for f := 0; (f+1)*n <= len(x); f++ {
		var ex, en float64
		for i := range noise {
			noise[i] = rng.NormFloat64()
			en += noise[i] * noise[i]
			v := float64(x[f*n+i])
			ex += v * v
		}
		g := math.Sqrt(ex / en)
		for i, v := range noise {
			out[f*n+i] = int16(math.Max(-32768, math.Min(32767, math.Round(g*v))))
		}
	}
	return out
}

// LeakControl returns noise that carries exactly what the scrambler leaks
// by design and nothing else: per frame of n samples, the frame mean (DCT
// bin 0, not mixed) and the energy of each of the three mixed ranges of
// DCT bins (below 300 Hz, 300-3400 Hz, above 3400 Hz), with random
// Gaussian coefficients inside each range. It is an ideal scrambler of the
// same design; the real one can at best match its STOI.
func LeakControl(x []int16, n int, seed uint64) []int16 {
	rng := rand.New(rand.NewPCG(seed, 0x1eaf))
	out := make([]int16, len(x))
	lo, hi := 3*n/40, 17*n/20 // the voice band of crypto/scramble
	ranges := [][2]int{{1, lo}, {lo, hi}, {hi, n}}
	cos := make([]float64, n*n)
	for k := range n {
		for i := range n {
			cos[k*n+i] = math.Cos(math.Pi * float64((2*i+1)*k) / float64(2*n))
		}
	}
	coef := make([]float64, n)
	for f := 0; (f+1)*n <= len(x); f++ {
		frame := x[f*n : (f+1)*n]
		for k := range coef { // orthonormal DCT-II
			var acc float64
			for i, v := range frame {
				acc += float64(v) * cos[k*n+i]
			}
			coef[k] = acc * math.Sqrt(2/float64(n))
		}
		coef[0] /= math.Sqrt2
		for _, r := range ranges {
			var e, en float64
			noise := coef[r[0]:r[1]]
			for i := range noise {
				e += noise[i] * noise[i]
				noise[i] = rng.NormFloat64()
				en += noise[i] * noise[i]
			}
			g := math.Sqrt(e / en)
			for i := range noise {
				noise[i] *= g
			}
		}
		for i := range frame { // orthonormal DCT-III
			acc := coef[0] / math.Sqrt2
			for k := 1; k < n; k++ {
				acc += coef[k] * cos[k*n+i]
			}
			v := acc * math.Sqrt(2/float64(n))
			out[f*n+i] = int16(math.Max(-32768, math.Min(32767, math.Round(v))))
		}
	}
	return out
}
