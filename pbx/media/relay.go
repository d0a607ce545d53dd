package media

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
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

// NewSession allocates two port pairs (leg A and leg B), binds their
// sockets and starts relaying. It fails with ErrNoPorts when the range is
// exhausted.
func (r *Relay) NewSession() (*Session, error) {
	s := &Session{relay: r, log: r.cfg.Logger}
	s.created = r.now()
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, fmt.Errorf("new media session: %w", ErrClosed)
	}
	if r.pool.available() < 2 {
		r.mu.Unlock()
		return nil, fmt.Errorf("new media session: %w (%d pairs in use)", ErrNoPorts, r.pool.inUse)
	}
	for i, name := range []string{"A", "B"} {
		l := &Leg{session: s, name: name}
		port, ok := r.pool.alloc(func(port int) error {
			var err error
			l.rtp, l.rtcp, err = r.bindPair(port)
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
	r.sessions[s] = struct{}{}
	r.mu.Unlock()

	s.wg.Add(4)
	go s.rtpLoop(s.legs[0], s.legs[1], AtoB)
	go s.rtpLoop(s.legs[1], s.legs[0], BtoA)
	go s.rtcpLoop(s.legs[0], s.legs[1])
	go s.rtcpLoop(s.legs[1], s.legs[0])
	s.startTimer()
	s.log.Debug("media: session open", "portA", s.legs[0].port, "portB", s.legs[1].port)
	return s, nil
}

// bindPair opens the RTP socket on port and the RTCP socket on port+1.
func (r *Relay) bindPair(port int) (rtp, rtcp *net.UDPConn, err error) {
	network := "udp4"
	if r.cfg.BindIP.Is6() {
		network = "udp6"
	}
	rtp, err = net.ListenUDP(network, net.UDPAddrFromAddrPort(netip.AddrPortFrom(r.cfg.BindIP, uint16(port))))
	if err != nil {
		return nil, nil, fmt.Errorf("bind rtp %d: %w", port, err)
	}
	rtcp, err = net.ListenUDP(network, net.UDPAddrFromAddrPort(netip.AddrPortFrom(r.cfg.BindIP, uint16(port+1))))
	if err != nil {
		rtp.Close()
		return nil, nil, fmt.Errorf("bind rtcp %d: %w", port+1, err)
	}
	return rtp, rtcp, nil
}

// release returns a closed session's ports.
func (r *Relay) release(s *Session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.sessions[s]; !ok {
		return
	}
	delete(r.sessions, s)
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
