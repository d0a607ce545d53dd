package g711

// The lookup tables every public function reads. The mu-law coder only
// looks at the top 14 bits of a sample and the A-law coder at the top 13
// (see reference.go), so the encoder tables are indexed by those bits:
// 16 KiB and 8 KiB rather than 64 KiB each, small enough to stay in an
// ARMv7 L1/L2 cache.
var (
	ulawEncode [1 << 14]byte // index: uint16(sample) >> 2
	alawEncode [1 << 13]byte // index: uint16(sample) >> 3
	ulawDecode [256]int16
	alawDecode [256]int16
	ulawToAlaw [256]byte
	alawToUlaw [256]byte
)

func init() {
	for i := range ulawEncode {
		ulawEncode[i] = refLinearToUlaw(int16(uint16(i) << 2))
	}
	for i := range alawEncode {
		alawEncode[i] = refLinearToAlaw(int16(uint16(i) << 3))
	}
	for i := range 256 {
		b := byte(i)
		ulawDecode[i] = refUlawToLinear(b)
		alawDecode[i] = refAlawToLinear(b)
		ulawToAlaw[i] = refUlawToAlaw(b)
		alawToUlaw[i] = refAlawToUlaw(b)
	}
}
