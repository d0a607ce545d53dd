package fft

import (
	"math"
	"math/cmplx"
	"testing"
)

// Transform agrees with the textbook DFT.
func TestTransformMatchesDFT(t *testing.T) {
	for _, n := range []int{1, 2, 8, 64} {
		re, im := make([]float64, n), make([]float64, n)
		for i := range re {
			re[i] = math.Sin(float64(i)*0.7) + 0.3*float64(i%3)
			im[i] = math.Cos(float64(i) * 0.2)
		}
		want := make([]complex128, n)
		for k := range want {
			for j := 0; j < n; j++ {
				want[k] += complex(re[j], im[j]) * cmplx.Exp(complex(0, -2*math.Pi*float64(j*k)/float64(n)))
			}
		}
		Transform(re, im)
		for k := range want {
			if cmplx.Abs(complex(re[k], im[k])-want[k]) > 1e-9 {
				t.Fatalf("n=%d bin %d: %v, want %v", n, k, complex(re[k], im[k]), want[k])
			}
		}
	}
}
