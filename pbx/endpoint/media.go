package endpoint

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"hushbox/audio"
	"hushbox/audio/g711"
	"hushbox/crypto/keys"
	"hushbox/crypto/scramble"
)

// relatchAfter is how long the latched SSRC must be silent before another
// one is accepted.
const relatchAfter = 2 * time.Second

// DTMF timing (RFC 4733): each key is sent as a 100 ms event, then its end
// packet three times.
const (
	dtmfToneFrames = 5
	dtmfEndCopies  = 3
	dtmfVolume     = 10
)

// stream is the RTP media of one call: the sender, the receiver and the
// playout. It owns nothing but its goroutines: the socket and the device
// belong to the Endpoint.
type stream struct {
	conn *net.UDPConn
	dev  audio.Device
	plan mediaPlan
	log  *slog.Logger
	emit func(Event)

	tx, rx *scramble.Scrambler // nil: clear call

	jb   *jitterBuffer
	dtmf chan rune

	ssrc uint32
	seq  uint16
	ts   uint32

	stop chan struct{}
	wg   sync.WaitGroup

	// Counters for the UI and tests.
	sent, received, dropped, dtmfSent atomic.Uint64

	// moved is where RTP goes after a re-INVITE moved the peer's media
	// (follow.go); nil: plan.Remote.
	moved atomic.Pointer[net.UDPAddr]
}

// newStream prepares the media of a call. ck (nil for a clear call) keys
// the scramblers; it is not kept.
func newStream(conn *net.UDPConn, dev audio.Device, plan mediaPlan, ck *keys.CallKeys, jitter int, log *slog.Logger, emit func(Event)) (*stream, error) {
	s := &stream{conn: conn, dev: dev, plan: plan, log: log, emit: emit,
		jb: newJitterBuffer(jitter), dtmf: make(chan rune, 32), stop: make(chan struct{})}
	if ck != nil {
		var err error
		if s.tx, err = scramble.New(ck.ScrambleTx[:], audio.FrameLen); err != nil {
			return nil, err
		}
		if s.rx, err = scramble.New(ck.ScrambleRx[:], audio.FrameLen); err != nil {
			return nil, err
		}
	}
	var b [10]byte
	_, _ = rand.Read(b[:])
	s.ssrc = binary.BigEndian.Uint32(b[0:4])
	s.seq = binary.BigEndian.Uint16(b[4:6])
	s.ts = binary.BigEndian.Uint32(b[6:10])
	return s, nil
}

// start runs the sender, the receiver and the playout.
func (s *stream) start() {
	s.wg.Add(3)
	go s.sender()
	go s.receiver()
	go s.playout()
}

// close stops the goroutines and waits for them.
func (s *stream) close() {
	select {
	case <-s.stop:
		return
	default:
	}
	close(s.stop)
	// Wake the receiver blocked in ReadFrom.
	_ = s.conn.SetReadDeadline(time.Now())
	s.wg.Wait()
	_ = s.conn.SetReadDeadline(time.Time{})
}

func (s *stream) stopped() bool {
	select {
	case <-s.stop:
		return true
	default:
		return false
	}
}

// remote is where RTP goes, nil when the peer wants none.
func (s *stream) remote() *net.UDPAddr {
	if !s.plan.Send {
		return nil
	}
	return net.UDPAddrFromAddrPort(s.plan.Remote)
}

