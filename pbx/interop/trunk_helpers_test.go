package interop

import (
	"encoding/binary"
	"math"
	"net/netip"
	"testing"

	"github.com/pion/rtp"

	"hushbox/audio/g711"
)

// pcapFile builds a classic pcap (little-endian, microseconds) of frames
// with the given link type.
func pcapFile(link uint32, frames ...[]byte) []byte {
	out := make([]byte, 24)
	binary.LittleEndian.PutUint32(out[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(out[4:], 2)
	binary.LittleEndian.PutUint16(out[6:], 4)
	binary.LittleEndian.PutUint32(out[16:], 262144)
	binary.LittleEndian.PutUint32(out[20:], link)
	for _, f := range frames {
		rec := make([]byte, 16, 16+len(f))
		binary.LittleEndian.PutUint32(rec[8:], uint32(len(f)))
		binary.LittleEndian.PutUint32(rec[12:], uint32(len(f)))
		out = append(append(out, rec...), f...)
	}
	return out
}

// ipv4UDP builds an IPv4 packet (protocol proto, UDP header when 17).
func ipv4UDP(src, dst netip.AddrPort, proto byte, frag uint16, payload []byte) []byte {
	udp := make([]byte, 8+len(payload))
	binary.BigEndian.PutUint16(udp[0:], src.Port())
	binary.BigEndian.PutUint16(udp[2:], dst.Port())
	binary.BigEndian.PutUint16(udp[4:], uint16(len(udp)))
	copy(udp[8:], payload)
	ip := make([]byte, 20, 20+len(udp))
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(udp)))
	binary.BigEndian.PutUint16(ip[6:], frag)
	ip[8] = 64
	ip[9] = proto
	s, d := src.Addr().As4(), dst.Addr().As4()
	copy(ip[12:], s[:])
	copy(ip[16:], d[:])
	return append(ip, udp...)
}

// ether wraps an IPv4 packet in an Ethernet header (zero MACs, as on lo),
// with optional 802.1Q tags.
func ether(ip []byte, vlans int) []byte {
	f := make([]byte, 12)
	for range vlans {
		f = append(f, 0x81, 0x00, 0x00, 0x05)
	}
	return append(append(f, 0x08, 0x00), ip...)
}

func TestParsePcapUDP(t *testing.T) {
	a := netip.MustParseAddrPort("127.0.0.1:30000")
	b := netip.MustParseAddrPort("127.0.0.2:31002")
	udp := ipv4UDP(a, b, 17, 0x4000, []byte("rtp!")) // DF set: not a fragment
	tcp := ipv4UDP(a, b, 6, 0, []byte("tcp"))
	fragment := ipv4UDP(a, b, 17, 0x2000, []byte("frag"))
	longUDP := append([]byte{}, udp...)
	binary.BigEndian.PutUint16(longUDP[24:], 200) // UDP length beyond the packet
	arp := append(make([]byte, 12), 0x08, 0x06, 1, 2, 3)
	sll := append(append(make([]byte, 14), 0x08, 0x00), udp...)
	sll2 := append(append([]byte{0x08, 0x00}, make([]byte, 18)...), udp...)
	bigEndian := pcapFile(linkRaw, udp)
	for _, r := range [][2]int{{0, 4}, {4, 6}, {6, 8}, {8, 12}, {12, 16}, {16, 20}, {20, 24}} {
		s := bigEndian[r[0]:r[1]]
		for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
			s[i], s[j] = s[j], s[i]
		}
	}
	binary.BigEndian.PutUint32(bigEndian[24+8:], uint32(len(udp)))
	binary.BigEndian.PutUint32(bigEndian[24+12:], uint32(len(udp)))
	good := pcapFile(linkEthernet, ether(udp, 0), ether(tcp, 0), ether(fragment, 0), arp, ether(longUDP, 0), ether(udp, 2))

	tests := []struct {
		name    string
		in      []byte
		want    int
		wantErr bool
	}{
		{"ethernet: udp kept; tcp, fragment, arp, bad length skipped; vlan udp kept", good, 2, false},
		{"linux sll", pcapFile(linkSLL, sll), 1, false},
		{"linux sll2", pcapFile(linkSLL2, sll2), 1, false},
		{"raw ip, big-endian file", bigEndian, 1, false},
		{"empty capture", pcapFile(linkEthernet), 0, false},
		{"runt ethernet frame", pcapFile(linkEthernet, []byte{1, 2, 3}), 0, false},
		{"truncated record", good[:len(good)-1], 0, true},
		{"truncated record header", good[:24+10], 0, true},
		{"pcapng", append([]byte{0x0a, 0x0d, 0x0d, 0x0a}, make([]byte, 24)...), 0, true},
		{"unsupported link type", pcapFile(105, udp), 0, true},
		{"short", good[:20], 0, true},
	}
	for _, tc := range tests {
		got, err := parsePcapUDP(tc.in)
		if (err != nil) != tc.wantErr || len(got) != tc.want {
			t.Errorf("%s: %d datagrams, err %v; want %d, err=%v", tc.name, len(got), err, tc.want, tc.wantErr)
			continue
		}
		for _, d := range got {
			if d.src != a || d.dst != b || string(d.payload) != "rtp!" {
				t.Errorf("%s: got %v -> %v %q, want %v -> %v \"rtp!\"", tc.name, d.src, d.dst, d.payload, a, b)
			}
		}
	}
}

