package media

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"time"
)

// ErrNoPorts is returned (wrapped) by NewSession when the port range has
// fewer than two free port pairs.
var ErrNoPorts = errors.New("media: port range exhausted")

// ErrClosed is returned (wrapped) by NewSession after Relay.Close.
var ErrClosed = errors.New("media: relay closed")

// Relay owns a port range on one local address and the sessions using it.
// Its methods are safe for concurrent use.
type Relay struct {
	cfg   Config
	epoch time.Time // monotonic origin of the per-leg timestamps

	mu       sync.Mutex
	pool     *portPool
	sessions map[*Session]struct{}
	closed   bool
	// loop is how this relay's sessions read their sockets.
	loop loopKind
	// polls are the Linux pollers (poll_linux.go), started with the
	// first session when loop is loopAuto; none on the goroutine path.
	// Each session is read by one of them (the least loaded when it
	// opened); pollLoad counts their sessions.
	polls    []*poller
	pollLoad []int
	// pollFailed: no poller could be set up; sessions use goroutines.
	pollFailed bool
}

// loopKind is how a relay reads its sockets.
type loopKind int

const (
	// loopAuto uses the Linux poller where it is built and can be set
	// up, else goroutines.
	loopAuto loopKind = iota
	// loopGoroutines uses one goroutine per socket (loop.go).
	loopGoroutines
)

// defaultLoop is the loop kind of new relays; tests switch it to run the
// same scenarios on both paths. The Linux poller is the default where it
// is built: it costs a third less CPU per packet (docs/benchmarks.md, "The
// relay's loop"), which the issue's 0.8 x rtpengine target needs.
// HUSHBOX_MEDIA_LOOP=goroutines in the environment forces the goroutine
// path for the whole process. The poller was opt-in while two of four
// flooded hand-off runs in the test bed failed with it; the cause was its
// system calls through the Go scheduler, which lost it its P at nearly
// every batch on a CPU-starved board (poll_linux.go), since fixed.
var defaultLoop = loopFromEnv(os.Getenv("HUSHBOX_MEDIA_LOOP"))

// loopFromEnv reads HUSHBOX_MEDIA_LOOP: "goroutines" for the goroutine
// path, anything else (unset, "poller") the Linux poller where it is
// built and can be set up, else goroutines.
func loopFromEnv(v string) loopKind {
	if v == "goroutines" {
		return loopGoroutines
	}
	return loopAuto
}

// NewRelay checks cfg and returns a relay. It opens no socket until the
// first session.
func NewRelay(cfg Config) (*Relay, error) {
	cfg, err := cfg.normalise()
	if err != nil {
		return nil, err
	}
	base, pairs := cfg.pairRange()
	return &Relay{
		cfg:      cfg,
		epoch:    time.Now(),
		pool:     newPortPool(base, pairs),
		sessions: make(map[*Session]struct{}),
		loop:     defaultLoop,
	}, nil
}

// now is the time since the relay's epoch, in nanoseconds, on the
// monotonic clock (wall-clock jumps, such as the board's first NTP sync,
// do not fire timeouts).
func (r *Relay) now() int64 { return int64(time.Since(r.epoch)) }

// InUse returns the number of port pairs held by open sessions (two per
// session).
func (r *Relay) InUse() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pool.inUse
}

// Holds returns how long datagrams waited in the relay's sockets before
// it read them, summed over its pollers (hold.go); zero on the goroutine
// path, which has no receive timestamps.
func (r *Relay) Holds() HoldStats {
	r.mu.Lock()
	polls := r.polls
	r.mu.Unlock()
	var h HoldStats
	for _, p := range polls {
		h.add(p.holds())
	}
	return h
}

