package scramble

// The fixed-point FFT behind the transforms: an in-place mixed-radix
// decimation-in-time complex FFT of length M = N/2 (40, 80, 120, 160) on
// int64 real and imaginary parts, with the input given in digit-reversed
// order and the output in natural order. docs/scrambler.md section 5.2 is
// its specification; every rounding below is one rshr of an exact int64
// sum, so the bits are the same on every GOARCH.

// twShift is the Q format of every constant the FFT multiplies by (Q15).
const twShift = 15

// stage is one pass of the FFT: radix p combines p sub-transforms of
// length lp into transforms of length L = p*lp. tw holds, for j = 0..lp-1
// and q = 1..p-1, the twiddle W_L^(q*j) = c - i*s as the pair (c, s) at
// tw[2*(j*(p-1)+q-1)], with c = cosq(3840*q*j/L) and s = sinq(3840*q*j/L).
type stage struct {
	p, lp int
	tw    []int64
}

// radixPlan returns the radices of the FFT of length m, in the order they
// are applied: the odd radices first (their stage has no twiddles when it
// is the first), then radix 4 while it divides, then radix 2.
func radixPlan(m int) []int {
	var plan []int
	for _, p := range []int{5, 3} {
		for m%p == 0 {
			plan = append(plan, p)
			m /= p
		}
	}
	for m%4 == 0 {
		plan = append(plan, 4)
		m /= 4
	}
	for m%2 == 0 {
		plan = append(plan, 2)
		m /= 2
	}
	return plan
}

// digitReversal returns perm with perm[i] = the index of the input value
// the FFT expects at position i, for the plan of radices.
func digitReversal(m int, plan []int) []int {
	var order func(off, stride int, plan []int) []int
	order = func(off, stride int, plan []int) []int {
		if len(plan) == 0 {
			return []int{off}
		}
		p := plan[len(plan)-1]
		var out []int
		for q := 0; q < p; q++ {
			out = append(out, order(off+q*stride, stride*p, plan[:len(plan)-1])...)
		}
		return out
	}
	return order(0, 1, plan)
}

// newStages builds the stages of the FFT of length m for plan.
func newStages(m int, plan []int) []stage {
	var st []stage
	lp := 1
	for _, p := range plan {
		l := lp * p
		s := stage{p: p, lp: lp, tw: make([]int64, 0, 2*lp*(p-1))}
		for j := 0; j < lp; j++ {
			for q := 1; q < p; q++ {
				g := cosPeriod * q * j / l // exact: l divides 3840
				s.tw = append(s.tw, int64(cosq(g)), int64(sinq(g)))
			}
		}
		st = append(st, s)
		lp = l
	}
	return st
}

// Radix constants in Q15 (grid indices of 2*pi/5, 4*pi/5 and 2*pi/3).
var (
	c51 = int64(cosq(768))  // cos(2pi/5)
	c52 = int64(cosq(1536)) // cos(4pi/5)
	s51 = int64(sinq(768))  // sin(2pi/5)
	s52 = int64(sinq(1536)) // sin(4pi/5)
	c31 = int64(cosq(1280)) // cos(2pi/3) = -1/2
	s31 = int64(sinq(1280)) // sin(2pi/3)
)

// fft runs the stages in place on (re, im), already in digit-reversed order.
func fft(re, im []int64, stages []stage) {
	for i := range stages {
		st := &stages[i]
		switch st.p {
		case 2:
			radix2(re, im, st)
		case 3:
			radix3(re, im, st)
		case 4:
			radix4(re, im, st)
		case 5:
			radix5(re, im, st)
		}
	}
}

// twiddle returns (a + ib) * (c - is) in the input's Q format:
// (rshr(a*c + b*s, 15), rshr(b*c - a*s, 15)).
func twiddle(a, b, c, s int64) (int64, int64) {
	return roundShift(a*c+b*s, twShift), roundShift(b*c-a*s, twShift)
}

func radix2(re, im []int64, st *stage) {
	lp := st.lp
	re, im = re[:len(re)], im[:len(re)]
	for b := 0; b < len(re); b += 2 * lp {
		for j := 0; j < lp; j++ {
			i0, i1 := b+j, b+j+lp
			tr, ti := twiddle(re[i1], im[i1], st.tw[2*j], st.tw[2*j+1])
			ur, ui := re[i0], im[i0]
			re[i0], im[i0] = ur+tr, ui+ti
			re[i1], im[i1] = ur-tr, ui-ti
		}
	}
}