func FuzzParsePcapUDP(f *testing.F) {
	a := netip.MustParseAddrPort("127.0.0.1:30000")
	b := netip.MustParseAddrPort("127.0.0.1:31000")
	udp := ipv4UDP(a, b, 17, 0, []byte{0x80, 8, 0, 1, 0, 0, 0, 160, 1, 2, 3, 4, 0xd5})
	f.Add(pcapFile(linkEthernet, ether(udp, 0), ether(udp, 1)))
	f.Add(pcapFile(linkSLL, append(append(make([]byte, 14), 0x08, 0x00), udp...)))
	f.Add(pcapFile(linkRaw, udp))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := parsePcapUDP(data)
		if err != nil {
			return
		}
		total := 0
		for _, d := range got {
			total += 8 + 20 + len(d.payload)
		}
		if total > len(data) {
			t.Fatalf("%d datagrams (%d bytes with headers) from %d bytes", len(got), total, len(data))
		}
		rtpG711Frames(got, portRange{0, 65535}, portRange{0, 65535}) // must not panic either
	})
}

// rtpDatagram is an RTP packet from port src to port dst on 127.0.0.1.
func rtpDatagram(t *testing.T, src, dst uint16, pt uint8, ssrc, ts uint32, payload []byte) udpDatagram {
	t.Helper()
	raw, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SSRC: ssrc, Timestamp: ts}, Payload: payload}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	lo := netip.MustParseAddr("127.0.0.1")
	return udpDatagram{src: netip.AddrPortFrom(lo, src), dst: netip.AddrPortFrom(lo, dst), payload: raw}
}

func TestRTPG711Frames(t *testing.T) {
	from, to := portRange{30000, 30039}, portRange{31000, 31039}
	alaw := []byte{g711.EncodeAlaw(1000), g711.EncodeAlaw(-1000)}
	ulaw := []byte{g711.EncodeUlaw(1000), g711.EncodeUlaw(-1000)}
	rtcp := rtpDatagram(t, 30001, 31001, 8, 7, 0, alaw)
	rtcp.payload[1] = 200 // an RTCP sender report's packet type
	in := []udpDatagram{
		rtpDatagram(t, 30000, 31000, 8, 7, 160, alaw),
		rtpDatagram(t, 30000, 31000, 0, 7, 320, ulaw),
		rtpDatagram(t, 30000, 31000, 8, 9, 480, alaw),      // another SSRC, fewer packets
		rtpDatagram(t, 31000, 30000, 8, 7, 640, alaw),      // the other direction
		rtpDatagram(t, 30000, 32000, 8, 7, 800, alaw),      // to a port outside to
		rtpDatagram(t, 30000, 31000, 101, 7, 960, alaw),    // telephone-event
		rtpDatagram(t, 30000, 31000, 8, 7, 1120, []byte{}), // no audio
		rtcp,
		{src: netip.MustParseAddrPort("127.0.0.1:30000"), dst: netip.MustParseAddrPort("127.0.0.1:31000"), payload: []byte{0x80}}, // not RTP
	}
	got := rtpG711Frames(in, from, to)
	if len(got) != 2 {
		t.Fatalf("got %d frames, want 2: %+v", len(got), got)
	}
	for i, f := range got {
		if f.ssrc != 7 || f.ts != uint32(160*(i+1)) || len(f.pcm) != 2 {
			t.Errorf("frame %d: %+v", i, f)
		}
		if math.Abs(float64(f.pcm[0])-1000) > 64 || math.Abs(float64(f.pcm[1])+1000) > 64 {
			t.Errorf("frame %d (PT %d) decodes to %v, want about [1000 -1000]", i, f.pt, f.pcm)
		}
	}
}