// sender reads one frame from the capture device every 20 ms (the device
// paces it; a finished source is replaced by paced silence), scrambles it
// when the call is scrambled, encodes it and sends it. DTMF keys queued by
// SendDTMF replace the audio while they play. A device without a clock of
// its own (ALSA's null and file plugins, virtual devices) returns frames as
// fast as they are asked for: the capture clock keeps the sender from
// running more than a few frames ahead of real time, so such a device
// cannot flood the call.
func (s *stream) sender() {
	defer s.wg.Done()
	pcm := make([]int16, audio.FrameLen)
	payload := make([]byte, audio.FrameLen)
	buf := make([]byte, 0, 12+audio.FrameLen)
	dst := s.remote()
	first := true
	var eof bool
	var tick *time.Ticker
	defer func() {
		if tick != nil {
			tick.Stop()
		}
	}()
	var clock captureClock
	// DTMF state: frames left of the current event.
	var ev dtmfEvent
	evFrames, evEnds := 0, 0
	var evTS uint32
	for !s.stopped() {
		if !eof {
			if err := s.dev.ReadFrame(pcm); err != nil {
				if !errors.Is(err, io.EOF) {
					s.log.Warn("capture failed; sending silence", "err", err)
				}
				eof = true
				tick = time.NewTicker(audio.FrameMillis * time.Millisecond)
			}
		}
		if eof {
			clear(pcm)
			select {
			case <-tick.C:
			case <-s.stop:
				return
			}
		} else if wait := clock.frame(time.Now()); wait > 0 {
			select {
			case <-time.After(wait):
			case <-s.stop:
				return
			}
		}
		if s.stopped() {
			return
		}
		ts := s.ts
		s.ts += audio.FrameLen
		if evFrames == 0 && evEnds == 0 && s.plan.DTMFPT != 0 {
			select {
			case d := <-s.dtmf:
				if code, err := eventCode(d); err == nil {
					ev = dtmfEvent{Event: code, Volume: dtmfVolume}
					evFrames, evEnds, evTS = dtmfToneFrames, dtmfEndCopies, ts
				}
			default:
			}
		}
		hdr := rtp.Header{Version: 2, SequenceNumber: s.seq, SSRC: s.ssrc}
		var body []byte
		switch {
		case evFrames > 0 || evEnds > 0:
			hdr.PayloadType, hdr.Timestamp = s.plan.DTMFPT, evTS
			hdr.Marker = evFrames == dtmfToneFrames
			if evFrames > 0 {
				evFrames--
				ev.Duration = uint16((dtmfToneFrames - evFrames) * audio.FrameLen)
			} else {
				ev.End = true
				evEnds--
				if evEnds == 0 {
					s.dtmfSent.Add(1)
				}
			}
			body = ev.marshal(payload)
		default:
			hdr.PayloadType, hdr.Timestamp, hdr.Marker = s.plan.PT, ts, first
			first = false
			if err := s.encodeVoice(payload, pcm, ts); err != nil {
				s.dropped.Add(1)
				continue // never send a frame in clear on a scrambled call
			}
			body = payload
		}
		s.seq++
		if m := s.moved.Load(); m != nil && dst != nil {
			dst = m
		}
		if dst == nil {
			continue
		}
		pkt := rtp.Packet{Header: hdr, Payload: body}
		b, err := pkt.Header.MarshalTo(buf[:cap(buf)])
		if err != nil {
			continue
		}
		out := append(buf[:b], body...)
		if _, err := s.conn.WriteToUDP(out, dst); err == nil {
			s.sent.Add(1)
		}
	}
}

// encodeVoice scrambles pcm in place (on a scrambled call) as frame ts/160
// of our SSRC and encodes it into payload with the negotiated law.
func (s *stream) encodeVoice(payload []byte, pcm []int16, ts uint32) error {
	if s.tx != nil {
		if err := s.tx.Scramble(pcm, pcm, s.ssrc, uint64(ts)/audio.FrameLen); err != nil {
			return err
		}
	}
	if s.plan.Alaw {
		g711.EncodeAlawFrame(payload, pcm)
	} else {
		g711.EncodeUlawFrame(payload, pcm)
	}
	return nil
}

// errFrameSize: a voice packet that is not one 20 ms frame.
var errFrameSize = errors.New("endpoint: voice packet is not one 20 ms frame")

// decodeVoice decodes a G.711 packet into pcm and descrambles it (on a
// scrambled call) with the packet's SSRC and frame number.
func (s *stream) decodeVoice(pcm []int16, pkt *rtp.Packet) error {
	if len(pkt.Payload) != audio.FrameLen {
		return errFrameSize
	}
	if pkt.PayloadType == 8 || (pkt.PayloadType == s.plan.PT && s.plan.Alaw) {
		g711.DecodeAlawFrame(pcm, pkt.Payload)
	} else {
		g711.DecodeUlawFrame(pcm, pkt.Payload)
	}
	if s.rx != nil {
		return s.rx.Descramble(pcm, pcm, pkt.SSRC, uint64(pkt.Timestamp)/audio.FrameLen)
	}
	return nil
}

// fromPeer says whether RTP from address a is the peer's: the address the
// call was set up with, or the one a re-INVITE moved the peer's media to
// (a PBX handing the call to its cloud peer and back). Both are accepted
// after a move, so packets still on the old path play too.
func (s *stream) fromPeer(a netip.Addr) bool {
	if !s.plan.Remote.IsValid() || a == s.plan.Remote.Addr() {
		return true
	}
	if m := s.moved.Load(); m != nil {
		if ma, ok := netip.AddrFromSlice(m.IP); ok && ma.Unmap() == a {
			return true
		}
	}
	return false
}

