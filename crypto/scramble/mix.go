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

// permute applies the keyed Fisher-Yates shuffle: for i = m-1 down to 1,
// swap v[i] and v[j], j = (u * (i+1)) >> 16 in [0, i], with u the
// (m-1-i)-th big-endian uint16 of ks.
func permute(v []int32, ks []byte) {
	m := len(v)
	ks = ks[:2*(m-1)]
	for i := m - 1; i >= 1; i-- {
		u := uint32(ks[0])<<8 | uint32(ks[1]) // the next swap word
		ks = ks[2:]
		j := int((u * uint32(i+1)) >> 16)
		v[i], v[j] = v[j], v[i]
	}
}

// unpermute undoes permute: the same swaps in the opposite order.
func unpermute(v []int32, ks []byte) {
	m := len(v)
	if m < 2 {
		return
	}
	ks = ks[:2*(m-1)]
	for i := 1; i < m; i++ {
		t := 2 * (m - 1 - i)
		k := ks[t : t+2]
		u := uint32(k[0])<<8 | uint32(k[1])
		j := int((u * uint32(i+1)) >> 16)
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

// liftPS[a] is (liftP[a], liftS[a]): the two constants of a rotation on
// one cache line instead of two.
var liftPS = func() (t [angleCount][2]int32) {
	for a := range t {
		t[a] = [2]int32{liftP[a], liftS[a]}
	}
	return t
}()

// signWords holds a round's sign bits as little-endian 32-bit words, so
// bit t of the byte string (LSB first) is bit t&31 of word t>>5. Ranges
// have at most 248 coefficients (N = 320), so eight words hold them; two
// more of zeros let bits32 read past the end.
type signWords [10]uint32

func loadSigns(signs []byte) (w signWords) {
	var b [4 * len(w)]byte
	copy(b[:32], signs)
	for i := range w {
		w[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return w
}

// bits32 returns the sign bits t..t+31 as the low to high bits of a word
// (t < 256): the rounds consume them one shift at a time instead of
// locating every bit.
func (w *signWords) bits32(t int) uint32 {
	k := (t >> 5) & 7
	return uint32((uint64(w[k+1])<<32 | uint64(w[k])) >> (t & 31))
}

// signChunk is how many pairs share one bits32 read.
const signChunk = 32

// mixRound is one round of mix on the pairs (lo[t], hi[t]), t < len(lo):
// both flipped by their sign bits (bit t and bit t+h), rotated by
// angles[t] (as rotate), written to dst[2t], dst[2t+1].
func mixRound(dst, lo, hi []int32, sw *signWords, angles []byte, h int) {
	n := len(lo)
	hi, angles, dst = hi[:n], angles[:n], dst[:2*n]
	for c := 0; c < n; c += signChunk {
		e := min(c+signChunk, n)
		l := lo[c:e]
		hh, an, d := hi[c:e][:len(l)], angles[c:e][:len(l)], dst[2*c : 2*e][:2*len(l)]
		bx, by := sw.bits32(c), sw.bits32(c+h)
		for t, x := range l {
			sx, sy := -int32(bx&1), -int32(by&1)
			bx, by = bx>>1, by>>1
			x = (x ^ sx) - sx
			y := (hh[t] ^ sy) - sy
			cs := &liftPS[an[t]]
			p, s := int64(cs[0]), int64(cs[1])
			x += int32((p*int64(y) + 1<<14) >> 15) // mulQ15
			y += int32((s*int64(x) + 1<<14) >> 15)
			x += int32((p*int64(y) + 1<<14) >> 15)
			dp := d[2*t : 2*t+2 : 2*t+2]
			dp[0], dp[1] = x, y
		}
	}
}

// unmixRound undoes mixRound: src[2t], src[2t+1] unrotated, unflipped, to
// lo[t], hi[t].
func unmixRound(lo, hi, src []int32, sw *signWords, angles []byte, h int) {
	n := len(lo)
	hi, angles, src = hi[:n], angles[:n], src[:2*n]
	for c := 0; c < n; c += signChunk {
		e := min(c+signChunk, n)
		l := lo[c:e]
		hh, an, sr := hi[c:e][:len(l)], angles[c:e][:len(l)], src[2*c : 2*e][:2*len(l)]
		bx, by := sw.bits32(c), sw.bits32(c+h)
		for t := range l {
			sp := sr[2*t : 2*t+2 : 2*t+2]
			x, y := sp[0], sp[1]
			cs := &liftPS[an[t]]
			p, s := int64(cs[0]), int64(cs[1])
			x -= int32((p*int64(y) + 1<<14) >> 15)
			y -= int32((s*int64(x) + 1<<14) >> 15)
			x -= int32((p*int64(y) + 1<<14) >> 15)
			sx, sy := -int32(bx&1), -int32(by&1)
			bx, by = bx>>1, by>>1
			l[t] = (x ^ sx) - sx
			hh[t] = (y ^ sy) - sy
		}
	}
}

// mix applies the keyed mixing to the range v (len l.m) with the range's
// key material ks, using tmp (len >= l.m) as scratch: the input
// permutation, Rounds rounds of sign flips and pair rotations with a
// perfect shuffle, and the output permutation.
func (l *mixLayout) mix(v, tmp []int32, ks []byte) {
	m, h := l.m, l.half
	v, tmp = v[:m], tmp[:m]
	ks = ks[:l.bytes]
	permute(v, ks)
	src, dst := v, tmp
	for r := 0; r < Rounds; r++ {
		k := ks[l.roundOff+r*l.roundBytes:]
		sw := loadSigns(k[:l.signBytes])
		mixRound(dst, src[:m/2], src[h:], &sw, k[l.signBytes:l.roundBytes], h)
		if m&1 == 1 {
			dst[m-1] = flip(src[h-1], k[:l.signBytes], h-1)
		}
		src, dst = dst, src
	}
	if Rounds&1 == 1 {
		copy(v, src)
	}
	permute(v, ks[l.outOff:])
}

// unmix is the exact inverse of mix: every step undone in reverse order.
func (l *mixLayout) unmix(v, tmp []int32, ks []byte) {
	m, h := l.m, l.half
	v, tmp = v[:m], tmp[:m]
	ks = ks[:l.bytes]
	unpermute(v, ks[l.outOff:])
	src, dst := v, tmp
	for r := Rounds - 1; r >= 0; r-- {
		k := ks[l.roundOff+r*l.roundBytes:]
		sw := loadSigns(k[:l.signBytes])
		unmixRound(dst[:m/2], dst[h:], src, &sw, k[l.signBytes:l.roundBytes], h)
		if m&1 == 1 {
			dst[h-1] = flip(src[m-1], k[:l.signBytes], h-1)
		}
		src, dst = dst, src
	}
	if Rounds&1 == 1 {
		copy(v, src)
	}
	unpermute(v, ks)
}