func TestPlaceFrames(t *testing.T) {
	fr := func(ts uint32, v ...int16) g711Frame { return g711Frame{ts: ts, pcm: v} }
	tests := []struct {
		name   string
		frames []g711Frame
		ts0    uint32
		pad    int
		maxLen int
		want   []int16
	}{
		{"in order with a gap", []g711Frame{fr(100, 1, 2), fr(104, 5, 6)}, 100, 0, 100, []int16{1, 2, 0, 0, 5, 6}},
		{"reordered", []g711Frame{fr(102, 3, 4), fr(100, 1, 2)}, 100, 1, 100, []int16{0, 1, 2, 3, 4}},
		{"timestamp wraps", []g711Frame{fr(0xffffffff, 1, 2), fr(1, 3)}, 0xffffffff, 0, 100, []int16{1, 2, 3}},
		{"before the start dropped", []g711Frame{fr(98, 7, 8), fr(100, 1)}, 100, 1, 100, []int16{8, 1}},
		{"bounded", []g711Frame{fr(100, 1, 2), fr(1<<30, 9)}, 100, 0, 3, []int16{1, 2, 0}},
		{"nothing", nil, 0, 5, 10, []int16{}},
	}
	for _, tc := range tests {
		got := placeFrames(tc.frames, tc.ts0, tc.pad, tc.maxLen)
		if len(got) != len(tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
				break
			}
		}
	}
}

func TestWindowAndSharedTimestamps(t *testing.T) {
	got := window([]int16{1, 2, 3}, 1, 4)
	if want := []int16{2, 3, 0, 0}; len(got) != 4 || got[0] != want[0] || got[1] != want[1] || got[2] != 0 || got[3] != 0 {
		t.Errorf("window: got %v, want %v", got, want)
	}
	if got := window([]int16{1, 2, 3}, -1, 2); got[0] != 0 || got[1] != 1 {
		t.Errorf("window before the start: got %v, want [0 1]", got)
	}
	a := []g711Frame{{ts: 1}, {ts: 2}, {ts: 3}}
	b := []g711Frame{{ts: 2}, {ts: 3}, {ts: 4}}
	if n := sharedTimestamps(a, b); n != 2 {
		t.Errorf("sharedTimestamps = %d, want 2", n)
	}
}

// TestAlignedNoiseControl: the control has x's energy in every frame that
// starts at phase + k*n, and not in frames that straddle those.
func TestAlignedNoiseControl(t *testing.T) {
	const n, phase = 160, 37
	x := make([]int16, 10*n+55)
	for i := range x {
		// Loudness that changes every n samples, on the phase grid.
		level := 200.0 * float64(1+((i-phase+n)/n)%4*5)
		x[i] = int16(level * math.Sin(float64(i)*0.7))
	}
	c := alignedNoiseControl(x, phase, n, 1)
	if len(c) != len(x) {
		t.Fatalf("control has %d samples, want %d", len(c), len(x))
	}
	for lo := phase; lo+n <= len(x); lo += n {
		ex, ec := frameEnergy(x, lo, lo+n), frameEnergy(c, lo, lo+n)
		if math.Abs(ec/ex-1) > 0.02 {
			t.Errorf("frame at %d: energy %.0f, want %.0f (x)", lo, ec, ex)
		}
	}
	// The same signal with frames on 0, n, 2n...: energies differ.
	off := alignedNoiseControl(x, 0, n, 1)
	worst := 0.0
	for lo := phase; lo+n <= len(x); lo += n {
		worst = max(worst, math.Abs(frameEnergy(off, lo, lo+n)/frameEnergy(x, lo, lo+n)-1))
	}
	if worst < 0.1 {
		t.Errorf("control on the wrong frame grid matches every frame energy within %.3f: the test cannot tell", worst)
	}
	if m, s := meanStd([]float64{1, 2, 3}); m != 2 || math.Abs(s-math.Sqrt(2.0/3)) > 1e-12 {
		t.Errorf("meanStd = %v, %v", m, s)
	}
}
