package g711

import "testing"

// frameSamples is one 20 ms frame at 8 kHz, the unit hushbox moves.
const frameSamples = 160

func benchFrame() []int16 {
	s := make([]int16, frameSamples)
	for i := range s {
		s[i] = int16(i*397 - 30000)
	}
	return s
}

func BenchmarkEncodeUlawFrame(b *testing.B) {
	src, dst := benchFrame(), make([]byte, frameSamples)
	b.SetBytes(frameSamples * 2)
	for b.Loop() {
		EncodeUlawFrame(dst, src)
	}
}

func BenchmarkEncodeAlawFrame(b *testing.B) {
	src, dst := benchFrame(), make([]byte, frameSamples)
	b.SetBytes(frameSamples * 2)
	for b.Loop() {
		EncodeAlawFrame(dst, src)
	}
}

func BenchmarkDecodeUlawFrame(b *testing.B) {
	src, dst := make([]byte, frameSamples), make([]int16, frameSamples)
	EncodeUlawFrame(src, benchFrame())
	b.SetBytes(frameSamples)
	for b.Loop() {
		DecodeUlawFrame(dst, src)
	}
}

func BenchmarkTranscodeUlawToAlaw(b *testing.B) {
	buf := make([]byte, frameSamples)
	EncodeUlawFrame(buf, benchFrame())
	b.SetBytes(frameSamples)
	for b.Loop() {
		TranscodeUlawToAlaw(buf, buf)
	}
}
