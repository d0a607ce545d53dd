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
	var k1, k2 [32]byte
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
	h := New(media.AtoB, [32]byte{}, [32]byte{})
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

// TestFrameSizeChange: a stream that changes its packet time mid-call is
// still scrambled and descrambled frame by frame (each size with its own
// Scrambler), every frame is counted, and a size the scrambler lacks is
// dropped, not sent in clear.
func TestFrameSizeChange(t *testing.T) {
	var k1, k2 [32]byte
	k1[0], k2[0] = 1, 2
	tx := New(media.AtoB, k1, k2)
	rx := New(media.BtoA, k2, k1)
	ts := uint32(0)
	for i, n := range []int{160, 160, 80, 240, 320, 160, 120, 160} {
		pcm := tone(n, int(ts))
		payload := make([]byte, n)
		g711.EncodeUlawFrame(payload, pcm)
		pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: ptPCMU, SSRC: 7, Timestamp: ts}, Payload: payload}
		ts += uint32(n)
		okTx := tx.ProcessRTP(media.AtoB, pkt)
		if n == 120 {
			if okTx {
				t.Fatalf("packet %d: %d samples went out", i, n)
			}
			continue
		}
		if !okTx || !rx.ProcessRTP(media.AtoB, pkt) {
			t.Fatalf("packet %d: %d samples dropped", i, n)
		}
		got := make([]int16, n)
		g711.DecodeUlawFrame(got, pkt.Payload)
		if c := corr(pcm, got); c < 0.95 {
			t.Errorf("packet %d (%d samples): round trip correlates %.3f", i, n, c)
		}
	}
	if got := tx.Processed(); got != 7 {
		t.Errorf("Processed = %d, want 7", got)
	}
	if got := tx.Dropped.Load(); got != 1 {
		t.Errorf("Dropped = %d, want 1", got)
	}
}

// TestNoAllocations: the per-packet path allocates nothing once the
// Scrambler of the size exists.
func TestNoAllocations(t *testing.T) {
	h := New(media.AtoB, [32]byte{}, [32]byte{})
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: ptPCMA, SSRC: 9}, Payload: make([]byte, 160)}
	h.ProcessRTP(media.AtoB, pkt)
	for _, d := range []media.Direction{media.AtoB, media.BtoA} {
		if a := testing.AllocsPerRun(100, func() { pkt.Timestamp += 160; h.ProcessRTP(d, pkt) }); a != 0 {
			t.Errorf("direction %v: %v allocations per packet, want 0", d, a)
		}
	}
}
