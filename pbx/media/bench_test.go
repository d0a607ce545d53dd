package media

import (
	"net/netip"
	"testing"

	"github.com/pion/rtp"

	"hushbox/pbx/srtp"
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
	size, trip := loopbackTrip(b, defaultLoop)
	b.SetBytes(int64(size))
	for b.Loop() {
		trip()
	}
}

// BenchmarkForwardSRTP measures the per-packet work of the RTP path on a
// 20 ms PCMU packet as rtpLoop does it, without sockets: decrypt when the
// receiving leg is SRTP, process (no rules, no hook), encrypt when the
// sending leg is SRTP. "plain" is the unchanged fast path for comparison.
// The SRTP packets a phone would send are made in batches outside the
// timer.
func BenchmarkForwardSRTP(b *testing.B) {
	for _, suite := range []srtp.Suite{srtp.AES128CMSHA1_80, srtp.AEADAES128GCM} {
		for _, c := range []struct {
			name    string
			in, out bool
		}{{"plain", false, false}, {"srtp-in", true, false}, {"srtp-out", false, true}, {"srtp-both", true, true}} {
			if !c.in && !c.out && suite != srtp.AES128CMSHA1_80 {
				continue
			}
			name := c.name
			if c.in || c.out {
				name = suite.String() + "/" + c.name
			}
			b.Run(name, func(b *testing.B) { benchForwardSRTP(b, suite, c.in, c.out) })
		}
	}
}

func benchForwardSRTP(b *testing.B, suite srtp.Suite, in, out bool) {
	phoneA := newSRTPPhone(b, suite) // the leg media arrives on
	phoneB := newSRTPPhone(b, suite) // the leg it leaves through
	pairA, err := srtp.NewPair(phoneA.keys)
	if err != nil {
		b.Fatal(err)
	}
	pairB, err := srtp.NewPair(phoneB.keys)
	if err != nil {
		b.Fatal(err)
	}
	const batch = 4096
	packets := make([][]byte, batch)
	wire := make([][]byte, batch)
	seq := uint16(0)
	refill := func() {
		for i := range packets {
			seq++
			p := rtpPacket(0, false, seq, make([]byte, 160))
			if in {
				p = phoneA.protect(p)
			}
			packets[i] = p
			if wire[i] == nil {
				wire[i] = make([]byte, 0, maxPacket+1+srtp.Overhead)
			}
		}
	}
	refill()
	proc := newProcessor()
	b.SetBytes(172)
	b.ReportAllocs()
	i := 0
	b.ResetTimer()
	for b.Loop() {
		if i == batch {
			b.StopTimer()
			refill()
			i = 0
			b.StartTimer()
		}
		buf := append(wire[i][:0], packets[i]...) // the socket read
		i++
		if in {
			if buf, err = pairA.In.DecryptRTP(buf); err != nil {
				b.Fatal(err)
			}
		}
		res, v := proc.process(AtoB, nil, nil, buf)
		if v != forward {
			b.Fatal("dropped")
		}
		if out {
			if _, err = pairB.Out.EncryptRTP(res); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkRelayLoopbackSRTP is BenchmarkRelayLoopback with SRTP on both
// legs; ns/op includes the test phones' own encryption and decryption.
func BenchmarkRelayLoopbackSRTP(b *testing.B) {
	_, s := newTestRelay(b, 4, 0)
	pa, pb := newPeer(b), newPeer(b)
	s.A().SetRemote(pa.addr())
	s.B().SetRemote(pb.addr())
	phoneA := newSRTPPhone(b, srtp.AES128CMSHA1_80)
	phoneB := newSRTPPhone(b, srtp.AES128CMSHA1_80)
	setSRTP(b, s.A(), phoneA.keys)
	setSRTP(b, s.B(), phoneB.keys)
	dst := netip.AddrPortFrom(loopback, uint16(s.A().Port()))
	buf := make([]byte, 2048)
	pkt := make([]byte, 0, 2048)
	seq := uint16(0)
	b.SetBytes(172)
	for b.Loop() {
		seq++
		pkt = rtpPacketInto(pkt[:0], seq)
		sp, err := phoneA.enc.EncryptRTP(pkt)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := pa.conn.WriteToUDPAddrPort(sp, dst); err != nil {
			b.Fatal(err)
		}
		n, _, err := pb.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := phoneB.dec.DecryptRTP(buf[:n]); err != nil {
			b.Fatal(err)
		}
	}
}

// rtpPacketInto writes a 20 ms PCMU packet into dst's array.
func rtpPacketInto(dst []byte, seq uint16) []byte {
	dst = append(dst, rtpPacket(0, false, seq, nil)...)
	return append(dst, make([]byte, 160)...)
}

// BenchmarkRelayLoopbackLoops is BenchmarkRelayLoopback on each loop (the
// Linux poller and the goroutine path), with allocations reported: 0
// allocs/op is 0 allocations per relayed packet, the test phones' socket
// calls included.
func BenchmarkRelayLoopbackLoops(b *testing.B) {
	for _, k := range loopKinds() {
		b.Run(k.name, func(b *testing.B) {
			size, trip := loopbackTrip(b, k.kind)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				trip()
			}
		})
	}
}
