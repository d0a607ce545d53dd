package interop

import (
	"fmt"
	"math"

	"github.com/pion/rtp"

	"hushbox/audio/g711"
	"hushbox/audio/voicetest"
)

// portRange is an inclusive range of UDP ports (a daemon's --rtp-ports, or
// a phone's rtp_ports).
type portRange struct{ lo, hi int }

func (r portRange) has(p uint16) bool { return int(p) >= r.lo && int(p) <= r.hi }

func (r portRange) overlaps(o portRange) bool { return r.lo <= o.hi && o.lo <= r.hi }

func (r portRange) String() string { return fmt.Sprintf("%d-%d", r.lo, r.hi) }

// g711Frame is the decoded audio of one captured RTP packet.
type g711Frame struct {
	seq  uint16
	ts   uint32
	ssrc uint32
	pt   uint8
	pcm  []int16
}

// maxFrameSamples bounds one captured frame (G.711 at 8 kHz, up to 200 ms):
// a larger payload is not a voice frame of this test.
const maxFrameSamples = 1600

// rtpG711Frames picks, from captured datagrams, the G.711 RTP packets (PT 0
// or 8) sent from a port in from to a port in to, decodes them and keeps
// those of the SSRC with the most packets (one stream; RTCP and anything
// else in the ranges falls out). The result is in capture order.
func rtpG711Frames(dgrams []udpDatagram, from, to portRange) []g711Frame {
	var frames []g711Frame
	count := map[uint32]int{}
	for _, d := range dgrams {
		if !from.has(d.src.Port()) || !to.has(d.dst.Port()) {
			continue
		}
		var pkt rtp.Packet
		if err := pkt.Unmarshal(d.payload); err != nil || pkt.Version != 2 {
			continue
		}
		if pkt.PayloadType != 0 && pkt.PayloadType != 8 {
			continue
		}
		n := len(pkt.Payload)
		if n == 0 || n > maxFrameSamples {
			continue
		}
		pcm := make([]int16, n)
		if pkt.PayloadType == 0 {
			g711.DecodeUlawFrame(pcm, pkt.Payload)
		} else {
			g711.DecodeAlawFrame(pcm, pkt.Payload)
		}
		frames = append(frames, g711Frame{seq: pkt.SequenceNumber, ts: pkt.Timestamp, ssrc: pkt.SSRC, pt: pkt.PayloadType, pcm: pcm})
		count[pkt.SSRC]++
	}
	var best uint32
	bestN := 0
	for ssrc, n := range count {
		if n > bestN || (n == bestN && ssrc < best) {
			best, bestN = ssrc, n
		}
	}
	out := frames[:0]
	for _, f := range frames {
		if f.ssrc == best {
			out = append(out, f)
		}
	}
	return out
}

// placeFrames lays frames out on one timeline by RTP timestamp: the
// samples of a frame with timestamp ts start at pad + (ts - ts0), the
// difference taken modulo 2^32 as a signed 32-bit number (RTP timestamp
// arithmetic). Samples before 0 or at or beyond maxLen are dropped, gaps
// stay silent. Placing two streams with the same ts0 and pad puts frames
// with equal timestamps at equal positions.
func placeFrames(frames []g711Frame, ts0 uint32, pad, maxLen int) []int16 {
	end := 0
	for _, f := range frames {
		pos := pad + int(int32(f.ts-ts0))
		end = max(end, min(pos+len(f.pcm), maxLen))
	}
	out := make([]int16, max(end, 0))
	for _, f := range frames {
		pos := pad + int(int32(f.ts-ts0))
		for i, v := range f.pcm {
			if j := pos + i; j >= 0 && j < len(out) {
				out[j] = v
			}
		}
	}
	return out
}

// window returns n samples of sig starting at off, silent where sig has
// none.
func window(sig []int16, off, n int) []int16 {
	out := make([]int16, n)
	for i := range out {
		if j := off + i; j >= 0 && j < len(sig) {
			out[i] = sig[j]
		}
	}
	return out
}

// sharedTimestamps counts the frames of b whose RTP timestamp also occurs
// in a.
func sharedTimestamps(a, b []g711Frame) int {
	seen := make(map[uint32]bool, len(a))
	for _, f := range a {
		seen[f.ts] = true
	}
	n := 0
	for _, f := range b {
		if seen[f.ts] {
			n++
		}
	}
	return n
}

// alignedNoiseControl is voicetest.NoiseControl (white noise with the
// energy of x in every frame of n samples) with the frames starting at
// x[phase], x[phase+n], ... (and one partial frame x[:phase]) instead of at
// x[0]: the frames of the RTP stream the scrambler worked on, so the
// control leaks exactly the frame energies the scrambler preserves.
func alignedNoiseControl(x []int16, phase, n int, seed uint64) []int16 {
	lead := ((n-phase)%n + n) % n // zeros before x so that x[phase] starts a frame
	total := lead + len(x)
	total += (n - total%n) % n
	padded := make([]int16, total)
	copy(padded[lead:], x)
	return voicetest.NoiseControl(padded, n, seed)[lead : lead+len(x)]
}

// toFloat64 converts samples for bestNormXCorr.
func toFloat64(x []int16) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

// frameEnergy is the sum of squares of x[lo:hi].
func frameEnergy(x []int16, lo, hi int) float64 {
	var e float64
	for _, v := range x[lo:hi] {
		e += float64(v) * float64(v)
	}
	return e
}

// meanStd is the mean and (population) standard deviation of v.
func meanStd(v []float64) (float64, float64) {
	if len(v) == 0 {
		return 0, 0
	}
	var s float64
	for _, x := range v {
		s += x
	}
	m := s / float64(len(v))
	var d float64
	for _, x := range v {
		d += (x - m) * (x - m)
	}
	return m, math.Sqrt(d / float64(len(v)))
}
