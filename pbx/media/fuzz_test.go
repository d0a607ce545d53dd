package media

import (
	"bytes"
	"testing"

	"github.com/pion/rtp"
)

// FuzzProcessPacket feeds arbitrary datagrams through the per-packet
// function with transcoding, PT mapping and a hook all on. It must never
// panic, and what it forwards must be a valid RTP packet.
func FuzzProcessPacket(f *testing.F) {
	f.Add(rtpPacket(0, true, 1, []byte{0xFF, 0x7F}), uint8(0))
	f.Add(rtpPacket(101, false, 2, []byte{1, 2, 3, 4}), uint8(1))
	f.Add([]byte{0xB0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xBE, 0xDE, 0, 1, 0x10, 0xAA, 0, 0, 5, 0, 2}, uint8(2))
	f.Add([]byte{0x9F, 0, 0, 1}, uint8(3))
	f.Add(rtcpRR(1), uint8(4))
	f.Add([]byte{}, uint8(5))

	tc := Transcode{FromPT: 0, ToPT: 8, Kind: UlawToAlaw}
	rulesAB := compileRules(&tc, map[uint8]uint8{101: 96, 8: 0})
	rulesBA := compileRules(&Transcode{FromPT: 8, ToPT: 0, Kind: AlawToUlaw}, nil)
	// The hook changes the packet in the ways a scrambler or a buggy hook
	// might: payload bytes, payload length, header fields.
	hook := hookFunc(func(d Direction, p *rtp.Packet) bool {
		switch p.SequenceNumber % 4 {
		case 0:
			return false
		case 1:
			for i := range p.Payload {
				p.Payload[i] ^= 0x55
			}
		case 2:
			p.Payload = p.Payload[:len(p.Payload)/2]
		case 3:
			p.Marker = !p.Marker
		}
		return true
	})
	p := newProcessor()

	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		var r *rules
		var h Hook
		d := AtoB
		if mode&1 != 0 {
			r = rulesAB
		}
		if mode&2 != 0 {
			h = hook
		}
		if mode&4 != 0 {
			d, r = BtoA, rulesBA
		}
		in := bytes.Clone(data)
		out, v := p.process(d, r, h, in)
		if v != forward {
			if out != nil {
				t.Fatalf("verdict %v with output", v)
			}
			return
		}
		if _, _, ok := rtpPayload(out); !ok {
			t.Fatalf("forwarded an invalid RTP packet %x (from %x)", out, data)
		}
		if h == nil && len(out) != len(data) {
			t.Fatalf("length changed without a hook: %d -> %d", len(data), len(out))
		}
	})
}
