package scrambler

import (
	"math"
	"testing"

	"github.com/pion/rtp"

	"hushbox/audio/g711"
	"hushbox/pbx/media"
)

func tone(n, start int) []int16 {
	out := make([]int16, n)
	for i := range out {
		t := float64(start+i) / 8000
		out[i] = int16(6000*math.Sin(2*math.Pi*440*t) + 3000*math.Sin(2*math.Pi*1250*t))
	}
	return out
}

func corr(a, b []int16) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb+1e-9)
}

// Box A scrambles towards the trunk; box B descrambles what comes from it.
// What B's phone gets matches what A's phone sent; what crosses the trunk
// does not.
func TestTrunkRoundTrip(t *testing.T) {
	k1, k2 := make([]byte, 32), make([]byte, 32)
	for i := range k1 {
		k1[i], k2[i] = byte(i), byte(100+i)
	}
	boxA := New(media.AtoB, k1, k2) // A's leg B is the trunk
	boxB := New(media.BtoA, k2, k1) // B's leg A is the trunk
	for _, law := range []uint8{ptPCMU, ptPCMA} {
		var src, wire, out []int16
		for f := 0; f < 20; f++ {
			pcm := tone(160, f*160)
			payload := make([]byte, 160)
			if law == ptPCMU {
				g711.EncodeUlawFrame(payload, pcm)
			} else {
				g711.EncodeAlawFrame(payload, pcm)
			}
			pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: law, SSRC: 0x1234, Timestamp: uint32(1000 + f*160)}, Payload: payload}
			dec := func() []int16 {
				x := make([]int16, 160)
				if law == ptPCMU {
					g711.DecodeUlawFrame(x, pkt.Payload)
				} else {
					g711.DecodeAlawFrame(x, pkt.Payload)
				}
				return x
			}
			src = append(src, dec()...)
			if !boxA.ProcessRTP(media.AtoB, pkt) {
				t.Fatal("scramble dropped a frame")
			}
			wire = append(wire, dec()...)
			if !boxB.ProcessRTP(media.AtoB, pkt) {
				t.Fatal("descramble dropped a frame")
			}
			out = append(out, dec()...)
		}
		if c := corr(src, out); c < 0.95 {
			t.Errorf("PT %d: descrambled correlates %.3f with the source", law, c)
		}
		if c := math.Abs(corr(src, wire)); c > 0.3 {
			t.Errorf("PT %d: trunk audio correlates %.3f with the source", law, c)
		}
	}
}

func TestPassAndDrop(t *testing.T) {
	h := New(media.AtoB, make([]byte, 32), make([]byte, 32))
	dtmf := &rtp.Packet{Header: rtp.Header{PayloadType: 101}, Payload: []byte{1, 2, 3, 4}}
	if !h.ProcessRTP(media.AtoB, dtmf) || string(dtmf.Payload) != "\x01\x02\x03\x04" {
		t.Fatal("telephone-event must pass untouched")
	}
	odd := &rtp.Packet{Header: rtp.Header{PayloadType: 0}, Payload: make([]byte, 100)}
	if h.ProcessRTP(media.AtoB, odd) {
		t.Fatal("a frame the scrambler cannot take went out (in clear)")
	}
	if h.Dropped.Load() != 1 {
		t.Fatalf("dropped = %d", h.Dropped.Load())
	}
}
