package scramble

import "encoding/binary"

// Mixing constants.
const (
	// Rounds is the number of rotation rounds. Each round pairs
	// coefficient t with coefficient t + ceil(m/2) and writes the pair to
	// positions 2t, 2t+1 (a perfect shuffle), so after r rounds every
	// coefficient is a keyed combination of 2^r others; the keyed
	// permutations before and after make those others a keyed, scattered
	// set.
	Rounds = 4
	// angleCount is the number of rotation angles: angle a is
	// theta = pi*(a-128)/256, in [-pi/2, pi/2). With the sign flips this
	// covers the whole circle.
	angleCount = 256
)

// mixLayout says where the choices of one range of m coefficients sit in
// that range's part of the frame's key material, in order:
//
//	perm in:  (m-1) big-endian uint16, one per Fisher-Yates step
//	round r (r = 0..Rounds-1), at roundOff + r*roundBytes:
//	  signs:  ceil(m/8) bytes, bit t (LSB first) flips coefficient t
//	  angles: floor(m/2) bytes, byte t is the angle of pair (t, t+ceil(m/2))
//	perm out: (m-1) big-endian uint16
type mixLayout struct {
	m          int // number of mixed coefficients
	half       int // ceil(m/2): distance between the members of a pair
	roundOff   int // offset of round 0
	signBytes  int
	roundBytes int
	outOff     int // offset of the output permutation
	bytes      int // total key material of the range
}

func newMixLayout(m int) mixLayout {
	l := mixLayout{m: m, half: (m + 1) / 2, roundOff: 2 * (m - 1), signBytes: (m + 7) / 8}
	l.roundBytes = l.signBytes + m/2
	l.outOff = l.roundOff + Rounds*l.roundBytes
	l.bytes = l.outOff + 2*(m-1)
	return l
}

// swapIndex maps the t-th swap word to j in [0, i]: (u * (i+1)) >> 16.
func swapIndex(ks []byte, t, i int) int {
	u := binary.BigEndian.Uint16(ks[2*t:])
	return int((uint32(u) * uint32(i+1)) >> 16)
}

// permute applies the keyed Fisher-Yates shuffle: for i = m-1 down to 1,
// swap v[i] and v[j], j = swapIndex(ks, m-1-i, i).
func permute(v []int32, ks []byte) {
	m := len(v)
	ks = ks[:2*(m-1)]
	for i := m - 1; i >= 1; i-- {
		j := swapIndex(ks, m-1-i, i)
		v[i], v[j] = v[j], v[i]
	}
}

// unpermute undoes permute: the same swaps in the opposite order.
func unpermute(v []int32, ks []byte) {
	m := len(v)
	ks = ks[:2*(m-1)]
	for i := 1; i < m; i++ {
		j := swapIndex(ks, m-1-i, i)
		v[i], v[j] = v[j], v[i]
	}
}

// rotate applies the Givens rotation by angle a to (x, y) as three lifting
// steps: x += P*y; y += S*x; x += P*y, with P = -tan(theta/2) and
// S = sin(theta) in Q15, each product rounded by mulQ15. Each step adds a
// function of the other value, so unrotate undoes it exactly.
func rotate(x, y int32, a byte) (int32, int32) {
	p, s := liftP[a], liftS[a]
	x += mulQ15(p, y)
	y += mulQ15(s, x)
	x += mulQ15(p, y)
	return x, y
}

// unrotate is the exact inverse of rotate.
func unrotate(x, y int32, a byte) (int32, int32) {
	p, s := liftP[a], liftS[a]
	x -= mulQ15(p, y)
	y -= mulQ15(s, x)
	x -= mulQ15(p, y)
	return x, y
}

// flip returns -v when bit t of signs is set, else v.
func flip(v int32, signs []byte, t int) int32 {
	mask := -int32(signs[t>>3] >> (t & 7) & 1)
	return (v ^ mask) - mask
}

// mix applies the keyed mixing to the range v (len l.m) with the range's
// key material ks, using tmp (len >= l.m) as scratch: the input
// permutation, Rounds rounds of sign flips and pair rotations with a
// perfect shuffle, and the output permutation.
func (l mixLayout) mix(v, tmp []int32, ks []byte) {
	m, h := l.m, l.half
	v, tmp = v[:m], tmp[:m]
	ks = ks[:l.bytes]
	permute(v, ks)
	src, dst := v, tmp
	for r := 0; r < Rounds; r++ {
		k := ks[l.roundOff+r*l.roundBytes:]
		signs, angles := k[:l.signBytes], k[l.signBytes:l.roundBytes]
		lo, hi := src[:m/2], src[h:h+m/2]
		for t, x := range lo {
			x = flip(x, signs, t)
			y := flip(hi[t], signs, t+h)
			a := angles[t] // rotate(x, y, a), written out so it is inlined
			p, s := liftP[a], liftS[a]
			x += mulQ15(p, y)
			y += mulQ15(s, x)
			x += mulQ15(p, y)
			d := dst[2*t : 2*t+2]
			d[0], d[1] = x, y
		}
		if m&1 == 1 {
			dst[m-1] = flip(src[h-1], signs, h-1)
		}
		src, dst = dst, src
	}
	if Rounds&1 == 1 {
		copy(v, src)
	}
	permute(v, ks[l.outOff:])
}

// unmix is the exact inverse of mix: every step undone in reverse order.
func (l mixLayout) unmix(v, tmp []int32, ks []byte) {
	m, h := l.m, l.half
	v, tmp = v[:m], tmp[:m]
	ks = ks[:l.bytes]
	unpermute(v, ks[l.outOff:])
	src, dst := v, tmp
	for r := Rounds - 1; r >= 0; r-- {
		k := ks[l.roundOff+r*l.roundBytes:]
		signs, angles := k[:l.signBytes], k[l.signBytes:l.roundBytes]
		lo, hi := dst[:m/2], dst[h:h+m/2]
		for t := range lo {
			sp := src[2*t : 2*t+2]
			x, y := sp[0], sp[1]
			a := angles[t] // unrotate(x, y, a), written out so it is inlined
			p, s := liftP[a], liftS[a]
			x -= mulQ15(p, y)
			y -= mulQ15(s, x)
			x -= mulQ15(p, y)
			lo[t] = flip(x, signs, t)
			hi[t] = flip(y, signs, t+h)
		}
		if m&1 == 1 {
			dst[h-1] = flip(src[m-1], signs, h-1)
		}
		src, dst = dst, src
	}
	if Rounds&1 == 1 {
		copy(v, src)
	}
	unpermute(v, ks)
}
