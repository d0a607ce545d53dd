// Package stoi computes the Short-Time Objective Intelligibility measure
// (STOI) of C. H. Taal, R. C. Hendriks, R. Heusdens, J. Jensen, "An
// Algorithm for Intelligibility Prediction of Time-Frequency Weighted Noisy
// Speech", IEEE Trans. Audio, Speech, Lang. Process. 19(7), 2011.
//
// STOI compares a clean reference x with a processed signal y and returns
// a number that rises monotonically with the intelligibility of y (about 1
// for y = x; around 0 to 0.3 for signals that share no short-time
// envelope with x). The steps, as in the paper and its reference code
// (and the widely used pystoi port), are:
//
//  1. Resample both signals to 10 kHz (Taal's rate). hushbox's audio is
//     8 kHz; it is resampled by a rational polyphase filter (windowed sinc,
//     Kaiser beta 8, 16 input samples each side, cutoff at the lower
//     Nyquist frequency). The original code uses MATLAB's resample; the
//     two differ only in the filter's transition band, above 3.6 kHz, where
//     telephone speech has no energy. No band of STOI lies above 4.3 kHz,
//     so an 8 kHz signal loses nothing STOI looks at.
//  2. Remove silent frames: 256-sample frames (25.6 ms) with 50 % overlap,
//     Hann window (numpy hanning(258)[1:-1]); frames of x more than 40 dB
//     below the loudest frame of x are dropped from both signals, and the
//     rest are overlap-added back.
//  3. Short-time DFT: the same window and hop, zero-padded to 512 points.
//  4. One-third octave bands: 15 bands, centres 150 * 2^(k/3) Hz
//     (150 Hz to about 3.8 kHz), edges 150 * 2^((2k-1)/6) and
//     150 * 2^((2k+1)/6) Hz rounded to the nearest DFT bin; the band value
//     is the root of the summed power of its bins.
//  5. Segments of N = 30 frames (384 ms), one ending at every frame. In
//     each band of each segment, y's envelope is scaled to x's energy and
//     clipped to at most x * (1 + 10^(15/20)) (a signal-to-distortion
//     floor of beta = -15 dB), then correlated with x's envelope
//     (Pearson correlation, means removed).
//  6. STOI is the mean of those correlations over bands and segments.
//
// Inputs are compared sample for sample, so they must have the same rate
// and length and be time aligned.
package stoi

import (
	"errors"
	"fmt"
	"math"

	"hushbox/audio/fft"
)

// Parameters of Taal et al. 2011.
const (
	Rate      = 10000 // Hz, the rate STOI works at
	frameLen  = 256   // samples per frame (25.6 ms)
	hop       = frameLen / 2
	nfft      = 512
	numBands  = 15
	minFreq   = 150.0 // Hz, centre of the first band
	segFrames = 30    // frames per segment (384 ms)
	beta      = -15.0 // dB, lower signal-to-distortion bound
	dynRange  = 40.0  // dB, silent frame threshold
)

// eps is numpy's float64 epsilon, added where the reference code adds it.
const eps = 2.220446049250313e-16

// Errors returned (wrapped).
var (
	ErrLength   = errors.New("signals differ in length")
	ErrTooShort = errors.New("signal too short for STOI (needs 384 ms of non-silent speech)")
	ErrSilent   = errors.New("clean signal is silent")
)

// PCM computes STOI of 16-bit signals sampled at rate.
func PCM(clean, processed []int16, rate int) (float64, error) {
	return Compute(toFloat(clean), toFloat(processed), rate)
}

func toFloat(x []int16) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v) / 32768
	}
	return out
}

