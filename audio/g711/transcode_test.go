package g711

import (
	"bytes"
	"testing"
)

func TestLawConversionVectors(t *testing.T) {
	tests := []struct {
		name string
		conv func(byte) byte
		in   byte
		want byte
	}{
		{"ulaw +0 -> alaw +min", UlawToAlaw, 0xFF, 0xD5},
		{"ulaw -0 -> alaw -min", UlawToAlaw, 0x7F, 0x55},
		{"ulaw +max -> alaw +max", UlawToAlaw, 0x80, 0xAA},
		{"ulaw -max -> alaw -max", UlawToAlaw, 0x00, 0x2A},
		{"alaw +min -> ulaw +8", AlawToUlaw, 0xD5, 0xFE},
		{"alaw -min -> ulaw -8", AlawToUlaw, 0x55, 0x7E},
		{"alaw +max -> ulaw +max", AlawToUlaw, 0xAA, 0x80},
		{"alaw -max -> ulaw -max", AlawToUlaw, 0x2A, 0x00},
		// The corrected entries (sox): g711.c's uncorrected tables give
		// 0xD5^80 and 0xFF^79 here.
		{"ulaw 0xFF^80 corrected", UlawToAlaw, 0xFF ^ 80, 0xD5 ^ 79},
		{"alaw 0xD5^79 corrected", AlawToUlaw, 0xD5 ^ 79, 0xFF ^ 80},
	}
	for _, tc := range tests {
		if got := tc.conv(tc.in); got != tc.want {
			t.Errorf("%s: %#02x -> %#02x, want %#02x", tc.name, tc.in, got, tc.want)
		}
	}
}

// TestLawConversionCloseToLinear: converting a code directly gives a code
// whose linear value is close to the original's (G.711 tables trade a
// little accuracy in the lowest segments for transparency).
func TestLawConversionCloseToLinear(t *testing.T) {
	for c := range 256 {
		u := byte(c)
		a := UlawToAlaw(u)
		if d := abs(int(DecodeAlaw(a)) - int(DecodeUlaw(u))); d > 16 && d*16 > abs(int(DecodeUlaw(u))) {
			t.Errorf("ulaw %#02x (%d) -> alaw %#02x (%d): off by %d", u, DecodeUlaw(u), a, DecodeAlaw(a), d)
		}
		if (DecodeUlaw(u) < 0) != (DecodeAlaw(a) < 0) && DecodeUlaw(u) != 0 {
			t.Errorf("ulaw %#02x -> alaw %#02x flips sign", u, a)
		}
		al := byte(c)
		back := AlawToUlaw(al)
		if d := abs(int(DecodeUlaw(back)) - int(DecodeAlaw(al))); d > 16 && d*16 > abs(int(DecodeAlaw(al))) {
			t.Errorf("alaw %#02x (%d) -> ulaw %#02x (%d): off by %d", al, DecodeAlaw(al), back, DecodeUlaw(back), d)
		}
	}
}

// TestLawConversionMonotonic: a louder code never converts to a quieter
// one, on either sign, in either direction.
func TestLawConversionMonotonic(t *testing.T) {
	tests := []struct {
		name     string
		conv     func(byte) byte
		from, to func(byte) int16
	}{
		{"ulaw to alaw", UlawToAlaw, DecodeUlaw, DecodeAlaw},
		{"alaw to ulaw", AlawToUlaw, DecodeAlaw, DecodeUlaw},
	}
	for _, tc := range tests {
		for x := range 256 {
			for y := range 256 {
				a, b := byte(x), byte(y)
				if tc.from(a) < tc.from(b) && tc.to(tc.conv(a)) > tc.to(tc.conv(b)) {
					t.Fatalf("%s: %#02x (%d) < %#02x (%d) but converted %d > %d", tc.name,
						a, tc.from(a), b, tc.from(b), tc.to(tc.conv(a)), tc.to(tc.conv(b)))
				}
			}
		}
	}
}

func TestTranscodeSlices(t *testing.T) {
	src := make([]byte, 256)
	for i := range src {
		src[i] = byte(i)
	}
	tests := []struct {
		name   string
		fn     func(dst, src []byte)
		scalar func(byte) byte
	}{
		{"ulaw to alaw", TranscodeUlawToAlaw, UlawToAlaw},
		{"alaw to ulaw", TranscodeAlawToUlaw, AlawToUlaw},
	}
	for _, tc := range tests {
		want := make([]byte, len(src))
		for i, b := range src {
			want[i] = tc.scalar(b)
		}
		dst := make([]byte, len(src))
		tc.fn(dst, src)
		if !bytes.Equal(dst, want) {
			t.Errorf("%s: out of place differs from scalar", tc.name)
		}
		inPlace := bytes.Clone(src)
		tc.fn(inPlace, inPlace)
		if !bytes.Equal(inPlace, want) {
			t.Errorf("%s: in place differs from scalar", tc.name)
		}
		short := make([]byte, 10)
		tc.fn(short, src) // must not panic
		if !bytes.Equal(short, want[:10]) {
			t.Errorf("%s: short dst got %x, want %x", tc.name, short, want[:10])
		}
	}
}

// FuzzTranscode feeds arbitrary payloads (as an RTP relay would) through
// both conversions in place and checks them against the scalar functions.
func FuzzTranscode(f *testing.F) {
	f.Add([]byte{0xFF, 0x7F, 0x00, 0x80})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, payload []byte) {
		buf := bytes.Clone(payload)
		TranscodeUlawToAlaw(buf, buf)
		for i, b := range payload {
			if buf[i] != UlawToAlaw(b) {
				t.Fatalf("byte %d: %#02x -> %#02x, want %#02x", i, b, buf[i], UlawToAlaw(b))
			}
		}
		TranscodeAlawToUlaw(buf, buf)
		for i, b := range buf {
			if AlawToUlaw(UlawToAlaw(payload[i])) != b {
				t.Fatalf("byte %d: round trip mismatch", i)
			}
		}
	})
}
