package endpoint

import (
	"testing"

	"github.com/pion/rtp"

	"hushbox/audio"
	"hushbox/crypto/keys"
)

// benchFrames measures the media work of one endpoint per 20 ms frame of a
// call: encode (scramble + G.711) and packetize one frame, depacketize,
// decode (G.711 + descramble) and queue/play one frame. It reports the CPU
// share of one core that a call takes ("cpu%/call").
func benchFrames(b *testing.B, ck *keys.CallKeys) {
	plan := mediaPlan{PT: 0, DTMFPT: dtmfPT, Send: true}
	s, err := newStream(nil, nil, plan, ck, 1, nil, func(Event) {})
	if err != nil {
		b.Fatal(err)
	}
	src := speechLike(1)
	pcm := make([]int16, audio.FrameLen)
	out := make([]int16, audio.FrameLen)
	payload := make([]byte, audio.FrameLen)
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		off := (i * audio.FrameLen) % (len(src) - audio.FrameLen)
		copy(pcm, src[off:off+audio.FrameLen])
		ts := uint32(i * audio.FrameLen)
		if err := s.encodeVoice(payload, pcm, ts); err != nil {
			b.Fatal(err)
		}
		p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: uint16(i), Timestamp: ts, SSRC: s.ssrc}, Payload: payload}
		n, err := p.MarshalTo(buf)
		if err != nil {
			b.Fatal(err)
		}
		if err := pkt.Unmarshal(buf[:n]); err != nil {
			b.Fatal(err)
		}
		if err := s.decodeVoice(pcm, &pkt); err != nil {
			b.Fatal(err)
		}
		s.jb.Push(pkt.SequenceNumber, pkt.Timestamp, pkt.Marker, pcm)
		s.jb.Pop(out)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(audio.FrameMillis*1e6)*100, "cpu%/call")
}

// BenchmarkCallFrameScrambled: a scrambled call (the rx scrambler is keyed
// with the tx key so the frame descrambles back).
func BenchmarkCallFrameScrambled(b *testing.B) {
	ck := &keys.CallKeys{}
	for i := range ck.ScrambleTx {
		ck.ScrambleTx[i] = byte(i)
	}
	ck.ScrambleRx = ck.ScrambleTx
	benchFrames(b, ck)
}

// BenchmarkCallFrameClear: the same call in clear.
func BenchmarkCallFrameClear(b *testing.B) { benchFrames(b, nil) }
