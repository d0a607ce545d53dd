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
			s := mustNew(b, testKeyB, n)
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
			s := mustNew(b, testKeyB, n)
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
	s := mustNew(b, testKeyB, n)
	x := speechLike(1, n, true)
	y := make([]int16, n)
	w := getWork(n, s.ks.size)
	b.Run("forward", func(b *testing.B) {
		for b.Loop() {
			s.t.forward(w.coef, x, &w.tmp)
		}
	})
	b.Run("inverse", func(b *testing.B) {
		for b.Loop() {
			s.t.inverse(y, w.coef, &w.tmp)
		}
	})
	b.Run("keystream", func(b *testing.B) {
		var f uint64
		for b.Loop() {
			s.ks.fill(&w.ks, 1, f)
			f++
		}
	})
	b.Run("mix", func(b *testing.B) {
		for b.Loop() {
			for _, bd := range &s.bands {
				bd.layout.mix(w.coef[bd.lo:bd.hi], w.mixed, w.ks.buf[bd.off:])
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

// BenchmarkScrambleCalls scrambles one 20 ms frame for each of many
// Scramblers in turn, as a relay carrying that many call directions does:
// every frame then finds its Scrambler's state out of the core's caches,
// which BenchmarkScramble (one Scrambler, always hot) does not show.
func BenchmarkScrambleCalls(b *testing.B) {
	const n = 160
	for _, calls := range []int{1, 200} {
		b.Run(fmt.Sprintf("dirs=%d", calls), func(b *testing.B) {
			ss := make([]*Scrambler, calls)
			for i := range ss {
				key := append([]byte(nil), testKeyB...)
				key[0] = byte(i)
				ss[i] = mustNew(b, key, n)
			}
			x := speechLike(1, n, true)
			y := make([]int16, n)
			b.ReportAllocs()
			var frame uint64
			i := 0
			for b.Loop() {
				_ = ss[i].Scramble(y, x, 1, frame)
				if i++; i == calls {
					i = 0
					frame++
				}
			}
			reportFrame(b, n)
		})
	}
}