func radix4(re, im []int64, st *stage) {
	lp := st.lp
	im = im[:len(re)]
	for b := 0; b < len(re); b += 4 * lp {
		for j := 0; j < lp; j++ {
			i0, i1, i2, i3 := b+j, b+j+lp, b+j+2*lp, b+j+3*lp
			tw := st.tw[6*j : 6*j+6]
			a0r, a0i := re[i0], im[i0]
			a1r, a1i := twiddle(re[i1], im[i1], tw[0], tw[1])
			a2r, a2i := twiddle(re[i2], im[i2], tw[2], tw[3])
			a3r, a3i := twiddle(re[i3], im[i3], tw[4], tw[5])
			t0r, t0i := a0r+a2r, a0i+a2i
			t1r, t1i := a0r-a2r, a0i-a2i
			t2r, t2i := a1r+a3r, a1i+a3i
			t3r, t3i := a1i-a3i, a3r-a1r // (a1 - a3) * (-i)
			re[i0], im[i0] = t0r+t2r, t0i+t2i
			re[i1], im[i1] = t1r+t3r, t1i+t3i
			re[i2], im[i2] = t0r-t2r, t0i-t2i
			re[i3], im[i3] = t1r-t3r, t1i-t3i
		}
	}
}

func radix3(re, im []int64, st *stage) {
	lp := st.lp
	im = im[:len(re)]
	for b := 0; b < len(re); b += 3 * lp {
		for j := 0; j < lp; j++ {
			i0, i1, i2 := b+j, b+j+lp, b+j+2*lp
			tw := st.tw[4*j : 4*j+4]
			a0r, a0i := re[i0], im[i0]
			a1r, a1i := twiddle(re[i1], im[i1], tw[0], tw[1])
			a2r, a2i := twiddle(re[i2], im[i2], tw[2], tw[3])
			sr, si := a1r+a2r, a1i+a2i
			dr, di := a1r-a2r, a1i-a2i
			mr, mi := roundShift(c31*sr, twShift), roundShift(c31*si, twShift)
			qr, qi := roundShift(s31*dr, twShift), roundShift(s31*di, twShift)
			re[i0], im[i0] = a0r+sr, a0i+si
			re[i1], im[i1] = a0r+mr+qi, a0i+mi-qr // a0 + m - i*q
			re[i2], im[i2] = a0r+mr-qi, a0i+mi+qr // a0 + m + i*q
		}
	}
}

func radix5(re, im []int64, st *stage) {
	lp := st.lp
	im = im[:len(re)]
	for b := 0; b < len(re); b += 5 * lp {
		for j := 0; j < lp; j++ {
			i0, i1, i2, i3, i4 := b+j, b+j+lp, b+j+2*lp, b+j+3*lp, b+j+4*lp
			a0r, a0i := re[i0], im[i0]
			a1r, a1i := re[i1], im[i1]
			a2r, a2i := re[i2], im[i2]
			a3r, a3i := re[i3], im[i3]
			a4r, a4i := re[i4], im[i4]
			if j > 0 { // W^0 = 1 exactly: the first column needs no twiddle
				tw := st.tw[8*j : 8*j+8]
				a1r, a1i = twiddle(a1r, a1i, tw[0], tw[1])
				a2r, a2i = twiddle(a2r, a2i, tw[2], tw[3])
				a3r, a3i = twiddle(a3r, a3i, tw[4], tw[5])
				a4r, a4i = twiddle(a4r, a4i, tw[6], tw[7])
			}
			s1r, s1i := a1r+a4r, a1i+a4i
			d1r, d1i := a1r-a4r, a1i-a4i
			s2r, s2i := a2r+a3r, a2i+a3i
			d2r, d2i := a2r-a3r, a2i-a3i
			p1r, p1i := roundShift(c51*s1r+c52*s2r, twShift), roundShift(c51*s1i+c52*s2i, twShift)
			p2r, p2i := roundShift(c52*s1r+c51*s2r, twShift), roundShift(c52*s1i+c51*s2i, twShift)
			q1r, q1i := roundShift(s51*d1r+s52*d2r, twShift), roundShift(s51*d1i+s52*d2i, twShift)
			q2r, q2i := roundShift(s52*d1r-s51*d2r, twShift), roundShift(s52*d1i-s51*d2i, twShift)
			re[i0], im[i0] = a0r+s1r+s2r, a0i+s1i+s2i
			re[i1], im[i1] = a0r+p1r+q1i, a0i+p1i-q1r // a0 + p1 - i*q1
			re[i4], im[i4] = a0r+p1r-q1i, a0i+p1i+q1r // a0 + p1 + i*q1
			re[i2], im[i2] = a0r+p2r+q2i, a0i+p2i-q2r // a0 + p2 - i*q2
			re[i3], im[i3] = a0r+p2r-q2i, a0i+p2i+q2r // a0 + p2 + i*q2
		}
	}
}
