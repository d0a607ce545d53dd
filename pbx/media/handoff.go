package media

import (
	"net"
	"net/netip"
	"sync/atomic"
)

// LatchTo points the leg at ap and latches it there at once (RTP at ap,
// RTCP at ap's port + 1): packets from any other source are dropped from
// now on. The hand-off uses it when a call leg's media moves to or from the
// cloud peer: a plain Relatch would latch on whichever packet comes first,
// which may still be one on the old path.
func (l *Leg) LatchTo(ap netip.AddrPort) {
	if !usable(ap) {
		return
	}
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	l.SetRemote(ap)
	rtp := ap
	l.latchRTP.Store(&rtp)
	if ap.Port() < 65535 {
		rtcp := netip.AddrPortFrom(ap.Addr(), ap.Port()+1)
		l.latchRTCP.Store(&rtcp)
	} else {
		l.latchRTCP.Store(nil)
	}
	l.session.log.Debug("media: leg latched by hand", "leg", l.name, "port", l.port, "peer", ap)
}

// Addr is the leg's local RTP address (the relay's bind address and Port).
func (l *Leg) Addr() netip.AddrPort {
	if c, ok := l.rtp.(*net.UDPConn); ok {
		if a, ok := c.LocalAddr().(interface{ AddrPort() netip.AddrPort }); ok {
			return a.AddrPort()
		}
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(l.session.relay.cfg.BindIP, uint16(l.port))
}

// Also accepts packets from ap (RTP) and ap's port + 1 (RTCP) besides the
// latched source, until NoAlso: while a call moves between the board and
// the cloud both paths carry the party's media for a moment, and neither
// should be dropped. An invalid ap is NoAlso.
func (l *Leg) Also(ap netip.AddrPort) {
	if !usable(ap) {
		l.NoAlso()
		return
	}
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	rtp := ap
	l.alsoRTP.Store(&rtp)
	if ap.Port() < 65535 {
		rtcp := netip.AddrPortFrom(ap.Addr(), ap.Port()+1)
		l.alsoRTCP.Store(&rtcp)
	}
}

// NoAlso stops accepting the source Also named.
func (l *Leg) NoAlso() {
	l.alsoRTP.Store(nil)
	l.alsoRTCP.Store(nil)
}

// also reports whether src is the second source for latch's kind.
func (l *Leg) also(latch *atomic.Pointer[netip.AddrPort], src netip.AddrPort) bool {
	alt := &l.alsoRTCP
	if latch == &l.latchRTP {
		alt = &l.alsoRTP
	}
	p := alt.Load()
	return p != nil && *p == src
}

// NoAlsoIf is NoAlso when the second source is still ap (a later move
// may have named another one meanwhile).
func (l *Leg) NoAlsoIf(ap netip.AddrPort) {
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	if p := l.alsoRTP.Load(); p != nil && *p == ap {
		l.NoAlso()
	}
}