// Compute computes STOI of clean x and processed y, both sampled at rate.
func Compute(x, y []float64, rate int) (float64, error) {
	if len(x) != len(y) {
		return 0, fmt.Errorf("stoi: %d and %d samples: %w", len(x), len(y), ErrLength)
	}
	if rate <= 0 {
		return 0, fmt.Errorf("stoi: sample rate %d", rate)
	}
	if norm(x) == 0 {
		return 0, fmt.Errorf("stoi: %w", ErrSilent)
	}
	if rate != Rate {
		x, y = Resample(x, rate, Rate), Resample(y, rate, Rate)
	}
	x, y = removeSilentFrames(x, y)
	xs, ys := bandEnvelopes(x), bandEnvelopes(y)
	frames := len(xs)
	if frames < segFrames {
		return 0, fmt.Errorf("stoi: %d frames after silence removal: %w", frames, ErrTooShort)
	}
	clip := 1 + math.Pow(10, -beta/20)
	var sum float64
	count := 0
	xseg := make([]float64, segFrames)
	yseg := make([]float64, segFrames)
	for m := segFrames; m <= frames; m++ {
		for b := range numBands {
			for i := range segFrames {
				xseg[i] = xs[m-segFrames+i][b]
				yseg[i] = ys[m-segFrames+i][b]
			}
			sum += segmentCorrelation(xseg, yseg, clip)
			count++
		}
	}
	return sum / float64(count), nil
}

// segmentCorrelation is step 5 for one band of one segment (y is
// overwritten).
func segmentCorrelation(x, y []float64, clip float64) float64 {
	alpha := norm(x) / (norm(y) + eps)
	for i := range y {
		y[i] = math.Min(y[i]*alpha, x[i]*clip)
	}
	mx, my := mean(x), mean(y)
	var xy, xx, yy float64
	for i := range x {
		a, b := x[i]-mx, y[i]-my
		xy += a * b
		xx += a * a
		yy += b * b
	}
	return xy / ((math.Sqrt(xx) + eps) * (math.Sqrt(yy) + eps))
}

func norm(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
}

func mean(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// hann is numpy.hanning(frameLen+2)[1:-1], the window of the reference code.
var hann = func() []float64 {
	w := make([]float64, frameLen)
	for i := range w {
		w[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i+1)/float64(frameLen+1))
	}
	return w
}()

// frameStarts returns the frame offsets of the reference code:
// range(0, len - frameLen, hop).
func frameStarts(n int) []int {
	var s []int
	for i := 0; i < n-frameLen; i += hop {
		s = append(s, i)
	}
	return s
}

// removeSilentFrames is step 2.
func removeSilentFrames(x, y []float64) ([]float64, []float64) {
	starts := frameStarts(len(x))
	energy := make([]float64, len(starts))
	maxE := math.Inf(-1)
	for f, s := range starts {
		var e float64
		for i := range frameLen {
			v := hann[i] * x[s+i]
			e += v * v
		}
		energy[f] = 20 * math.Log10(math.Sqrt(e)+eps)
		maxE = math.Max(maxE, energy[f])
	}
	var kept []int
	for f, s := range starts {
		if maxE-dynRange-energy[f] < 0 {
			kept = append(kept, s)
		}
	}
	if len(kept) == 0 {
		return nil, nil
	}
	n := (len(kept)-1)*hop + frameLen
	xo, yo := make([]float64, n), make([]float64, n)
	for k, s := range kept {
		for i := range frameLen {
			xo[k*hop+i] += hann[i] * x[s+i]
			yo[k*hop+i] += hann[i] * y[s+i]
		}
	}
	return xo, yo
}

// bands holds the DFT bins [lo, hi) of each one-third octave band.
var bands = func() [numBands][2]int {
	var b [numBands][2]int
	nearest := func(freq float64) int {
		best, bestD := 0, math.Inf(1)
		for i := 0; i <= nfft/2; i++ {
			d := float64(i)*Rate/nfft - freq
			if d*d < bestD {
				best, bestD = i, d*d
			}
		}
		return best
	}
	for k := range numBands {
		b[k][0] = nearest(minFreq * math.Pow(2, float64(2*k-1)/6))
		b[k][1] = nearest(minFreq * math.Pow(2, float64(2*k+1)/6))
	}
	return b
}()

// bandEnvelopes is steps 3 and 4: per frame, the 15 band magnitudes.
func bandEnvelopes(x []float64) [][numBands]float64 {
	starts := frameStarts(len(x))
	out := make([][numBands]float64, len(starts))
	re := make([]float64, nfft)
	im := make([]float64, nfft)
	for f, s := range starts {
		clear(re)
		clear(im)
		for i := range frameLen {
			re[i] = hann[i] * x[s+i]
		}
		fft.Transform(re, im)
		for k, b := range bands {
			var p float64
			for i := b[0]; i < b[1]; i++ {
				p += re[i]*re[i] + im[i]*im[i]
			}
			out[f][k] = math.Sqrt(p)
		}
	}
	return out
}
