package interop

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// The RTP gap measurement of the hand-off test: tshark captures, in each
// phone namespace, the first bytes of every UDP datagram with its arrival
// time; per receiving address the longest time between two datagrams is
// the longest silence that party heard.

// timedDatagram is a UDP datagram's addresses and arrival time, and the
// RTP header fields that name the packet when the payload starts with one
// (the rest of the payload is not kept: captures are cut short on purpose).
type timedDatagram struct {
	at       time.Time
	src, dst netip.AddrPort
	rtp      bool // the payload starts with an RTP version 2 header
	seq      uint16
	ts, ssrc uint32
}

// parsePcapTimed returns the IPv4/UDP datagrams of a classic libpcap
// capture with their capture times. Unlike parsePcapUDP it accepts frames
// cut by the snap length, as long as the IPv4 and UDP headers are there
// (the capture keeps 128 bytes of each packet). Fragments after the first
// carry no UDP header and are skipped. Every length is checked, so hostile
// input cannot make it panic.
func parsePcapTimed(data []byte) ([]timedDatagram, error) {
	if len(data) < 24 {
		return nil, errors.New("pcap: short global header")
	}
	var bo binary.ByteOrder
	nano := false
	switch binary.LittleEndian.Uint32(data) {
	case 0xa1b2c3d4:
		bo = binary.LittleEndian
	case 0xa1b23c4d:
		bo, nano = binary.LittleEndian, true
	case 0xd4c3b2a1:
		bo = binary.BigEndian
	case 0x4d3cb2a1:
		bo, nano = binary.BigEndian, true
	default:
		return nil, errors.New("pcap: bad magic (pcapng? write with tshark -F pcap)")
	}
	link := bo.Uint32(data[20:]) & 0x0fffffff
	switch link {
	case linkEthernet, linkRaw, linkSLL, linkSLL2:
	default:
		return nil, fmt.Errorf("pcap: link type %d not supported", link)
	}
	var out []timedDatagram
	for off := 24; off < len(data); {
		if off+16 > len(data) {
			return nil, fmt.Errorf("pcap: truncated record header at %d", off)
		}
		sec, frac := bo.Uint32(data[off:]), bo.Uint32(data[off+4:])
		incl := bo.Uint32(data[off+8:])
		if uint64(incl) > uint64(len(data)-off-16) {
			return nil, fmt.Errorf("pcap: truncated record at %d", off)
		}
		frame := data[off+16 : off+16+int(incl)]
		off += 16 + int(incl)
		ip, ok := linkPayloadIPv4(link, frame)
		if !ok || len(ip) < 20 || ip[0]>>4 != 4 || ip[9] != 17 {
			continue
		}
		ihl := int(ip[0]&0x0f) * 4
		if ihl < 20 || len(ip) < ihl+8 || binary.BigEndian.Uint16(ip[6:])&0x1fff != 0 {
			continue
		}
		ns := int64(frac) * 1000
		if nano {
			ns = int64(frac)
		}
		udp := ip[ihl:]
		d := timedDatagram{
			at:  time.Unix(int64(sec), ns),
			src: netip.AddrPortFrom(netip.AddrFrom4([4]byte(ip[12:16])), binary.BigEndian.Uint16(udp[0:])),
			dst: netip.AddrPortFrom(netip.AddrFrom4([4]byte(ip[16:20])), binary.BigEndian.Uint16(udp[2:])),
		}
		// RTP (not RTCP: payload types 72-76 with the marker bit are
		// RTCP's packet types 200-204).
		if h := udp[8:]; len(h) >= 12 && h[0]>>6 == 2 && (h[1] < 200 || h[1] > 204) {
			d.rtp = true
			d.seq = binary.BigEndian.Uint16(h[2:])
			d.ts = binary.BigEndian.Uint32(h[4:])
			d.ssrc = binary.BigEndian.Uint32(h[8:])
		}
		out = append(out, d)
	}
	return out, nil
}