// NewSession allocates two port pairs (leg A and leg B), binds their
// sockets and starts relaying. It fails with ErrNoPorts when the range is
// exhausted.
func (r *Relay) NewSession() (*Session, error) {
	s := &Session{relay: r, log: r.cfg.Logger, pollSlots: [4]int32{-1, -1, -1, -1}}
	s.created = r.now()
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, fmt.Errorf("new media session: %w", ErrClosed)
	}
	p, pi := r.poller()
	if r.pool.available() < 2 {
		r.mu.Unlock()
		return nil, fmt.Errorf("new media session: %w (%d pairs in use)", ErrNoPorts, r.pool.inUse)
	}
	for i, name := range []string{"A", "B"} {
		l := &Leg{session: s, name: name}
		port, ok := r.pool.alloc(func(port int) error {
			var err error
			if p != nil {
				l.rtp, l.rtcp, err = bindRawPair(r.cfg.BindIP, port)
			} else {
				l.rtp, l.rtcp, err = r.bindPair(port)
			}
			return err
		})
		if !ok {
			if i == 1 {
				s.legs[0].rtp.Close()
				s.legs[0].rtcp.Close()
				r.pool.free(s.legs[0].port)
			}
			r.mu.Unlock()
			return nil, fmt.Errorf("new media session: %w (no bindable pair in %d-%d)",
				ErrNoPorts, r.cfg.PortMin, r.cfg.PortMax)
		}
		l.port = port
		s.legs[i] = l
	}
	// Started under r.mu: Relay.Close cannot see the session before its
	// readers are in place.
	if p != nil {
		if err := p.add(s); err != nil {
			for _, l := range s.legs {
				_ = l.rtp.Close()
				_ = l.rtcp.Close()
				r.pool.free(l.port)
			}
			r.mu.Unlock()
			return nil, fmt.Errorf("new media session: %w", err)
		}
		s.polled, s.pollIdx = p, pi
		r.pollLoad[pi]++
	} else {
		s.startLoops()
	}
	r.sessions[s] = struct{}{}
	r.mu.Unlock()
	s.startTimer()
	s.log.Debug("media: session open", "portA", s.legs[0].port, "portB", s.legs[1].port)
	return s, nil
}

// maxPollers bounds the pollers of a relay.
const maxPollers = 4

// pollerCount is how many pollers a relay runs: one per CPU the Go
// scheduler uses, less one, at least one and at most maxPollers. Measured
// on 2 CPUs with pollers then blocked in epoll_wait on their own threads,
// two cost as much CPU per packet as the goroutine path and one 40 % less;
// one poller carries the 400 calls of the benchmark at about half a core.
func pollerCount() int {
	return max(1, min(runtime.GOMAXPROCS(0)-1, maxPollers))
}

// poller returns the least loaded of the relay's pollers and its index,
// starting them on first use, or nil when sessions are to use goroutines.
// r.mu must be held.
func (r *Relay) poller() (*poller, int) {
	if r.loop != loopAuto || !havePoller || r.pollFailed {
		return nil, 0
	}
	if len(r.polls) == 0 {
		for range pollerCount() {
			p, err := newPoller(r.cfg.Logger)
			if err != nil {
				r.cfg.Logger.Warn("media: poller unavailable", "err", err)
				break
			}
			r.polls = append(r.polls, p)
		}
		if len(r.polls) == 0 {
			r.pollFailed = true
			r.cfg.Logger.Warn("media: no poller, one goroutine per socket instead")
			return nil, 0
		}
		r.pollLoad = make([]int, len(r.polls))
	}
	best := 0
	for i, n := range r.pollLoad {
		if n < r.pollLoad[best] {
			best = i
		}
	}
	return r.polls[best], best
}

// bindPair opens the RTP socket on port and the RTCP socket on port+1 as
// *net.UDPConn, for the goroutine path.
func (r *Relay) bindPair(port int) (rtp, rtcp udpSock, err error) {
	network := "udp4"
	if r.cfg.BindIP.Is6() {
		network = "udp6"
	}
	a, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(netip.AddrPortFrom(r.cfg.BindIP, uint16(port))))
	if err != nil {
		return nil, nil, fmt.Errorf("bind rtp %d: %w", port, err)
	}
	b, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(netip.AddrPortFrom(r.cfg.BindIP, uint16(port+1))))
	if err != nil {
		a.Close()
		return nil, nil, fmt.Errorf("bind rtcp %d: %w", port+1, err)
	}
	return a, b, nil
}

// release returns a closed session's ports.
func (r *Relay) release(s *Session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.sessions[s]; !ok {
		return
	}
	delete(r.sessions, s)
	if s.polled != nil && s.pollIdx < len(r.pollLoad) {
		r.pollLoad[s.pollIdx]--
	}
	for _, l := range s.legs {
		r.pool.free(l.port)
	}
}

// Close closes every session and refuses new ones. It is idempotent.
func (r *Relay) Close() error {
	r.mu.Lock()
	r.closed = true
	open := make([]*Session, 0, len(r.sessions))
	for s := range r.sessions {
		open = append(open, s)
	}
	r.mu.Unlock()
	for _, s := range open {
		s.Close()
	}
	// Every session is out of the pollers now, and no new one can come.
	r.mu.Lock()
	polls := r.polls
	r.polls, r.pollLoad = nil, nil
	r.mu.Unlock()
	for _, p := range polls {
		p.stop()
	}
	return nil
}

// unmap turns an IPv4-mapped IPv6 source into plain IPv4, so latched
// addresses compare equal to SDP addresses.
func unmap(ap netip.AddrPort) netip.AddrPort {
	if ap.Addr().Is4In6() {
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return ap
}
