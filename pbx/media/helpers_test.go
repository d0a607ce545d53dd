package media

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"
	"time"
)

var loopback = netip.MustParseAddr("127.0.0.1")

// waitLimit bounds every wait for a packet or event; it is a failure
// deadline, not a timing assertion.
const waitLimit = 5 * time.Second

// newTestRelay makes a relay on 127.0.0.1 with a random port range of the
// given number of pairs, and a first session on it. Other packages' tests
// may hold ports on this host, so it retries on other ranges when the
// first session cannot bind.
func newTestRelay(t testing.TB, pairs int, timeout time.Duration) (*Relay, *Session) {
	t.Helper()
	return newRelayOn(t, defaultLoop, pairs, timeout)
}

// newRelayOn is newTestRelay on a given loop kind; it checks the first
// session really runs on that loop.
func newRelayOn(t testing.TB, kind loopKind, pairs int, timeout time.Duration) (*Relay, *Session) {
	t.Helper()
	for range 20 {
		base := 20000 + 2*rand.IntN(19000)
		r, err := NewRelay(Config{BindIP: loopback, PortMin: base, PortMax: base + 2*pairs - 1, Timeout: timeout})
		if err != nil {
			t.Fatalf("NewRelay: %v", err)
		}
		r.loop = kind
		s, err := r.NewSession()
		if errors.Is(err, ErrNoPorts) {
			r.Close()
			continue
		}
		if err != nil {
			t.Fatalf("NewSession: %v", err)
		}
		t.Cleanup(func() { r.Close() })
		if polled := s.polled != nil; polled != (kind == loopAuto && havePoller) {
			t.Fatalf("loop kind %d: session polled = %v", kind, polled)
		}
		return r, s
	}
	t.Fatal("no free port range found on 127.0.0.1")
	return nil, nil
}

// loopbackTrip sets up a session on the given loop kind between phones A
// and B on 127.0.0.1 and returns the packet's size and a function that
// sends one 20 ms PCMU packet from A and reads what the relay forwards at
// B (the relay's added latency plus two loopback hops).
func loopbackTrip(tb testing.TB, kind loopKind) (int, func()) {
	tb.Helper()
	_, s := newRelayOn(tb, kind, 4, 0)
	pa, pb := newPeer(tb), newPeer(tb)
	s.A().SetRemote(pa.addr())
	s.B().SetRemote(pb.addr())
	pkt := rtpPacket(0, false, 1, make([]byte, 160))
	dst := netip.AddrPortFrom(loopback, uint16(s.A().Port()))
	buf := make([]byte, 2048)
	return len(pkt), func() {
		if _, err := pa.conn.WriteToUDPAddrPort(pkt, dst); err != nil {
			tb.Fatal(err)
		}
		if _, _, err := pb.conn.ReadFromUDPAddrPort(buf); err != nil {
			tb.Fatal(err)
		}
	}
}

// peer is a phone's media socket in a test.
type peer struct {
	t    testing.TB
	conn *net.UDPConn
	buf  []byte
}

func newPeer(t testing.TB) *peer {
	t.Helper()
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 0)))
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return &peer{t: t, conn: c, buf: make([]byte, 4096)}
}

func (p *peer) addr() netip.AddrPort {
	return netip.AddrPortFrom(loopback, p.conn.LocalAddr().(*net.UDPAddr).AddrPort().Port())
}

func (p *peer) send(port int, b []byte) {
	p.t.Helper()
	if _, err := p.conn.WriteToUDPAddrPort(b, netip.AddrPortFrom(loopback, uint16(port))); err != nil {
		p.t.Fatalf("send: %v", err)
	}
}

// recv returns the next datagram and its source, failing the test when
// none arrives within waitLimit.
func (p *peer) recv() ([]byte, netip.AddrPort) {
	p.t.Helper()
	p.conn.SetReadDeadline(time.Now().Add(waitLimit))
	n, src, err := p.conn.ReadFromUDPAddrPort(p.buf)
	if err != nil {
		p.t.Fatalf("recv: %v", err)
	}
	return append([]byte(nil), p.buf[:n]...), src
}

// rtpPacket builds an RTP packet with a 12-byte header.
func rtpPacket(pt uint8, marker bool, seq uint16, payload []byte) []byte {
	b := make([]byte, 12, 12+len(payload))
	b[0] = 0x80
	b[1] = pt & 0x7F
	if marker {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], uint32(seq)*160)
	binary.BigEndian.PutUint32(b[8:], 0x11223344)
	return append(b, payload...)
}

// rtcpRR builds a minimal RTCP receiver report (8 bytes).
func rtcpRR(ssrc uint32) []byte {
	b := []byte{0x80, 201, 0, 1, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[4:], ssrc)
	return b
}

// waitFor polls cond until it holds, failing the test after waitLimit.
// Used where a counter is updated by a relay goroutine.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
