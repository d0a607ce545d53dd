package interop

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// udpDatagram is one IPv4/UDP datagram read from a capture.
type udpDatagram struct {
	src, dst netip.AddrPort
	payload  []byte // aliases the capture buffer
}

// Link-layer types (tcpdump.org LINKTYPE_*) the capture parser reads: what
// tshark writes for the Linux loopback (Ethernet with zero addresses) and
// for the "any" pseudo-interface (SLL, SLL2), and raw IP.
const (
	linkEthernet = 1
	linkRaw      = 101
	linkSLL      = 113
	linkSLL2     = 276
)

// etherTypeIPv4 and etherTypeVLAN are the EtherTypes the parser follows.
const (
	etherTypeIPv4 = 0x0800
	etherTypeVLAN = 0x8100
)

// parsePcapUDP returns the IPv4/UDP datagrams of a classic libpcap capture
// (either byte order, micro- or nanosecond magic), in capture order.
// Records that are not IPv4/UDP, IP fragments and datagrams cut short by
// the snap length are skipped; only a broken file structure is an error.
// It never panics on hostile input: every length is checked against the
// bytes that are really there.
func parsePcapUDP(data []byte) ([]udpDatagram, error) {
	if len(data) < 24 {
		return nil, errors.New("pcap: short global header")
	}
	var bo binary.ByteOrder
	switch binary.LittleEndian.Uint32(data) {
	case 0xa1b2c3d4, 0xa1b23c4d:
		bo = binary.LittleEndian
	case 0xd4c3b2a1, 0x4d3cb2a1:
		bo = binary.BigEndian
	default:
		return nil, errors.New("pcap: bad magic (pcapng? write with tshark -F pcap)")
	}
	link := bo.Uint32(data[20:]) & 0x0fffffff // the top bits may carry FCS flags
	switch link {
	case linkEthernet, linkRaw, linkSLL, linkSLL2:
	default:
		return nil, fmt.Errorf("pcap: link type %d not supported", link)
	}
	var out []udpDatagram
	for off := 24; off < len(data); {
		if off+16 > len(data) {
			return nil, fmt.Errorf("pcap: truncated record header at %d", off)
		}
		incl := bo.Uint32(data[off+8:])
		if uint64(incl) > uint64(len(data)-off-16) {
			return nil, fmt.Errorf("pcap: truncated record at %d", off)
		}
		frame := data[off+16 : off+16+int(incl)]
		off += 16 + int(incl)
		if ip, ok := linkPayloadIPv4(link, frame); ok {
			if d, ok := parseIPv4UDP(ip); ok {
				out = append(out, d)
			}
		}
	}
	return out, nil
}

// linkPayloadIPv4 strips the link-layer header of frame and returns the
// IPv4 packet it carries, if it carries one.
func linkPayloadIPv4(link uint32, frame []byte) ([]byte, bool) {
	switch link {
	case linkRaw:
		return frame, len(frame) > 0 && frame[0]>>4 == 4
	case linkEthernet:
		if len(frame) < 14 {
			return nil, false
		}
		et, rest := binary.BigEndian.Uint16(frame[12:]), frame[14:]
		for et == etherTypeVLAN { // 802.1Q tags: 4 bytes each
			if len(rest) < 4 {
				return nil, false
			}
			et, rest = binary.BigEndian.Uint16(rest[2:]), rest[4:]
		}
		return rest, et == etherTypeIPv4
	case linkSLL:
		if len(frame) < 16 {
			return nil, false
		}
		return frame[16:], binary.BigEndian.Uint16(frame[14:]) == etherTypeIPv4
	case linkSLL2:
		if len(frame) < 20 {
			return nil, false
		}
		return frame[20:], binary.BigEndian.Uint16(frame[0:]) == etherTypeIPv4
	}
	return nil, false
}

// parseIPv4UDP reads an IPv4 packet carrying a whole (unfragmented, not
// truncated) UDP datagram.
func parseIPv4UDP(ip []byte) (udpDatagram, bool) {
	if len(ip) < 20 || ip[0]>>4 != 4 {
		return udpDatagram{}, false
	}
	ihl := int(ip[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(ip[2:]))
	if ihl < 20 || total < ihl || total > len(ip) || ip[9] != 17 {
		return udpDatagram{}, false
	}
	if frag := binary.BigEndian.Uint16(ip[6:]); frag&0x2000 != 0 || frag&0x1fff != 0 {
		return udpDatagram{}, false // a fragment: RTP on loopback never is one
	}
	udp := ip[ihl:total]
	if len(udp) < 8 {
		return udpDatagram{}, false
	}
	ulen := int(binary.BigEndian.Uint16(udp[4:]))
	if ulen < 8 || ulen > len(udp) {
		return udpDatagram{}, false
	}
	src := netip.AddrFrom4([4]byte(ip[12:16]))
	dst := netip.AddrFrom4([4]byte(ip[16:20]))
	return udpDatagram{
		src:     netip.AddrPortFrom(src, binary.BigEndian.Uint16(udp[0:])),
		dst:     netip.AddrPortFrom(dst, binary.BigEndian.Uint16(udp[2:])),
		payload: udp[8:ulen],
	}, true
}
