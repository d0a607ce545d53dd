package media

import (
	"encoding/binary"

	"github.com/pion/rtp"

	"hushbox/pbx/srtp"
)

const (
	rtpHeaderLen  = 12
	rtcpHeaderLen = 8 // shortest useful RTCP packet: a receiver report without blocks
	// maxPacket is the largest datagram the relay forwards; the read
	// buffer is one byte larger so a longer datagram shows up as
	// truncated and is dropped instead of forwarded cut short.
	maxPacket = 2048
	// hookHeadroom lets a hook grow a packet (for example add a header
	// extension) without a short-buffer failure.
	hookHeadroom = 256
)

// packetKind classifies a datagram received on an RTP socket.
type packetKind int

const (
	kindInvalid packetKind = iota
	kindRTP
	kindMuxedRTCP // RTCP sent to the RTP port (RFC 5761 rtcp-mux)
)

// rtpPayload validates an RTP packet (RFC 3550 section 5.1: version 2,
// whole CSRC list, header extension and padding inside the datagram) and
// returns the bounds of its payload.
func rtpPayload(b []byte) (start, end int, ok bool) {
	if len(b) < rtpHeaderLen || b[0]>>6 != 2 {
		return 0, 0, false
	}
	start = rtpHeaderLen + 4*int(b[0]&0x0F)
	if b[0]&0x10 != 0 { // header extension
		if len(b) < start+4 {
			return 0, 0, false
		}
		start += 4 + 4*int(binary.BigEndian.Uint16(b[start+2:]))
	}
	end = len(b)
	if b[0]&0x20 != 0 { // padding, count in the last octet
		pad := int(b[end-1])
		if pad == 0 {
			return 0, 0, false
		}
		end -= pad
	}
	if start > end {
		return 0, 0, false
	}
	return start, end, true
}

// classify tells RTP from rtcp-mux RTCP (second octet 192..223, RFC 5761
// section 4) and garbage, on an RTP socket.
func classify(b []byte) packetKind {
	if len(b) < 2 || b[0]>>6 != 2 {
		return kindInvalid
	}
	if b[1] >= 192 && b[1] <= 223 {
		if !validRTCP(b) {
			return kindInvalid
		}
		return kindMuxedRTCP
	}
	if _, _, ok := rtpPayload(b); !ok {
		return kindInvalid
	}
	return kindRTP
}

// validRTCP checks an RTCP datagram's first header (RFC 3550 section
// 6.4.1 / RFC 5761 section 4): version 2, a packet type in the RTCP range
// 192..223, and a length field that fits the datagram. Only the first
// header is checked, so SRTCP (encrypted after the first 8 octets) and
// reduced-size RTCP pass; the relay forwards RTCP untouched.
func validRTCP(b []byte) bool {
	if len(b) < rtcpHeaderLen || b[0]>>6 != 2 || b[1] < 192 || b[1] > 223 {
		return false
	}
	return (int(binary.BigEndian.Uint16(b[2:]))+1)*4 <= len(b)
}

// verdict is what the per-packet function decided.
type verdict int

const (
	forward  verdict = iota
	invalid          // not RTP v2 or malformed: dropped
	filtered         // the hook said drop
)

// processor is one reader goroutine's scratch state for the RTP path. It
// is reused for every packet, so processing allocates nothing.
type processor struct {
	pkt rtp.Packet
	out []byte
}

func newProcessor() *processor {
	// Capacity for SRTP to grow the hook's packet in place.
	return &processor{out: make([]byte, maxPacket+hookHeadroom, maxPacket+hookHeadroom+srtp.Overhead)}
}

// process is the per-packet function of the RTP path: it validates b,
// applies the direction's rules (in place, on b) and runs the hook. It
// returns the bytes to send, which are b itself or p.out when a hook ran.
// It never panics, whatever b holds.
func (p *processor) process(d Direction, r *rules, hook Hook, b []byte) ([]byte, verdict) {
	start, end, ok := rtpPayload(b)
	if !ok {
		return nil, invalid
	}
	if r != nil {
		r.apply(b, b[start:end])
	}
	if hook == nil {
		return b, forward
	}
	if err := p.pkt.Unmarshal(b); err != nil {
		return nil, invalid
	}
	if !hook.ProcessRTP(d, &p.pkt) {
		return nil, filtered
	}
	n, err := p.pkt.MarshalTo(p.out)
	if err != nil {
		return nil, invalid
	}
	return p.out[:n], forward
}
