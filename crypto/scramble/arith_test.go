package scramble

import (
	"math/rand/v2"
	"testing"
)

// TestRoundDivSat checks the division-free rounding of the inverse against
// the definition sat16(roundDiv(v, o<<s)) for the four divisors the frame
// sizes use, at the rounding ties, the saturation edges and at random.
func TestRoundDivSat(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		s uint
		o int64
	}{{15, 5}, {16, 5}, {15, 15}, {17, 5}} {
		d := tc.o << tc.s
		var vs []int64
		for q := int64(-32770); q <= 32770; q += 1 {
			for _, off := range []int64{-d/2 - 1, -d / 2, -d/2 + 1, 0, d/2 - 1, d / 2, d/2 + 1} {
				vs = append(vs, q*d+off)
			}
		}
		for range 100000 {
			vs = append(vs, r.Int64N(1<<50)-1<<49, r.Int64N(1<<62)-1<<61)
		}
		for _, v := range vs {
			want := sat16(roundDiv(v, d))
			if got := roundDivSat(v, tc.s, tc.o); got != want {
				t.Fatalf("roundDivSat(%d, %d, %d) = %d, want %d", v, tc.s, tc.o, got, want)
			}
		}
	}
}
