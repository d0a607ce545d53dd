package scramble

import "sync"

// Transform constants. Angles of the cosine table are multiples of
// pi/cosGrid; cosGrid = 1920 is the least common multiple of 2N over the
// supported frame sizes, so every angle the transforms use falls on it.
const (
	cosGrid    = 1920         // pi/cosGrid is the table's angle step
	cosQuarter = cosGrid / 2  // index of pi/2 in the table
	cosPeriod  = 2 * cosGrid  // 2*pi in table steps
	fracBits   = 4            // fractional bits of DCT coefficients (Q4)
	fftBits    = 12           // fractional bits of the FFT data (Q12)
	fwdShift   = fftBits + 12 // post-twiddle sum (Q(fftBits+15), doubled) to Q4
	invShift   = 20 - fftBits // pre-twiddle sum (Q(4+15), doubled) to Q(fftBits)
)

// cosAt returns round(2^15 * cos(pi*j/cosGrid)) for j >= 0, from the
// quarter-wave table by exact symmetry.
func cosAt(j int) int32 {
	j %= cosPeriod
	switch {
	case j <= cosQuarter:
		return cosQ15[j]
	case j <= cosGrid:
		return -cosQ15[cosGrid-j]
	case j <= cosGrid+cosQuarter:
		return -cosQ15[j-cosGrid]
	default:
		return cosQ15[cosPeriod-j]
	}
}

// cosq is cosAt for any integer j (negative angles included).
func cosq(j int) int32 {
	j %= cosPeriod
	if j < 0 {
		j += cosPeriod
	}
	return cosAt(j)
}

// sinq returns the Q15 sine on the grid: sin(pi*j/1920) = cos(pi*(j-960)/1920).
func sinq(j int) int32 { return cosq(j - cosQuarter) }

// transform is the fixed-point DCT-II / DCT-III pair for one frame size,
// computed with Makhoul's reordering and a complex FFT of length M = N/2
// (docs/scrambler.md section 5). It is immutable after construction and
// shared by every Scrambler of that size.
type transform struct {
	n, m   int
	stages []stage
	// ldRe[i], ldIm[i]: the samples that form the forward FFT's input at
	// position i (digit-reversed): z[p] = v[2p] + i*v[2p+1] with
	// v[j] = x[2j] (j < M) and v[j] = x[2N-1-2j] (j >= M).
	ldRe, ldIm []uint16
	// outRe[p], outIm[p]: where the inverse writes Re and Im of z[p].
	outRe, outIm []uint16
	// pos[k]: the FFT input position of Z[k] (the inverse of the
	// digit reversal).
	pos []uint16
	// post[4k:4k+4] = (c1r, c1i, c2r, c2i) for k = 0..M: forward
	// post-twiddles c1 = e^(-i*pi*k/(2N)), c2 = -i*e^(-i*5*pi*k/(2N)).
	post []int64
	// pre[4k:4k+4] = (g1r, g1i, g2r, g2i) for k = 0..M-1: inverse
	// pre-twiddles, each the exact sum of two table values (section 5.3).
	pre []int64
}

// vIndex is the sample of x that Makhoul's reordering puts at v[j].
func vIndex(n, j int) int {
	if j < n/2 {
		return 2 * j
	}
	return 2*n - 1 - 2*j
}

// newTransform builds the tables for frame size n (a supported size).
func newTransform(n int) *transform {
	m := n / 2
	plan := radixPlan(m)
	perm := digitReversal(m, plan)
	t := &transform{
		n: n, m: m, stages: newStages(m, plan),
		ldRe: make([]uint16, m), ldIm: make([]uint16, m),
		outRe: make([]uint16, m), outIm: make([]uint16, m),
		pos:  make([]uint16, m),
		post: make([]int64, 4*(m+1)), pre: make([]int64, 4*m),
	}
	for p := 0; p < m; p++ {
		t.outRe[p], t.outIm[p] = uint16(vIndex(n, 2*p)), uint16(vIndex(n, 2*p+1))
	}
	for i, p := range perm {
		t.ldRe[i], t.ldIm[i] = t.outRe[p], t.outIm[p]
		t.pos[p] = uint16(i)
	}
	step := cosQuarter / n // grid steps of pi/(2N): 12, 6, 4, 3
	for k := 0; k <= m; k++ {
		a, b := k*step, 5*k*step
		// c1 = cos(a) - i sin(a); c2 = -i(cos(b) - i sin(b)) = -sin(b) - i cos(b)
		t.post[4*k], t.post[4*k+1] = int64(cosq(a)), -int64(sinq(a))
		t.post[4*k+2], t.post[4*k+3] = -int64(sinq(b)), -int64(cosq(b))
	}
	for k := 0; k < m; k++ {
		a, b := k*step, 5*k*step
		c, d := a-cosGrid/4, b-cosGrid/4 // minus pi/4
		// 2*g1 = e^(ia) + i e^(ib); 2*g2 = e^(ic) - i e^(id)
		t.pre[4*k], t.pre[4*k+1] = int64(cosq(a))-int64(sinq(b)), int64(sinq(a))+int64(cosq(b))
		t.pre[4*k+2], t.pre[4*k+3] = int64(cosq(c))+int64(sinq(d)), int64(sinq(c))-int64(cosq(d))
	}
	return t
}

// frameSizes are the supported frame sizes, in samples.
var frameSizes = [...]int{80, 160, 240, 320}

