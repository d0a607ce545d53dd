package g711

// u2a and a2u are g711.c's "copy from CCITT G.711 specifications" tables,
// indexed by a sign-less code magnitude, with the two corrections sox
// applies: u2a[80] is 80 (g711.c had 81) and a2u[79] is 80 (g711.c had
// 79). The corrected entries are the ones that agree with decoding to
// linear and re-encoding.
var (
	u2a = [128]byte{
		1, 1, 2, 2, 3, 3, 4, 4,
		5, 5, 6, 6, 7, 7, 8, 8,
		9, 10, 11, 12, 13, 14, 15, 16,
		17, 18, 19, 20, 21, 22, 23, 24,
		25, 27, 29, 31, 33, 34, 35, 36,
		37, 38, 39, 40, 41, 42, 43, 44,
		46, 48, 49, 50, 51, 52, 53, 54,
		55, 56, 57, 58, 59, 60, 61, 62,
		64, 65, 66, 67, 68, 69, 70, 71,
		72, 73, 74, 75, 76, 77, 78, 79,
		80, 82, 83, 84, 85, 86, 87, 88, // g711.c: 81, 82, ...
		89, 90, 91, 92, 93, 94, 95, 96,
		97, 98, 99, 100, 101, 102, 103, 104,
		105, 106, 107, 108, 109, 110, 111, 112,
		113, 114, 115, 116, 117, 118, 119, 120,
		121, 122, 123, 124, 125, 126, 127, 128,
	}
	a2u = [128]byte{
		1, 3, 5, 7, 9, 11, 13, 15,
		16, 17, 18, 19, 20, 21, 22, 23,
		24, 25, 26, 27, 28, 29, 30, 31,
		32, 32, 33, 33, 34, 34, 35, 35,
		36, 37, 38, 39, 40, 41, 42, 43,
		44, 45, 46, 47, 48, 48, 49, 49,
		50, 51, 52, 53, 54, 55, 56, 57,
		58, 59, 60, 61, 62, 63, 64, 64,
		65, 66, 67, 68, 69, 70, 71, 72,
		73, 74, 75, 76, 77, 78, 79, 80, // g711.c: ..., 79, 79
		80, 81, 82, 83, 84, 85, 86, 87,
		88, 89, 90, 91, 92, 93, 94, 95,
		96, 97, 98, 99, 100, 101, 102, 103,
		104, 105, 106, 107, 108, 109, 110, 111,
		112, 113, 114, 115, 116, 117, 118, 119,
		120, 121, 122, 123, 124, 125, 126, 127,
	}
)

// refUlawToAlaw is g711.c's ulaw2alaw.
func refUlawToAlaw(u byte) byte {
	if u&0x80 != 0 {
		return 0xD5 ^ (u2a[0xFF^u] - 1)
	}
	return 0x55 ^ (u2a[0x7F^u] - 1)
}

// refAlawToUlaw is g711.c's alaw2ulaw.
func refAlawToUlaw(a byte) byte {
	if a&0x80 != 0 {
		return 0xFF ^ a2u[a^0xD5]
	}
	return 0x7F ^ a2u[a^0x55]
}

// UlawToAlaw converts one mu-law code to the A-law code G.711 assigns it.
func UlawToAlaw(b byte) byte { return ulawToAlaw[b] }

// AlawToUlaw converts one A-law code to the mu-law code G.711 assigns it.
func AlawToUlaw(b byte) byte { return alawToUlaw[b] }

// TranscodeUlawToAlaw converts mu-law codes from src into A-law codes in
// dst, min(len(dst), len(src)) of them. dst and src may be the same slice
// (in place), which is how the RTP relay rewrites a PCMU payload to PCMA.
func TranscodeUlawToAlaw(dst, src []byte) {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, b := range src {
		dst[i] = ulawToAlaw[b]
	}
}

// TranscodeAlawToUlaw converts A-law codes from src into mu-law codes in
// dst, min(len(dst), len(src)) of them. dst and src may be the same slice.
func TranscodeAlawToUlaw(dst, src []byte) {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, b := range src {
		dst[i] = alawToUlaw[b]
	}
}
