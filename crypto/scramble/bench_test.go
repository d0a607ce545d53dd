package scramble

import (
	"fmt"
	"testing"
)

// BenchmarkScramble and BenchmarkDescramble report the cost of one frame
// (ns/op is ns per frame) for every frame size; 160 samples (20 ms) is the
// one every call uses. A 20 ms frame must cost well under 20 ms on the
// boards.
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
