package scramble

import (
	"fmt"
	"testing"
)

// BenchmarkScramble and BenchmarkDescramble report the cost of one frame
// for every frame size (ns/frame, the same as ns/op, and %-of-frame, the
// share of the frame's own duration); 160 samples (20 ms) is the one
// every call uses. The target on amd64 is under 5 us per 20 ms frame and
// direction (0.025 %); on the boards it must stay well under the frame.
func BenchmarkScramble(b *testing.B) {
	for _, n := range frameSizes {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			s := mustNew(b, testKey16, n)
			x := speechLike(1, n, true)
			y := make([]int16, n)
			b.ReportAllocs()
			b.SetBytes(int64(2 * n))
			var frame uint64
			for b.Loop() {
				_ = s.Scramble(y, x, 1, frame)
				frame++
			}
			reportFrame(b, n)
		})
	}
}

func BenchmarkDescramble(b *testing.B) {
	for _, n := range frameSizes {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			s := mustNew(b, testKey16, n)
			x := speechLike(1, n, true)
			y := make([]int16, n)
			b.ReportAllocs()
			b.SetBytes(int64(2 * n))
			var frame uint64
			for b.Loop() {
				_ = s.Descramble(y, x, 1, frame)
				frame++
			}
			reportFrame(b, n)
		})
	}
}

// BenchmarkParts splits the cost of a 160-sample frame into its steps.
func BenchmarkParts(b *testing.B) {
	const n = 160
	s := mustNew(b, testKey16, n)
	x := speechLike(1, n, true)
	y := make([]int16, n)
	b.Run("forward", func(b *testing.B) {
		for b.Loop() {
			s.t.forward(s.coef, x, &s.tmp)
		}
	})
	b.Run("inverse", func(b *testing.B) {
		for b.Loop() {
			s.t.inverse(y, s.coef, &s.tmp)
		}
	})
	b.Run("keystream", func(b *testing.B) {
		var f uint64
		for b.Loop() {
			s.ks.fill(1, f)
			f++
		}
	})
	b.Run("mix", func(b *testing.B) {
		for b.Loop() {
			for _, bd := range &s.bands {
				bd.layout.mix(s.coef[bd.lo:bd.hi], s.mixed, s.ks.buf[bd.off:])
			}
		}
	})
}

// reportFrame reports ns per frame and the share of the frame's duration
// (n samples at 8 kHz) one frame costs.
func reportFrame(b *testing.B, n int) {
	ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(ns, "ns/frame")
	b.ReportMetric(100*ns/(float64(n)*1e9/SampleRate), "%-of-frame")
}
