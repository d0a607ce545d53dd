package scrambler

import (
	"bytes"
	"testing"

	"github.com/pion/rtp"

	"hushbox/pbx/media"
)

// BenchmarkHook measures the scrambler's per-packet work on the relay: one
// 20 ms PCMU frame (160 bytes) through ProcessRTP, scrambled (towards the
// trunk) and descrambled (from it). Compare with media's BenchmarkForward
// (the relay's own per-packet work) and BenchmarkRelayLoopback (with the
// socket hops) for the share scrambling adds.
func BenchmarkHook(b *testing.B) {
	for _, c := range []struct {
		name string
		dir  media.Direction
	}{{"scramble", media.AtoB}, {"descramble", media.BtoA}} {
		b.Run(c.name, func(b *testing.B) {
			h := New(media.AtoB, [32]byte(bytes.Repeat([]byte{1}, 32)), [32]byte(bytes.Repeat([]byte{2}, 32)))
			payload := make([]byte, 160)
			for i := range payload {
				payload[i] = byte(i * 7)
			}
			pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: ptPCMU, SSRC: 42}, Payload: payload}
			b.SetBytes(int64(len(payload)))
			b.ReportAllocs()
			ts := uint32(0)
			for b.Loop() {
				pkt.Timestamp = ts
				ts += 160
				if !h.ProcessRTP(c.dir, pkt) {
					b.Fatal("dropped")
				}
			}
		})
	}
}
