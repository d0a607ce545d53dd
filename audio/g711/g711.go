package g711

// EncodeUlaw codes one 16-bit linear sample as a mu-law octet.
// EncodeUlaw(0) is 0xFF.
func EncodeUlaw(s int16) byte { return ulawEncode[uint16(s)>>2] }

// DecodeUlaw expands one mu-law octet to a 16-bit linear sample
// (range -32124..32124).
func DecodeUlaw(b byte) int16 { return ulawDecode[b] }

// EncodeAlaw codes one 16-bit linear sample as an A-law octet.
// EncodeAlaw(0) is 0xD5.
func EncodeAlaw(s int16) byte { return alawEncode[uint16(s)>>3] }

// DecodeAlaw expands one A-law octet to a 16-bit linear sample
// (range -32256..32256; A-law has no zero, the smallest values are +-8).
func DecodeAlaw(b byte) int16 { return alawDecode[b] }
