package scramble

import "encoding/binary"

// Mixing constants.
const (
	// Rounds is the number of mixing rounds. After r rounds every
	// coefficient of a range is a keyed combination of up to 2^r others
	// scattered over the range.
	Rounds = 4
	// angleCount is the number of rotation angles: angle a is
	// theta = pi*(a-128)/256, in [-pi/2, pi/2). With the sign flips this
	// covers the whole circle.
	angleCount = 256
)

// mixLayout says where a round's choices sit in a range's part of the
// frame's key material. Round r starts at byte r*roundBytes of that part
// and holds, in order:
//
//	swaps:  (m-1) big-endian uint32, one per Fisher-Yates step
//	signs:  ceil(m/8) bytes, bit t (LSB first) flips coefficient t
//	angles: floor(m/2) bytes, byte q is the angle of pair (2q, 2q+1);
//	        with m odd the last coefficient is not rotated in that round
type mixLayout struct {
	m          int // number of mixed coefficients (even)
	signOff    int
	angleOff   int
	roundBytes int
}

func newMixLayout(m int) mixLayout {
	l := mixLayout{m: m, signOff: 4 * (m - 1)}
	l.angleOff = l.signOff + (m+7)/8
	l.roundBytes = l.angleOff + m/2
	return l
}

// swapIndex maps the t-th swap word to j in [0, i]: (u * (i+1)) >> 32.
func swapIndex(ks []byte, t, i int) int {
	u := binary.BigEndian.Uint32(ks[4*t:])
	return int((uint64(u) * uint64(i+1)) >> 32)
}

// rotate applies the Givens rotation by angle a to (x, y) as three lifting
// steps: x += P*y; y += S*x; x += P*y, with P = -tan(theta/2) and
// S = sin(theta) in Q15, each product rounded by mulQ15. Each step adds a
// function of the other value, so unrotate undoes it exactly.
func rotate(x, y *int32, a byte) {
	p, s := liftP[a], liftS[a]
	*x += mulQ15(p, *y)
	*y += mulQ15(s, *x)
	*x += mulQ15(p, *y)
}

// unrotate is the exact inverse of rotate.
func unrotate(x, y *int32, a byte) {
	p, s := liftP[a], liftS[a]
	*x -= mulQ15(p, *y)
	*y -= mulQ15(s, *x)
	*x -= mulQ15(p, *y)
}

// mix applies the Rounds keyed rounds to the band v (len l.m) with the
// frame's key material ks.
func (l mixLayout) mix(v []int32, ks []byte) {
	m := l.m
	v = v[:m]
	for r := 0; r < Rounds; r++ {
		k := ks[r*l.roundBytes : (r+1)*l.roundBytes]
		for t := 0; t < m-1; t++ { // Fisher-Yates, i from m-1 down to 1
			i := m - 1 - t
			j := swapIndex(k, t, i)
			v[i], v[j] = v[j], v[i]
		}
		signs := k[l.signOff:l.angleOff]
		for t := range v {
			if signs[t>>3]>>(t&7)&1 == 1 {
				v[t] = -v[t]
			}
		}
		angles := k[l.angleOff:]
		for q := 0; q < m/2; q++ {
			rotate(&v[2*q], &v[2*q+1], angles[q])
		}
	}
}

// unmix is the exact inverse of mix: rounds in reverse order, each with
// its steps undone in reverse order.
func (l mixLayout) unmix(v []int32, ks []byte) {
	m := l.m
	v = v[:m]
	for r := Rounds - 1; r >= 0; r-- {
		k := ks[r*l.roundBytes : (r+1)*l.roundBytes]
		angles := k[l.angleOff:]
		for q := 0; q < m/2; q++ {
			unrotate(&v[2*q], &v[2*q+1], angles[q])
		}
		signs := k[l.signOff:l.angleOff]
		for t := range v {
			if signs[t>>3]>>(t&7)&1 == 1 {
				v[t] = -v[t]
			}
		}
		for t := m - 2; t >= 0; t-- {
			i := m - 1 - t
			j := swapIndex(k, t, i)
			v[i], v[j] = v[j], v[i]
		}
	}
}