// receiver reads RTP from the peer: G.711 frames are decoded, descrambled
// on a scrambled call and queued for playout; telephone-event packets
// become EventDTMF (one per event). Anything else is dropped.
func (s *stream) receiver() {
	defer s.wg.Done()
	buf := make([]byte, 1500)
	pcm := make([]int16, audio.FrameLen)
	var pkt rtp.Packet
	var lastEventTS uint32
	haveEvent := false
	// The stream latches onto the first SSRC it hears; another SSRC is
	// dropped until the latched one has been silent for relatchAfter (a
	// sender that restarted), so packets injected from the peer's address
	// cannot restart the jitter buffer or play.
	var ssrc uint32
	var heard time.Time
	latched := false
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(buf)
		if s.stopped() {
			return
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		if !s.fromPeer(from.Addr().Unmap()) {
			s.dropped.Add(1)
			continue
		}
		if err := pkt.Unmarshal(buf[:n]); err != nil || pkt.Version != 2 {
			s.dropped.Add(1)
			continue
		}
		now := time.Now()
		if latched && pkt.SSRC != ssrc && now.Sub(heard) < relatchAfter {
			s.dropped.Add(1)
			continue
		}
		ssrc, heard, latched = pkt.SSRC, now, true
		switch {
		case s.plan.DTMFPT != 0 && pkt.PayloadType == s.plan.DTMFPT:
			ev, ok := parseDTMF(pkt.Payload)
			if !ok {
				s.dropped.Add(1)
				continue
			}
			if haveEvent && pkt.Timestamp == lastEventTS {
				continue
			}
			haveEvent, lastEventTS = true, pkt.Timestamp
			if d := ev.Digit(); d != 0 {
				s.emit(Event{Kind: EventDTMF, Digit: d})
			}
		case pkt.PayloadType == 0 || pkt.PayloadType == 8 || pkt.PayloadType == s.plan.PT:
			if err := s.decodeVoice(pcm, &pkt); err != nil {
				s.dropped.Add(1)
				continue
			}
			s.received.Add(1)
			s.jb.Push(pkt.SequenceNumber, pkt.Timestamp, pkt.Marker, pcm)
		default:
			s.dropped.Add(1)
		}
	}
}

// playout writes one frame to the playback device per 20 ms from the
// jitter buffer (concealing what is missing). Until the first packet
// arrives it plays silence on its own clock; then its clock is anchored to
// that arrival, so slot k plays at arrival + (k+1)*20 ms and a frame waits
// exactly the jitter buffer's delay (no extra phase between arrival and
// the playout clock). Slots are
// counted by the clock, not by wake-ups, so a starved goroutine catches up
// instead of falling behind the sender.
func (s *stream) playout() {
	defer s.wg.Done()
	const slot = audio.FrameMillis * time.Millisecond
	timer := time.NewTimer(slot)
	defer timer.Stop()
	pcm := make([]int16, audio.FrameLen)
	anchor := time.Now()
	anchored := false
	played := 0
	for {
		select {
		case <-s.stop:
			return
		case <-timer.C:
		}
		if !anchored {
			if t, ok := s.jb.Anchor(); ok {
				anchor, anchored, played = t, true, 0
			}
		}
		// Slot k plays at anchor + (k+1)*20 ms: the first frame waits the
		// buffer's delay of at least one frame from its arrival.
		due := int(time.Since(anchor) / slot)
		if due-played > maxBufferedFrames {
			played = due - maxBufferedFrames // bounded catch-up after a long stall
		}
		for ; played < due; played++ {
			s.jb.Pop(pcm)
			if err := s.dev.WriteFrame(pcm); err != nil {
				s.log.Warn("playback failed", "err", err)
				return
			}
		}
		next := anchor.Add(time.Duration(played+1) * slot)
		timer.Reset(max(time.Until(next), time.Millisecond))
	}
}

// sendDTMF queues one key.
func (s *stream) sendDTMF(d rune) error {
	if _, err := eventCode(d); err != nil {
		return err
	}
	if s.plan.DTMFPT == 0 {
		return errors.New("endpoint: the peer does not take RFC 4733 events")
	}
	select {
	case s.dtmf <- d:
		return nil
	default:
		return errors.New("endpoint: too many DTMF keys queued")
	}
}

// remoteAddr is the negotiated RTP destination (for logs).
func (s *stream) remoteAddr() netip.AddrPort { return s.plan.Remote }
