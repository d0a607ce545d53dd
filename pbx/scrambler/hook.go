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
//
// Per packet it allocates nothing, takes no lock and looks nothing up in
// a map: each direction keeps the Scrambler of the frame size it last
// saw (a call does not change its packet time) and its own counter; the
// PCM lives on the goroutine's stack (warm from the read that just ran,
// where a buffer per direction would be more cold memory per packet); and
// the payload is rewritten in place (same length, so the relay's RTP
// header is untouched).
type Hook struct {
	// scrambleDir is the direction whose packets leave towards the
	// scrambled leg; the other direction arrives from it.
	scrambleDir media.Direction
	dirs        [2]*direction
	// Dropped counts packets that could not be processed safely (a frame
	// size the scrambler lacks): dropped, never sent in clear.
	Dropped atomic.Uint64
}

// direction is the state of one direction: only its relay goroutine uses
// it (processed is read by others). Each is allocated on its own, so the
// two directions' goroutines never write the same cache line.
type direction struct {
	key        []byte
	descramble bool
	// cur is the Scrambler for frames of curN samples, the size last
	// seen; bySize keeps one per supported size (nil until used) and bad
	// the sizes New refused, so a size change costs one New at most.
	cur       *scramble.Scrambler
	curN      int
	bySize    [maxFrame/frameStep + 1]*scramble.Scrambler
	bad       [maxFrame/frameStep + 1]bool
	processed atomic.Uint64
	_         [64]byte // keep the next allocation's hot fields off this line
}

// Frame sizes the scrambler takes are multiples of frameStep up to
// maxFrame (scramble.FrameSizes: 80, 160, 240, 320).
const (
	frameStep = 80
	maxFrame  = 320
)

// New makes a hook. scrambleDir is the relay direction that goes towards
// the scrambled leg (media.AtoB when leg B is the trunk); txKey scrambles
// it and rxKey descrambles the other direction. The keys are arrays, so a
// key of the wrong size (which would leave every frame dropped) does not
// compile.
func New(scrambleDir media.Direction, txKey, rxKey [32]byte) *Hook {
	h := &Hook{scrambleDir: scrambleDir}
	other := media.BtoA
	if scrambleDir == media.BtoA {
		other = media.AtoB
	}
	h.dirs[scrambleDir] = &direction{key: txKey[:]}
	h.dirs[other] = &direction{key: rxKey[:], descramble: true}
	return h
}

// Processed returns the number of frames scrambled or descrambled.
func (h *Hook) Processed() uint64 {
	return h.dirs[0].processed.Load() + h.dirs[1].processed.Load()
}

// scrambler returns the direction's Scrambler for frames of n samples, or
// nil when the scrambler cannot take that size (or the key).
func (d *direction) scrambler(n int) *scramble.Scrambler {
	if n == d.curN && d.cur != nil {
		return d.cur
	}
	if n <= 0 || n > maxFrame || n%frameStep != 0 {
		return nil
	}
	i := n / frameStep
	if d.bad[i] {
		return nil
	}
	s := d.bySize[i]
	if s == nil {
		var err error
		if s, err = scramble.New(d.key, n); err != nil {
			d.bad[i] = true // remembered: a size the scrambler lacks stays bad
			return nil
		}
		d.bySize[i] = s
	}
	d.cur, d.curN = s, n
	return s
}

// ProcessRTP implements media.Hook. It rewrites the G.711 payload in
// place: decode to PCM, (de)scramble, encode over the same bytes.
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
	payload := pkt.Payload
	n := len(payload)
	s := dir.scrambler(n)
	if s == nil {
		h.Dropped.Add(1)
		return false
	}
	var buf [maxFrame]int16
	pcm := buf[:n]
	if pt == ptPCMU {
		g711.DecodeUlawFrame(pcm, payload)
	} else {
		g711.DecodeAlawFrame(pcm, payload)
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
		g711.EncodeUlawFrame(payload, pcm)
	} else {
		g711.EncodeAlawFrame(payload, pcm)
	}
	dir.processed.Add(1)
	return true
}
