package media

import (
	"net/netip"
	"testing"

	"github.com/pion/rtp"
)

// BenchmarkForward measures the per-packet function on one 20 ms PCMU
// packet (172 bytes), without sockets.
func BenchmarkForward(b *testing.B) {
	tc := Transcode{FromPT: 0, ToPT: 8, Kind: UlawToAlaw}
	cases := []struct {
		name  string
		rules *rules
		hook  Hook
	}{
		{"raw", nil, nil},
		{"ptmap", compileRules(nil, map[uint8]uint8{101: 96}), nil},
		{"transcode", compileRules(&tc, nil), nil},
		{"transcode+hook", compileRules(&tc, nil), hookFunc(func(Direction, *rtp.Packet) bool { return true })},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			p := newProcessor()
			pkt := rtpPacket(0, false, 1, make([]byte, 160))
			b.SetBytes(int64(len(pkt)))
			b.ReportAllocs()
			for b.Loop() {
				pkt[1] = 0 // back to PCMU, as a fresh packet would be
				if _, v := p.process(AtoB, c.rules, c.hook, pkt); v != forward {
					b.Fatal("dropped")
				}
			}
		})
	}
}

// BenchmarkRelayLoopback measures a packet's trip through a real session
// on 127.0.0.1: phone A sends, the relay forwards, phone B receives. One
// packet is in flight at a time, so ns/op is the relay's added latency
// plus two loopback hops.
func BenchmarkRelayLoopback(b *testing.B) {
	_, s := newTestRelay(b, 4, 0)
	pa, pb := newPeer(b), newPeer(b)
	s.A().SetRemote(pa.addr())
	s.B().SetRemote(pb.addr())
	pkt := rtpPacket(0, false, 1, make([]byte, 160))
	dst := netip.AddrPortFrom(loopback, uint16(s.A().Port()))
	buf := make([]byte, 2048)
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		if _, err := pa.conn.WriteToUDPAddrPort(pkt, dst); err != nil {
			b.Fatal(err)
		}
		if _, _, err := pb.conn.ReadFromUDPAddrPort(buf); err != nil {
			b.Fatal(err)
		}
	}
}
