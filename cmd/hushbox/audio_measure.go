package main

// Measurements of `hushbox audio test`: capture level and the delay and
// similarity between what was played and what was captured.

import "math"

// levelDBFS returns the RMS and peak of x in dB relative to full scale
// (-inf for silence is reported as -120).
func levelDBFS(x []int16) (rms, peak float64) {
	if len(x) == 0 {
		return -120, -120
	}
	var sum float64
	var pk int32
	for _, s := range x {
		v := int32(s)
		sum += float64(v) * float64(v)
		if v < 0 {
			v = -v
		}
		pk = max(pk, v)
	}
	db := func(v float64) float64 {
		if v <= 0 {
			return -120
		}
		return max(-120, 20*math.Log10(v/32768))
	}
	return db(math.Sqrt(sum / float64(len(x)))), db(float64(pk))
}

// bestLag finds the delay d in [0, maxLag] at which y[i+d] is most like
// x[i], and the normalised correlation there (1 = identical up to scale).
// Only the part of x before len(y)-d is compared.
func bestLag(x, y []int16, maxLag int) (lag int, corr float64) {
	corr = math.Inf(-1)
	for d := 0; d <= maxLag && d < len(y); d++ {
		n := min(len(x), len(y)-d)
		var sxy, sxx, syy float64
		for i := range n {
			a, b := float64(x[i]), float64(y[i+d])
			sxy += a * b
			sxx += a * a
			syy += b * b
		}
		c := 0.0
		if sxx > 0 && syy > 0 {
			c = sxy / math.Sqrt(sxx*syy)
		}
		if c > corr {
			lag, corr = d, c
		}
	}
	if math.IsInf(corr, -1) {
		corr = 0
	}
	return lag, corr
}

// sinTurns is sin(2*pi*t).
func sinTurns(t float64) float64 { return math.Sin(2 * math.Pi * t) }
