package scramble

import (
	"math"
	"math/rand/v2"
)

// This file holds the test signals and the measures the tests use. Floating
// point is fine here: none of it feeds the golden vectors.

// vowels are (F1, F2, F3) formant frequencies in Hz of five vowels.
var vowels = [][3]float64{
	{730, 1090, 2440}, // a
	{270, 2290, 3010}, // i
	{300, 870, 2240},  // u
	{530, 1840, 2480}, // e
	{570, 840, 2410},  // o
}

// biquad is a second-order IIR section (RBJ audio EQ cookbook).
type biquad struct{ b0, b1, b2, a1, a2, x1, x2, y1, y2 float64 }

func newBiquad(highpass bool, f0, q float64) *biquad {
	w := 2 * math.Pi * f0 / SampleRate
	alpha := math.Sin(w) / (2 * q)
	cw := math.Cos(w)
	a0 := 1 + alpha
	bq := &biquad{a1: -2 * cw / a0, a2: (1 - alpha) / a0}
	if highpass {
		bq.b0, bq.b1, bq.b2 = (1+cw)/2/a0, -(1+cw)/a0, (1+cw)/2/a0
	} else {
		bq.b0, bq.b1, bq.b2 = (1-cw)/2/a0, (1-cw)/a0, (1-cw)/2/a0
	}
	return bq
}

func (f *biquad) step(x float64) float64 {
	y := f.b0*x + f.b1*f.x1 + f.b2*f.x2 - f.a1*f.y1 - f.a2*f.y2
	f.x2, f.x1, f.y2, f.y1 = f.x1, x, f.y1, y
	return y
}

// resonator is a two-pole formant filter with unit gain at DC scaled out.
type resonator struct{ y1, y2 float64 }

func (r *resonator) step(x, freq, bw float64) float64 {
	rad := math.Exp(-math.Pi * bw / SampleRate)
	c := 2 * rad * math.Cos(2*math.Pi*freq/SampleRate)
	y := (1-rad)*x + c*r.y1 - rad*rad*r.y2
	r.y2, r.y1 = r.y1, y
	return y
}

// speechLike returns n samples of a deterministic speech-like signal:
// syllables of 150-300 ms, mostly voiced (a pulse train with gliding
// pitch through three gliding formants), some fricatives (noise through a
// high formant) and pauses, with a syllabic loudness envelope, peaking at
// -6 dBFS, high-passed at 60 Hz as microphones are. With telephone set it is band-limited to 300-3400 Hz as a
// handset and the telephone network do.
func speechLike(seed uint64, n int, telephone bool) []int16 {
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	out := make([]float64, n)
	var res [3]resonator
	var glottal1, glottal2 float64
	cur := vowels[0]
	f0 := 120.0
	phase := 0.0
	i := 0
	for i < n {
		segLen := int((0.15 + 0.15*rng.Float64()) * SampleRate)
		kind := rng.IntN(10) // 0: pause, 1-2: fricative, else voiced
		target := vowels[rng.IntN(len(vowels))]
		f0Target := 90 + 130*rng.Float64()
		start := cur
		for j := 0; j < segLen && i < n; j, i = j+1, i+1 {
			pos := float64(j) / float64(segLen)
			env := math.Sin(math.Pi * pos)
			var form [3]float64
			for k := range form {
				form[k] = start[k] + (target[k]-start[k])*math.Min(1, 3*pos)
			}
			var v float64
			switch {
			case kind == 0:
				v = 0
			case kind <= 2:
				v = 0.3 * env * res[2].step(rng.NormFloat64(), 2800+400*rng.Float64(), 600)
			default:
				f := f0 + (f0Target-f0)*pos
				phase += f / SampleRate
				pulse := 0.0
				if phase >= 1 {
					phase--
					pulse = 1
				}
				// Two one-pole low-passes give the glottal spectral tilt.
				glottal1 = 0.9*glottal1 + pulse
				glottal2 = 0.9*glottal2 + glottal1
				x := glottal2 + 0.05*rng.NormFloat64()
				x = res[0].step(x, form[0], 90)
				x = res[1].step(x, form[1], 110) + 0.5*x
				x = res[2].step(x, form[2], 160) + 0.5*x
				v = env * x
			}
			out[i] = v
		}
		cur = target
		if kind > 2 {
			f0 = f0Target
		}
	}
	// Every microphone path blocks DC and rumble; a real one has no DC.
	dc := newBiquad(true, 60, 0.707)
	for i, v := range out {
		out[i] = dc.step(v)
	}
	if telephone {
		hp1, hp2 := newBiquad(true, 300, 0.707), newBiquad(true, 300, 0.707)
		lp1, lp2 := newBiquad(false, 3400, 0.707), newBiquad(false, 3400, 0.707)
		for i, v := range out {
			out[i] = lp2.step(lp1.step(hp2.step(hp1.step(v))))
		}
	}
	peak := 0.0
	for _, v := range out {
		peak = math.Max(peak, math.Abs(v))
	}
	pcm := make([]int16, n)
	if peak == 0 {
		return pcm
	}
	for i, v := range out {
		pcm[i] = int16(math.Round(v / peak * 16384))
	}
	return pcm
}

