package call

import (
	"bytes"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// A box with more than one interface (a LAN and a WAN side) must give each
// party the address of the interface that party reaches: a LAN phone told
// to send RTP to the WAN address gets it relayed from the LAN address, and
// a phone that checks the source drops it. Unless the address is pinned
// (--media-ip, for NAT), the address advertised to a party in SDP and
// Contact is the one the kernel's routing picks as the source towards it.

// localAddrTTL is how long a route lookup is kept: routes change (DHCP,
// a link going down) but not per call.
const localAddrTTL = time.Minute

// localAddrMax bounds the cache: parties are few; a flood of new sources
// never gets here (the guard and the registrar come first), but the bound
// keeps it so.
const localAddrMax = 4096

// localAddrs caches, per destination address, the local address the
// kernel would send from.
type localAddrs struct {
	// lookup is the route lookup (routeSource; tests replace it).
	lookup func(dst netip.Addr) (netip.Addr, bool)
	now    func() time.Time

	mu    sync.Mutex
	cache map[netip.Addr]localAddr
}

type localAddr struct {
	src netip.Addr
	at  time.Time
}

// routeSource is the local address of a UDP socket connected to dst:
// connecting a UDP socket sends nothing, it only asks the kernel for the
// route and the source address it would use.
func routeSource(dst netip.Addr) (netip.Addr, bool) {
	if !dst.IsValid() || dst.IsUnspecified() {
		return netip.Addr{}, false
	}
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(dst, 9)))
	if err != nil {
		return netip.Addr{}, false
	}
	defer c.Close()
	src := c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
	return src, src.IsValid() && !src.IsUnspecified()
}

// sourceFor is the local address towards dst, or fallback when dst is not
// an address or has no route.
func (la *localAddrs) sourceFor(dst netip.Addr, fallback netip.Addr) netip.Addr {
	dst = dst.Unmap()
	if !dst.IsValid() || dst.IsUnspecified() {
		return fallback
	}
	now := la.now()
	la.mu.Lock()
	e, ok := la.cache[dst]
	la.mu.Unlock()
	if ok && now.Sub(e.at) < localAddrTTL {
		return e.src
	}
	src, ok := la.lookup(dst)
	if !ok {
		return fallback
	}
	la.mu.Lock()
	if len(la.cache) >= localAddrMax {
		clear(la.cache)
	}
	la.cache[dst] = localAddr{src: src, at: now}
	la.mu.Unlock()
	return src
}

// mediaIPFor is the address our SDP (c=, o=) and Contact give the party
// whose messages come from dest ("host:port"): MediaIP when it is pinned
// (Config.MediaIPPerParty false) or dest is not an address, else the
// local address the kernel routes towards dest from.
func (m *Manager) mediaIPFor(dest string) netip.Addr {
	if !m.cfg.MediaIPPerParty || m.local == nil {
		return m.cfg.MediaIP
	}
	var dst netip.Addr
	if ap, err := netip.ParseAddrPort(dest); err == nil {
		dst = ap.Addr()
	} else if a, err := netip.ParseAddr(dest); err == nil {
		dst = a
	} else {
		return m.cfg.MediaIP
	}
	src := m.local.sourceFor(dst, m.cfg.MediaIP)
	if src.Is4() != m.cfg.MediaIP.Unmap().Is4() {
		return m.cfg.MediaIP // the relay listens on MediaIP's family only
	}
	return src
}

// sipHostFor is the host of our Contact towards dest: SIPHost when the
// media address is pinned, else the routed local address.
func (m *Manager) sipHostFor(dest string) string {
	if !m.cfg.MediaIPPerParty {
		return m.cfg.SIPHost
	}
	return m.mediaIPFor(dest).String()
}

// contactFor is our Contact for a party at dest over transport.
func (m *Manager) contactFor(dest, transport string) *sip.ContactHeader {
	return contactHeader(m.sipHostFor(dest), m.cfg.SIPPorts, transport)
}

// readdressSDP is body with the connection address (every c= line) and
// the origin's address set to addr; ports, version and the rest stay.
// An offer built once for several forks gets each fork's own address.
func readdressSDP(body []byte, addr netip.Addr) []byte {
	addrType := "IP4"
	if addr.Is6() && !addr.Is4In6() {
		addrType = "IP6"
	}
	a := addr.Unmap().String()
	var out bytes.Buffer
	for _, ln := range strings.Split(strings.ReplaceAll(string(body), "\r\n", "\n"), "\n") {
		if ln == "" {
			continue
		}
		switch {
		case strings.HasPrefix(ln, "o="):
			if f := strings.Fields(ln); len(f) >= 6 {
				f[4], f[5] = addrType, a
				ln = strings.Join(f, " ")
			}
		case strings.HasPrefix(ln, "c="):
			ln = "c=IN " + addrType + " " + a
		}
		out.WriteString(ln)
		out.WriteString("\r\n")
	}
	return out.Bytes()
}