var transforms [len(frameSizes)]struct {
	once sync.Once
	t    *transform
}

// transformFor returns the shared transform for frame size n, or nil when
// n is not supported.
func transformFor(n int) *transform {
	for i, size := range frameSizes {
		if size == n {
			e := &transforms[i]
			e.once.Do(func() { e.t = newTransform(n) })
			return e.t
		}
	}
	return nil
}

// scratch is the per-Scrambler working memory of the transforms: the FFT
// data, real and imaginary parts.
type scratch struct {
	re, im []int64
}

func newScratch(n int) scratch {
	return scratch{re: make([]int64, n/2), im: make([]int64, n/2)}
}

// forward computes the unnormalised DCT-II of src in Q4,
// X[k] ~ 16 * sum_n x[n] cos(pi*(2n+1)*k/(2N)):
//
//  1. load z[p] = (v[2p] + i*v[2p+1]) * 2^12 in digit-reversed order;
//  2. Z = FFT_M(z);
//  3. for k = 0..M, with E = Z[k] + conj(Z[(M-k) mod M]) and
//     D = Z[k] - conj(Z[(M-k) mod M]) (Z[M] meaning Z[0]):
//     w = E*c1[k] + D*c2[k] (exact), X[k] = rshr(Re w, 24) and, for
//     0 < k < M, X[N-k] = rshr(-Im w, 24).
func (t *transform) forward(dst []int32, src []int16, s *scratch) {
	m, n := t.m, t.n
	re, im := s.re[:m], s.im[:m]
	src = src[:n]
	ldIm := t.ldIm[:m]
	for i, j := range t.ldRe[:m] {
		re[i] = int64(src[j]) << fftBits
		im[i] = int64(src[ldIm[i]]) << fftBits
	}
	fft(re, im, t.stages)
	dst = dst[:n]
	post := t.post[:4*(m+1)]
	for k := 0; k <= m; k++ {
		k2 := m - k
		if k == 0 || k == m {
			k2 = 0
		}
		k1 := k
		if k == m {
			k1 = 0
		}
		er, ei := re[k1]+re[k2], im[k1]-im[k2]
		dr, di := re[k1]-re[k2], im[k1]+im[k2]
		c := post[4*k : 4*k+4]
		wr := er*c[0] - ei*c[1] + dr*c[2] - di*c[3]
		dst[k] = int32(roundShift(wr, fwdShift))
		if k != 0 && k != m {
			wi := er*c[1] + ei*c[0] + dr*c[3] + di*c[2]
			dst[n-k] = int32(roundShift(-wi, fwdShift))
		}
	}
}

// inverse computes the DCT-III that undoes forward,
// y[n] ~ (2/N) * (X[0]/2 + sum_{k>=1} X[k] cos(pi*(2n+1)*k/(2N))) / 16:
//
//  1. for k = 0..M-1, P = X[k] - i*X[N-k] (X[N] meaning 0) and
//     Q = X[M-k] + i*X[M+k]: Z[k] = rshr(g1[k]*P + g2[k]*Q, 8)
//     (real and imaginary parts), loaded conjugated at position pos[k];
//  2. r = FFT_M(conj(Z)), so conj(r) = M * IDFT_M(Z) in Q12;
//  3. v[2p] = sat16(rdiv(Re r[p], M*2^12)), v[2p+1] =
//     sat16(rdiv(-Im r[p], M*2^12)), and x is v reordered back.
func (t *transform) inverse(dst []int16, src []int32, s *scratch) {
	m, n := t.m, t.n
	re, im := s.re[:m], s.im[:m]
	src = src[:n]
	pre := t.pre[:4*m]
	pos := t.pos[:m]
	for k := 0; k < m; k++ {
		pr, pi := int64(src[k]), int64(0)
		if k > 0 {
			pi = -int64(src[n-k])
		}
		qr, qi := int64(src[m-k]), int64(src[m+k])
		g := pre[4*k : 4*k+4]
		zr := g[0]*pr - g[1]*pi + g[2]*qr - g[3]*qi
		zi := g[0]*pi + g[1]*pr + g[2]*qi + g[3]*qr
		p := pos[k]
		re[p] = roundShift(zr, invShift)
		im[p] = -roundShift(zi, invShift)
	}
	fft(re, im, t.stages)
	// rdiv(v, M*2^12) with M*2^12 = o*2^s (o odd) is floor((v>>s)/o)
	// after adding half the divisor; the constants per frame size let the
	// compiler turn the division into a multiplication (see roundDivSat).
	dst = dst[:n]
	outRe, outIm := t.outRe[:m], t.outIm[:m]
	im = im[:len(re)]
	switch m {
	case 40: // 40*2^12 = 5*2^15
		for p, j := range outRe {
			dst[j], dst[outIm[p]] = roundDivSat(re[p], 15, 5), roundDivSat(-im[p], 15, 5)
		}
	case 80: // 5*2^16
		for p, j := range outRe {
			dst[j], dst[outIm[p]] = roundDivSat(re[p], 16, 5), roundDivSat(-im[p], 16, 5)
		}
	case 120: // 15*2^15
		for p, j := range outRe {
			dst[j], dst[outIm[p]] = roundDivSat(re[p], 15, 15), roundDivSat(-im[p], 15, 15)
		}
	default: // 160: 5*2^17
		for p, j := range outRe {
			dst[j], dst[outIm[p]] = roundDivSat(re[p], 17, 5), roundDivSat(-im[p], 17, 5)
		}
	}
}