// flowGap is what one receiving address saw between from and to.
type flowGap struct {
	packets int
	longest time.Duration // longest time without a datagram, edges included
	at      time.Time     // when that silence began
}

// longestGap measures the datagrams that arrived at dst between from and
// to. The edges count: a stream that stops at 10 s of a 60 s window has a
// 50 s gap, and one that never came has a gap of the whole window.
func longestGap(ds []timedDatagram, dst netip.AddrPort, from, to time.Time) flowGap {
	return longestGapWhere(ds, func(d timedDatagram) bool { return d.dst == dst }, from, to)
}

// longestSendPause is longestGap for what src sent: on a capture at the
// sender, the longest it sent nothing (a phone whose process did not run).
func longestSendPause(ds []timedDatagram, src netip.AddrPort, from, to time.Time) flowGap {
	return longestGapWhere(ds, func(d timedDatagram) bool { return d.src == src }, from, to)
}

// longestGapWhere is the longest time between from and to without a
// datagram that match accepts, edges included.
func longestGapWhere(ds []timedDatagram, match func(timedDatagram) bool, from, to time.Time) flowGap {
	g := flowGap{at: from}
	last := from
	for _, d := range ds {
		if !match(d) || d.at.Before(from) || d.at.After(to) {
			continue
		}
		g.packets++
		if gap := d.at.Sub(last); gap > g.longest {
			g.longest, g.at = gap, last
		}
		last = d.at
	}
	if gap := to.Sub(last); gap > g.longest {
		g.longest, g.at = gap, last
	}
	return g
}

