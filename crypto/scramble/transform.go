package scramble

import "sync"

// Transform constants. Angles of the cosine table are multiples of
// pi/cosGrid; cosGrid = 1920 is the least common multiple of 2N over the
// supported frame sizes, so every DCT angle pi*(2n+1)*k/(2N) falls on it.
const (
	cosGrid    = 1920          // pi/cosGrid is the table's angle step
	cosQuarter = cosGrid / 2   // index of pi/2 in the table
	cosPeriod  = 2 * cosGrid   // 2*pi in table steps
	fracBits   = 4             // fractional bits of DCT coefficients
	fwdShift   = 15 - fracBits // Q15 product to Q4 coefficient
	dcWeight   = 1 << 14       // X[0]/2 in the inverse, in Q15
)

// cosAt returns round(2^15 * cos(pi*j/cosGrid)) for any j >= 0, from the
// quarter-wave table by exact symmetry, so that C[k][N-1-n] is exactly
// (-1)^k * C[k][n].
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

// transform is the fixed-point DCT-II / DCT-III pair for one frame size.
// It is immutable after construction and shared by every Scrambler of
// that size.
type transform struct {
	n    int
	half int
	// mat holds C[k][n] = round(2^15 cos(pi*(2n+1)*k/(2N))) for n < N/2,
	// row k at mat[k*half:(k+1)*half]; the other half follows by symmetry.
	mat []int32
	// div is D = N * 2^(14+fracBits), the divisor of the inverse.
	div int64
}

// newTransform builds the tables for frame size n (a supported size).
func newTransform(n int) *transform {
	half := n / 2
	step := cosQuarter / n // 960/N table steps per pi/(2N)
	t := &transform{n: n, half: half, mat: make([]int32, n*half), div: int64(n) << (14 + fracBits)}
	for k := 0; k < n; k++ {
		row := t.mat[k*half : (k+1)*half]
		for i := range row {
			row[i] = cosAt((2*i + 1) * k * step)
		}
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

// scratch is the per-Scrambler working memory of the transforms.
type scratch struct {
	sum, diff []int32 // x[n] +- x[N-1-n], n < N/2
	even, odd []int64 // even-k and odd-k partial sums of the inverse
}

func newScratch(n int) scratch {
	h := n / 2
	return scratch{sum: make([]int32, h), diff: make([]int32, h), even: make([]int64, h), odd: make([]int64, h)}
}

// forward computes X[k] = round(sum_n x[n]*C[k][n] / 2^fwdShift) for all k.
// The sum is exact; it is computed over the folded input (x[n] + x[N-1-n]
// for even k, x[n] - x[N-1-n] for odd k), which gives the same integer.
func (t *transform) forward(dst []int32, src []int16, s *scratch) {
	h := t.half
	sum, diff := s.sum[:h], s.diff[:h]
	for i := 0; i < h; i++ {
		a, b := int32(src[i]), int32(src[t.n-1-i])
		sum[i], diff[i] = a+b, a-b
	}
	dst = dst[:t.n]
	for k := range dst {
		row := t.mat[k*h : (k+1)*h]
		in := sum
		if k&1 == 1 {
			in = diff
		}
		var acc int64
		for i, c := range row {
			acc += int64(in[i]) * int64(c)
		}
		dst[k] = int32(roundShift(acc, fwdShift))
	}
}

// inverse computes y[n] = sat16(round(A[n] / D)) with
// A[n] = X[0]*2^14 + sum_{k>=1} X[k]*C[k][n]: the DCT-III that undoes
// forward (2/N scaling, half weight for X[0]).
func (t *transform) inverse(dst []int16, src []int32, s *scratch) {
	h := t.half
	even, odd := s.even[:h], s.odd[:h]
	dc := int64(src[0]) * dcWeight
	for i := range even {
		even[i], odd[i] = dc, 0
	}
	for k := 1; k < t.n; k++ {
		x := int64(src[k])
		if x == 0 {
			continue
		}
		row := t.mat[k*h : (k+1)*h]
		acc := even
		if k&1 == 1 {
			acc = odd
		}
		for i, c := range row {
			acc[i] += x * int64(c)
		}
	}
	for i := 0; i < h; i++ {
		dst[i] = sat16(roundDiv(even[i]+odd[i], t.div))
		dst[t.n-1-i] = sat16(roundDiv(even[i]-odd[i], t.div))
	}
}
