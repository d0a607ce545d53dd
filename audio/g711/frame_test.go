package g711

import "testing"

func TestFrameHelpers(t *testing.T) {
	samples := []int16{0, 1, -1, 100, -100, 1000, -1000, 32767, -32768, 12345}
	tests := []struct {
		name string
		enc  func([]byte, []int16) int
		dec  func([]int16, []byte) int
		one  func(int16) byte
		back func(byte) int16
	}{
		{"ulaw", EncodeUlawFrame, DecodeUlawFrame, EncodeUlaw, DecodeUlaw},
		{"alaw", EncodeAlawFrame, DecodeAlawFrame, EncodeAlaw, DecodeAlaw},
	}
	for _, tc := range tests {
		codes := make([]byte, len(samples))
		if n := tc.enc(codes, samples); n != len(samples) {
			t.Fatalf("%s: encoded %d, want %d", tc.name, n, len(samples))
		}
		for i, s := range samples {
			if codes[i] != tc.one(s) {
				t.Errorf("%s: frame code %d = %#02x, scalar %#02x", tc.name, i, codes[i], tc.one(s))
			}
		}
		out := make([]int16, len(codes))
		if n := tc.dec(out, codes); n != len(codes) {
			t.Fatalf("%s: decoded %d, want %d", tc.name, n, len(codes))
		}
		for i, c := range codes {
			if out[i] != tc.back(c) {
				t.Errorf("%s: frame sample %d = %d, scalar %d", tc.name, i, out[i], tc.back(c))
			}
		}
		// Short destinations are filled, never overrun.
		if n := tc.enc(make([]byte, 3), samples); n != 3 {
			t.Errorf("%s: short encode returned %d, want 3", tc.name, n)
		}
		if n := tc.dec(make([]int16, 4), codes); n != 4 {
			t.Errorf("%s: short decode returned %d, want 4", tc.name, n)
		}
	}
}
