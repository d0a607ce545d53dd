package g711

// The frame helpers work like copy: they process min(len(dst), len(src))
// elements and return that count, so a short destination never panics.

// EncodeUlawFrame codes samples from src into mu-law octets in dst.
func EncodeUlawFrame(dst []byte, src []int16) int {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, s := range src {
		dst[i] = ulawEncode[uint16(s)>>2]
	}
	return n
}

// DecodeUlawFrame expands mu-law octets from src into samples in dst.
func DecodeUlawFrame(dst []int16, src []byte) int {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, b := range src {
		dst[i] = ulawDecode[b]
	}
	return n
}

// EncodeAlawFrame codes samples from src into A-law octets in dst.
func EncodeAlawFrame(dst []byte, src []int16) int {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, s := range src {
		dst[i] = alawEncode[uint16(s)>>3]
	}
	return n
}

// DecodeAlawFrame expands A-law octets from src into samples in dst.
func DecodeAlawFrame(dst []int16, src []byte) int {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, b := range src {
		dst[i] = alawDecode[b]
	}
	return n
}
