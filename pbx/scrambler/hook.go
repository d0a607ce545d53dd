// Package scrambler puts the voice scrambler (crypto/scramble) on a relayed
// call: a media.Hook that scrambles G.711 audio going towards a scrambled
// leg (a hushbox trunk) and descrambles audio coming from it. It works on
// one RTP packet = one frame, which is why the relay never re-packetises.
package scrambler

import (
	"sync/atomic"

	"github.com/pion/rtp"

	"hushbox/audio/g711"
	"hushbox/crypto/scramble"
	"hushbox/pbx/media"
)

// Static payload types of G.711 (RFC 3551).
const (
	ptPCMU = 0
	ptPCMA = 8
)

// Hook scrambles one direction and descrambles the other.
type Hook struct {
	// scrambleDir is the direction whose packets leave towards the
	// scrambled leg; the other direction arrives from it.
	scrambleDir media.Direction
	dirs        [2]*direction
	// Dropped counts packets that could not be processed safely (a frame
	// size the scrambler lacks): dropped, never sent in clear.
	Dropped atomic.Uint64
	// Processed counts frames scrambled or descrambled.
	Processed atomic.Uint64
}

// direction is the state of one direction: only its relay goroutine uses it.
type direction struct {
	key        []byte
	descramble bool
	byFrame    map[int]*scramble.Scrambler
	pcm        []int16
}

// New makes a hook. scrambleDir is the relay direction that goes towards
// the scrambled leg (media.AtoB when leg B is the trunk); txKey scrambles
// it and rxKey descrambles the other direction.
func New(scrambleDir media.Direction, txKey, rxKey []byte) *Hook {
	h := &Hook{scrambleDir: scrambleDir}
	other := media.BtoA
	if scrambleDir == media.BtoA {
		other = media.AtoB
	}
	h.dirs[scrambleDir] = &direction{key: append([]byte(nil), txKey...), byFrame: map[int]*scramble.Scrambler{}}
	h.dirs[other] = &direction{key: append([]byte(nil), rxKey...), descramble: true, byFrame: map[int]*scramble.Scrambler{}}
	return h
}

// ProcessRTP implements media.Hook.
func (h *Hook) ProcessRTP(d media.Direction, pkt *rtp.Packet) bool {
	if int(d) < 0 || int(d) >= len(h.dirs) {
		return false
	}
	dir := h.dirs[d]
	pt := pkt.PayloadType
	if pt != ptPCMU && pt != ptPCMA {
		// telephone-event and comfort noise pass: they carry no speech.
		return true
	}
	n := len(pkt.Payload)
	s, ok := dir.byFrame[n]
	if !ok {
		var err error
		s, err = scramble.New(dir.key, n)
		if err != nil {
			s = nil
		}
		dir.byFrame[n] = s // remembered either way: a bad size stays bad
	}
	if s == nil {
		h.Dropped.Add(1)
		return false
	}
	if cap(dir.pcm) < n {
		dir.pcm = make([]int16, n)
	}
	pcm := dir.pcm[:n]
	if pt == ptPCMU {
		g711.DecodeUlawFrame(pcm, pkt.Payload)
	} else {
		g711.DecodeAlawFrame(pcm, pkt.Payload)
	}
	frame := uint64(pkt.Timestamp) / uint64(n)
	var err error
	if dir.descramble {
		err = s.Descramble(pcm, pcm, pkt.SSRC, frame)
	} else {
		err = s.Scramble(pcm, pcm, pkt.SSRC, frame)
	}
	if err != nil {
		h.Dropped.Add(1)
		return false
	}
	if pt == ptPCMU {
		g711.EncodeUlawFrame(pkt.Payload, pcm)
	} else {
		g711.EncodeAlawFrame(pkt.Payload, pcm)
	}
	h.Processed.Add(1)
	return true
}
