// Package fft is the radix-2 complex FFT the audio measurements share
// (STOI's one-third-octave bands, voicetest's spectrograms). It is for
// analysis in float64 only: the scrambler's own transform is fixed-point
// and lives in crypto/scramble.
package fft

import "math"

// Transform computes the FFT of (re, im) in place. len(re) must equal
// len(im) and be a power of two.
func Transform(re, im []float64) {
	n := len(re)
	for i, j := 1, 0; i < n; i++ {
		bit := n >> 1
		for ; j&bit != 0; bit >>= 1 {
			j ^= bit
		}
		j |= bit
		if i < j {
			re[i], re[j] = re[j], re[i]
			im[i], im[j] = im[j], im[i]
		}
	}
	for size := 2; size <= n; size <<= 1 {
		ang := -2 * math.Pi / float64(size)
		for k := 0; k < size/2; k++ {
			wr, wi := math.Cos(ang*float64(k)), math.Sin(ang*float64(k))
			for s := 0; s < n; s += size {
				a, b := s+k, s+k+size/2
				tr := re[b]*wr - im[b]*wi
				ti := re[b]*wi + im[b]*wr
				re[b], im[b] = re[a]-tr, im[a]-ti
				re[a], im[a] = re[a]+tr, im[a]+ti
			}
		}
	}
}
