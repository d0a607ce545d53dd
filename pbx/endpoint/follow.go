package endpoint

import (
	"net"
	"net/netip"
	"strconv"

	"github.com/emiago/sipgo/sip"

	"hushbox/pbx/sdp"
)

// follow applies an accepted re-INVITE that moves the other side: its
// media address (a PBX handing the call to its cloud peer and back points
// our RTP elsewhere) and its Contact (in-dialog requests such as our BYE
// then go to that host instead of the server we registered with).
func (e *Endpoint) follow(c *call, req *sip.Request, off *sdp.Session) {
	e.mu.Lock()
	st := c.media
	if ct := req.Contact(); ct != nil && !ct.Address.Wildcard {
		c.remoteTarget = *ct.Address.Clone()
	}
	target := c.remoteTarget
	e.mu.Unlock()
	if a := off.Audio; st != nil && a != nil && a.Port != 0 && a.Addr.IsValid() && !a.Addr.IsUnspecified() {
		st.moved.Store(net.UDPAddrFromAddrPort(netip.AddrPortFrom(a.Addr.Unmap(), uint16(a.Port))))
	}
	port := target.Port
	if port == 0 {
		port = 5060
	}
	hp := net.JoinHostPort(target.Host, strconv.Itoa(port))
	if target.Host == "" || sameHostPort(hp, e.server) {
		c.direct.Store(nil)
		return
	}
	c.direct.Store(&hp)
}

// sameHostPort compares two host:port strings, IP addresses by value.
func sameHostPort(a, b string) bool {
	ap, errA := netip.ParseAddrPort(a)
	bp, errB := netip.ParseAddrPort(b)
	if errA == nil && errB == nil {
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()) == netip.AddrPortFrom(bp.Addr().Unmap(), bp.Port())
	}
	return a == b
}
