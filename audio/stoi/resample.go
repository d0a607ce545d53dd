package stoi

import "math"

// Resample converts x from rate `from` to rate `to` with a rational
// polyphase filter: upsample by L, low-pass, downsample by M, where
// L/M = to/from in lowest terms. The filter is a Kaiser-windowed sinc
// (beta 8) with 16 zero crossings of the lower rate on each side and its
// cutoff at the lower of the two Nyquist frequencies. The output has
// floor(len(x) * L / M) samples and no delay.
func Resample(x []float64, from, to int) []float64 {
	if from == to {
		return append([]float64(nil), x...)
	}
	g := gcd(from, to)
	l, m := to/g, from/g
	fc := 0.5 / float64(max(l, m)) // cutoff, cycles per upsampled sample
	const zeros = 16
	half := int(math.Ceil(zeros / (2 * fc)))
	h := make([]float64, 2*half+1)
	const beta = 8.0
	i0b := besselI0(beta)
	for k := -half; k <= half; k++ {
		t := float64(k)
		s := 2 * fc
		if k != 0 {
			s = math.Sin(2*math.Pi*fc*t) / (math.Pi * t)
		}
		r := t / float64(half)
		w := besselI0(beta*math.Sqrt(1-r*r)) / i0b
		h[k+half] = float64(l) * s * w
	}
	n := len(x) * l / m
	y := make([]float64, n)
	for o := range y {
		t := o * m // position on the upsampled grid
		// input samples i with |t - i*l| <= half
		lo := (t - half + l - 1) / l
		if t-half < 0 {
			lo = 0
		}
		hi := (t + half) / l
		if hi >= len(x) {
			hi = len(x) - 1
		}
		var acc float64
		for i := lo; i <= hi; i++ {
			acc += x[i] * h[t-i*l+half]
		}
		y[o] = acc
	}
	return y
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// besselI0 is the modified Bessel function of the first kind, order 0.
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 50; k++ {
		term *= (x / (2 * float64(k))) * (x / (2 * float64(k)))
		sum += term
		if term < sum*1e-17 {
			break
		}
	}
	return sum
}