// energy returns the sum of squares of x.
func energy(x []int16) float64 {
	var e float64
	for _, v := range x {
		e += float64(v) * float64(v)
	}
	return e
}

// snrDB returns 10*log10(|ref|^2 / |ref-got|^2), +Inf when equal.
func snrDB(ref, got []int16) float64 {
	var noise float64
	for i := range ref {
		d := float64(ref[i]) - float64(got[i])
		noise += d * d
	}
	return 10 * math.Log10(energy(ref)/noise)
}

// ncc returns the normalised cross-correlation of a and b at lag 0.
func ncc(a, b []int16) float64 {
	var ab float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
	}
	return ab / math.Sqrt(energy(a)*energy(b))
}

// bandEnvelope returns the log energies of bands equal-width sub-bands of
// 300-3400 Hz of one frame (Hann window, plain DFT).
func bandEnvelope(frame []int16, bands int) []float64 {
	n := len(frame)
	env := make([]float64, bands)
	width := float64(VoiceBandHi-VoiceBandLo) / float64(bands)
	for bin := 0; bin <= n/2; bin++ {
		f := float64(bin) * SampleRate / float64(n)
		if f < VoiceBandLo || f >= VoiceBandHi {
			continue
		}
		var re, im float64
		for t, v := range frame {
			w := 0.5 - 0.5*math.Cos(2*math.Pi*float64(t)/float64(n))
			a := 2 * math.Pi * float64(bin*t) / float64(n)
			re += w * float64(v) * math.Cos(a)
			im -= w * float64(v) * math.Sin(a)
		}
		env[int((f-VoiceBandLo)/width)] += re*re + im*im
	}
	for i := range env {
		env[i] = math.Log10(env[i] + 1)
	}
	return env
}

// pearson returns the correlation coefficient of a and b.
func pearson(a, b []float64) float64 {
	var ma, mb float64
	for i := range a {
		ma += a[i]
		mb += b[i]
	}
	ma /= float64(len(a))
	mb /= float64(len(b))
	var sab, saa, sbb float64
	for i := range a {
		sab += (a[i] - ma) * (b[i] - mb)
		saa += (a[i] - ma) * (a[i] - ma)
		sbb += (b[i] - mb) * (b[i] - mb)
	}
	if saa == 0 || sbb == 0 {
		return 0
	}
	return sab / math.Sqrt(saa*sbb)
}

// envelopeCorrelation returns the mean, over frames of orig louder than
// -50 dBFS, of the correlation between the voice-band spectral envelopes
// of orig and other frame by frame.
func envelopeCorrelation(orig, other []int16, n int) float64 {
	var sum float64
	var frames int
	for i := 0; i+n <= len(orig); i += n {
		if energy(orig[i:i+n])/float64(n) < 32768*32768*1e-5 {
			continue
		}
		sum += pearson(bandEnvelope(orig[i:i+n], 16), bandEnvelope(other[i:i+n], 16))
		frames++
	}
	return sum / float64(frames)
}

// mulaw is a G.711 mu-law encode and decode (the Sun reference algorithm),
// the distortion the scrambled signal meets on a PCMU call.
func mulaw(x int16) int16 {
	const bias, clip = 0x84, 32635
	v := int(x)
	sign := 0
	if v < 0 {
		v, sign = -v, 0x80
	}
	v = min(v, clip) + bias
	exp := 7
	for mask := 0x4000; v&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	mant := (v >> (exp + 3)) & 0x0f
	code := ^(sign | exp<<4 | mant) & 0xff
	// decode
	code = ^code & 0xff
	t := ((code&0x0f)<<3 + bias) << ((code & 0x70) >> 4)
	if code&0x80 != 0 {
		return int16(bias - t)
	}
	return int16(t - bias)
}

// frameRun applies f to every whole frame of x (frame numbers from first)
// and returns the result.
func frameRun(x []int16, n int, first uint64, f func(dst, src []int16, frame uint64) error) ([]int16, error) {
	out := make([]int16, len(x))
	for i := 0; i+n <= len(x); i += n {
		if err := f(out[i:i+n], x[i:i+n], first+uint64(i/n)); err != nil {
			return nil, err
		}
	}
	return out, nil
}
