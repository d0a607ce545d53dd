package keys

import (
	"fmt"
	"math/big"
	"slices"
	"sync"
)

// checkIdentityKey refuses Ed25519 public keys that must never be trusted:
// non-canonical encodings (y >= p, which crypto/ed25519 accepts and maps onto
// another key) and the points of small order. A small-order key A makes
// [k]A take at most 8 values, so a signature with S = 0 and R = -[k]A
// verifies for about one message in eight whatever the signer knows: such a
// "key" identifies nobody. Errors wrap ErrMalformed.
func checkIdentityKey(k PublicKey) error {
	y := yCoordinate(k)
	c := curve()
	if y.Cmp(c.p) >= 0 {
		return fmt.Errorf("identity key not canonically encoded: %w", ErrMalformed)
	}
	if slices.ContainsFunc(c.smallOrderY, func(s *big.Int) bool { return s.Cmp(y) == 0 }) {
		return fmt.Errorf("identity key of small order: %w", ErrMalformed)
	}
	return nil
}

// yCoordinate is the little-endian y of an encoded point, sign bit cleared.
func yCoordinate(k PublicKey) *big.Int {
	be := make([]byte, len(k))
	for i, b := range k {
		be[len(k)-1-i] = b
	}
	be[0] &= 0x7f
	return new(big.Int).SetBytes(be)
}

type edwards struct {
	p           *big.Int
	smallOrderY []*big.Int // the y coordinates of the 8 points of order 1, 2, 4, 8
}

// curve derives the small-order y coordinates of edwards25519
// (-x^2 + y^2 = 1 + d x^2 y^2 mod p) instead of copying magic numbers:
// order 1: y = 1; order 2: y = -1; order 4: y = 0 (x^2 = -1); order 8: the
// points P with 2P of order 4, i.e. y(2P) = (y^2 + x^2)/(1 - d x^2 y^2) = 0,
// so x^2 = -y^2 and, on the curve, d t^2 + 2t - 1 = 0 for t = y^2.
var curve = sync.OnceValue(func() edwards {
	p := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	mod := func(x *big.Int) *big.Int { return x.Mod(x, p) }
	inv := func(x *big.Int) *big.Int { return new(big.Int).ModInverse(x, p) }
	// d = -121665 / 121666
	d := mod(new(big.Int).Mul(big.NewInt(-121665), inv(big.NewInt(121666))))
	ys := []*big.Int{big.NewInt(0), big.NewInt(1), new(big.Int).Sub(p, big.NewInt(1))}
	// t = (-1 +- sqrt(1 + d)) / d
	r := new(big.Int).ModSqrt(mod(new(big.Int).Add(d, big.NewInt(1))), p)
	if r == nil {
		panic("keys: edwards25519 constants: 1+d is not a square") // constant input, cannot happen
	}
	for _, sr := range []*big.Int{r, mod(new(big.Int).Neg(r))} {
		t := mod(new(big.Int).Mul(new(big.Int).Sub(sr, big.NewInt(1)), inv(d)))
		y := new(big.Int).ModSqrt(t, p)
		if y == nil {
			continue
		}
		ys = append(ys, y, mod(new(big.Int).Neg(y)))
	}
	if len(ys) != 5 {
		panic("keys: edwards25519 constants: wrong number of order-8 points") // constant input, cannot happen
	}
	return edwards{p: p, smallOrderY: ys}
})
