package scramble

// The fixed-point helpers below are the only rounding in the package. They
// use Go's arithmetic right shift on signed integers and explicit floor
// division, which behave the same on every GOARCH.

// roundShift returns round(v / 2^s) with ties rounded up (towards +inf):
// (v + 2^(s-1)) >> s. s must be at least 1.
func roundShift(v int64, s uint) int64 {
	return (v + int64(1)<<(s-1)) >> s
}

// roundDiv returns round(v / d) with ties rounded up: floor((v + d/2) / d).
// d must be positive and even.
func roundDiv(v, d int64) int64 {
	v += d >> 1
	q := v / d
	if v%d != 0 && v < 0 {
		q-- // Go truncates towards zero; floor is one lower for negatives.
	}
	return q
}

// sat16 clamps v to the int16 range.
func sat16(v int64) int16 {
	switch {
	case v > 32767:
		return 32767
	case v < -32768:
		return -32768
	}
	return int16(v)
}

// mulQ15 returns round(c * v / 2^15) for a Q15 constant c.
func mulQ15(c, v int32) int32 {
	return int32(roundShift(int64(c)*int64(v), 15))
}

// roundDivSat returns sat16(roundDiv(v, o<<s)) for an odd o <= 15 and
// s >= 1, without a 64-bit division: the half divisor o<<(s-1) is added,
// the shift floors by 2^s (floor(floor(a/2^s)/o) = floor(a/(o*2^s))), the
// quotient is clamped to what saturates to the same int16 (floor is
// monotonic), and the floor division by o is then an unsigned 32-bit one,
// which the compiler turns into a multiplication when o is a constant.
// Equal to sat16(roundDiv(v, o<<s)) for every v with |v| < 2^62
// (TestRoundDivSat).
func roundDivSat(v int64, s uint, o int64) int16 {
	w := (v + o<<(s-1)) >> s
	w = max(-32768*o, min(w, 32768*o-1))
	return int16(int32(uint32(w+32768*o)/uint32(o)) - 32768)
}
