package media

import (
	"log/slog"
	"maps"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

// Hook sees every RTP packet a session relays, after transcoding and
// payload-type mapping (the packet as it will be sent). It may change the
// packet (header fields, payload, payload length); returning false drops
// it. This is where the scrambler sits.
//
// ProcessRTP is called from the session's readers (the relay's poller on
// Linux, else a goroutine per socket): calls for one direction never
// overlap, calls for AtoB and BtoA may run at the same time. pkt and its
// slices are only valid during the call. A hook must not call
// Session.Close or Relay.NewSession (both wait for the reader that is
// running the hook).
type Hook interface {
	ProcessRTP(d Direction, pkt *rtp.Packet) bool
}

// hookBox lets an interface value live in an atomic.Pointer.
type hookBox struct{ h Hook }

// Session relays one call's media between leg A (caller side) and leg B
// (callee side). Its methods are safe for concurrent use.
type Session struct {
	relay *Relay
	log   *slog.Logger
	legs  [2]*Leg

	rules [2]atomic.Pointer[rules] // per Direction; nil = untouched
	hook  atomic.Pointer[hookBox]

	mu        sync.Mutex // guards the fields below
	settings  [2]dirSettings
	onTimeout func()
	timer     *time.Timer
	timedOut  bool

	created int64 // nanoseconds since relay epoch
	// armed is when the media timeout was last (re)started, in the same
	// clock; Arm moves it so ringing time does not count as silence.
	armed     atomic.Int64
	closed    atomic.Bool
	closeOnce sync.Once
	wg        sync.WaitGroup // the goroutine path's readers

	// polled is the poller reading the session's sockets (nil on the
	// goroutine path); pollSlots are its slots there, owned by the
	// poller goroutine (-1: none).
	polled    *poller
	pollIdx   int // polled's index in the relay's pollers
	pollSlots [4]int32
}

// A returns leg A, the caller side.
func (s *Session) A() *Leg { return s.legs[0] }

// B returns leg B, the callee side.
func (s *Session) B() *Leg { return s.legs[1] }

// Leg returns the leg media of direction d is received on (A for AtoB).
func (s *Session) Leg(d Direction) *Leg {
	if d == BtoA {
		return s.legs[1]
	}
	return s.legs[0]
}

// SetTranscode sets the payload conversion for direction d: packets with
// payload type t.FromPT get their payload converted by t.Kind, in place,
// and their payload type rewritten to t.ToPT. It replaces an earlier
// SetTranscode for d and takes precedence over SetPTMap for FromPT. The
// zero Transcode clears it. Payload types above 127 or an unknown Kind are
// ignored (logged).
func (s *Session) SetTranscode(d Direction, t Transcode) {
	if !d.valid() || t.FromPT > 127 || t.ToPT > 127 || t.Kind < None || t.Kind > AlawToUlaw {
		s.log.Warn("media: SetTranscode ignored", "direction", d, "from", t.FromPT, "to", t.ToPT, "kind", t.Kind)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.settings[d]
	st.transcode, st.hasTC = t, t != (Transcode{})
	s.rules[d].Store(st.compile())
}

// SetPTMap renumbers payload type from to payload type to in direction d
// (for example telephone-event 101 -> 96); payload types not mapped pass
// unchanged. Mapping a type to itself removes its mapping. Values above 127
// are ignored (logged).
func (s *Session) SetPTMap(d Direction, from, to uint8) {
	if !d.valid() || from > 127 || to > 127 {
		s.log.Warn("media: SetPTMap ignored", "direction", d, "from", from, "to", to)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.settings[d]
	m := maps.Clone(st.ptmap)
	if m == nil {
		m = make(map[uint8]uint8)
	}
	if from == to {
		delete(m, from)
	} else {
		m[from] = to
	}
	st.ptmap = m
	s.rules[d].Store(st.compile())
}

// ClearPTMaps removes every payload type mapping of both directions; the
// B2BUA calls it before applying a new offer/answer (re-INVITE).
func (s *Session) ClearPTMaps() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for d := range s.settings {
		s.settings[d].ptmap = nil
		s.rules[d].Store(s.settings[d].compile())
	}
}

// SetHook installs h for both directions; nil removes the hook.
func (s *Session) SetHook(h Hook) {
	if h == nil {
		s.hook.Store(nil)
		return
	}
	s.hook.Store(&hookBox{h: h})
}

// OnTimeout sets the function called (once, on its own goroutine) when
// neither leg has received RTP for the relay's Timeout. If the session has
// already timed out, f is called right away. The session keeps relaying
// after a timeout until it is closed.
func (s *Session) OnTimeout(f func()) {
	s.mu.Lock()
	s.onTimeout = f
	fire := s.timedOut && f != nil
	s.mu.Unlock()
	if fire {
		go f()
	}
}

// Close stops the session: closes its sockets, waits for its goroutines
// and gives its ports back to the relay. It is idempotent and returns when
// everything is released.
func (s *Session) Close() {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.mu.Lock()
		if s.timer != nil {
			s.timer.Stop()
		}
		s.mu.Unlock()
		if s.polled != nil {
			// Out of the epoll set before the sockets close: a
			// closed socket (or a reused descriptor) is never read.
			s.polled.remove(s)
		}
		for _, l := range s.legs {
			_ = l.rtp.Close()
			_ = l.rtcp.Close()
		}
		s.wg.Wait()
		s.relay.release(s)
		s.log.Debug("media: session closed", "portA", s.legs[0].port, "portB", s.legs[1].port)
	})
}

// Arm restarts the inactivity window from now. The B2BUA calls it when a
// call is answered: a phone ringing for a minute sends no RTP, and that
// silence must not count against the answered call.
func (s *Session) Arm() {
	s.armed.Store(s.relay.now())
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return
	}
	s.timedOut = false
	if s.timer != nil {
		s.timer.Reset(s.relay.cfg.Timeout)
	}
}

// startTimer arms the inactivity watchdog.
func (s *Session) startTimer() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.timer = time.AfterFunc(s.relay.cfg.Timeout, s.checkTimeout)
}

// checkTimeout runs on the timer: it fires OnTimeout when the session has
// been idle for Timeout, else re-arms for the rest of the idle window.
func (s *Session) checkTimeout() {
	if s.closed.Load() {
		return
	}
	last := max(s.legs[0].lastRTP.Load(), s.legs[1].lastRTP.Load(), s.created, s.armed.Load())
	idle := time.Duration(s.relay.now() - last)
	timeout := s.relay.cfg.Timeout
	s.mu.Lock()
	if idle < timeout {
		s.timer.Reset(timeout - idle)
		s.mu.Unlock()
		return
	}
	s.timedOut = true
	f := s.onTimeout
	s.mu.Unlock()
	s.log.Info("media: session timed out", "portA", s.legs[0].port, "portB", s.legs[1].port, "idle", idle)
	if f != nil {
		f()
	}
}

// String describes the session for logs.
func (s *Session) String() string {
	return "media session " + netip.AddrPortFrom(s.relay.cfg.BindIP, uint16(s.legs[0].port)).String() +
		" <-> " + netip.AddrPortFrom(s.relay.cfg.BindIP, uint16(s.legs[1].port)).String()
}