// pcapTimedFile builds a little-endian microsecond pcap of raw IPv4
// frames with the given capture times (for the parser's tests).
func pcapTimedFile(frames []timedFrame) []byte {
	b := make([]byte, 24)
	binary.LittleEndian.PutUint32(b[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(b[4:], 2)
	binary.LittleEndian.PutUint16(b[6:], 4)
	binary.LittleEndian.PutUint32(b[16:], 65535)
	binary.LittleEndian.PutUint32(b[20:], linkRaw)
	for _, f := range frames {
		h := make([]byte, 16)
		binary.LittleEndian.PutUint32(h[0:], uint32(f.at.Unix()))
		binary.LittleEndian.PutUint32(h[4:], uint32(f.at.Nanosecond()/1000))
		binary.LittleEndian.PutUint32(h[8:], uint32(len(f.frame)))
		binary.LittleEndian.PutUint32(h[12:], uint32(len(f.frame)+f.cut))
		b = append(append(b, h...), f.frame...)
	}
	return b
}

type timedFrame struct {
	at    time.Time
	frame []byte
	cut   int // bytes the snap length took off
}

// ipv4UDPHeader is a raw IPv4 packet header + UDP header (no payload) from src
// to dst, claiming payload bytes more (as a cut capture does).
func ipv4UDPHeader(src, dst netip.AddrPort, payload int, fragOff uint16) []byte {
	p := make([]byte, 28)
	p[0] = 0x45
	binary.BigEndian.PutUint16(p[2:], uint16(28+payload))
	binary.BigEndian.PutUint16(p[6:], fragOff)
	p[8], p[9] = 64, 17
	s, d := src.Addr().As4(), dst.Addr().As4()
	copy(p[12:], s[:])
	copy(p[16:], d[:])
	binary.BigEndian.PutUint16(p[20:], src.Port())
	binary.BigEndian.PutUint16(p[22:], dst.Port())
	binary.BigEndian.PutUint16(p[24:], uint16(8+payload))
	return p
}

// Addresses of the made-up captures of the gap tests.
var (
	capBoard  = netip.MustParseAddrPort("10.71.2.2:20000") // a relay leg of the board (WAN side)
	capCloud  = netip.MustParseAddrPort("10.71.4.2:20010") // a relay leg of the cloud
	capRemote = netip.MustParseAddrPort("10.71.3.2:30000") // a remote phone
)

func TestParsePcapTimedAndLongestGap(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	a, board, cloud := capRemote, capBoard, capCloud
	b := netip.MustParseAddrPort("10.71.3.2:30002")
	var frames []timedFrame
	// a: every 20 ms for 1 s, from the board then (after a 45 ms hole at
	// 500 ms) from the cloud; b: stops at 200 ms.
	for ms := 0; ms <= 1000; ms += 20 {
		if ms == 520 || ms == 540 {
			continue
		}
		src, late := board, time.Duration(0)
		if ms > 500 {
			src, late = cloud, 5*time.Millisecond // the cloud's path is a little longer
		}
		frames = append(frames, timedFrame{at: t0.Add(time.Duration(ms)*time.Millisecond + late), frame: ipv4UDPHeader(src, a, 172, 0), cut: 172})
		if ms <= 200 {
			frames = append(frames, timedFrame{at: t0.Add(time.Duration(ms) * time.Millisecond), frame: ipv4UDPHeader(board, b, 172, 0)})
		}
	}
	// A later fragment (no UDP header) and a frame too short: skipped.
	frames = append(frames, timedFrame{at: t0, frame: ipv4UDPHeader(board, a, 0, 10)}, timedFrame{at: t0, frame: []byte{0x45, 0, 0}})
	ds, err := parsePcapTimed(pcapTimedFile(frames))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(ds); n != 49+11 {
		t.Fatalf("parsed %d datagrams, want %d", n, 49+11)
	}
	for _, c := range []struct {
		name     string
		dst      netip.AddrPort
		from, to time.Duration
		packets  int
		longest  time.Duration
	}{
		{"hand-off hole", a, 0, 1005 * time.Millisecond, 49, 65 * time.Millisecond},
		{"stream that stopped", b, 0, 1000 * time.Millisecond, 11, 800 * time.Millisecond},
		{"window before any packet", a, -300 * time.Millisecond, 0, 1, 300 * time.Millisecond},
		{"no stream", netip.MustParseAddrPort("10.71.3.2:40000"), 0, time.Second, 0, time.Second},
	} {
		g := longestGap(ds, c.dst, t0.Add(c.from), t0.Add(c.to))
		if g.packets != c.packets || g.longest != c.longest {
			t.Errorf("%s: %d packets, longest gap %v; want %d, %v", c.name, g.packets, g.longest, c.packets, c.longest)
		}
	}
	// The same capture by sender: the board sent to a until 500 ms and to
	// b until 200 ms (a sending pause from 500 ms), the cloud from 565 ms.
	for _, c := range []struct {
		name     string
		src      netip.AddrPort
		from, to time.Duration
		packets  int
		longest  time.Duration
	}{
		{"board stops", board, 0, 1000 * time.Millisecond, 26 + 11, 500 * time.Millisecond},
		{"board's steady part", board, 0, 500 * time.Millisecond, 26 + 11, 20 * time.Millisecond},
		{"cloud starts late", cloud, 0, 1005 * time.Millisecond, 23, 565 * time.Millisecond},
	} {
		g := longestSendPause(ds, c.src, t0.Add(c.from), t0.Add(c.to))
		if g.packets != c.packets || g.longest != c.longest {
			t.Errorf("send pause, %s: %d packets, longest %v; want %d, %v", c.name, g.packets, g.longest, c.packets, c.longest)
		}
	}
}

func FuzzParsePcapTimed(f *testing.F) {
	t0 := time.Unix(1_800_000_000, 0)
	f.Add(pcapTimedFile([]timedFrame{{at: t0, frame: ipv4UDPHeader(netip.MustParseAddrPort("10.0.0.1:1"), netip.MustParseAddrPort("10.0.0.2:2"), 0, 0)}}))
	f.Add([]byte{0xd4, 0xc3, 0xb2, 0xa1})
	f.Fuzz(func(t *testing.T, data []byte) {
		ds, err := parsePcapTimed(data)
		if err != nil && ds != nil {
			t.Fatalf("datagrams returned with error %v", err)
		}
	})
}
