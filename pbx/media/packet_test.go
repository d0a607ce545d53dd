package media

import (
	"bytes"
	"testing"

	"github.com/pion/rtp"

	"hushbox/audio/g711"
)

func TestRTPPayloadBounds(t *testing.T) {
	tests := []struct {
		name       string
		pkt        []byte
		start, end int
		ok         bool
	}{
		{"plain", rtpPacket(0, false, 1, []byte{1, 2, 3}), 12, 15, true},
		{"empty payload", rtpPacket(0, false, 1, nil), 12, 12, true},
		{"two CSRCs", append([]byte{0x82, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2}, 9), 20, 21, true},
		{"extension", []byte{0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xBE, 0xDE, 0, 1, 0x10, 0xAA, 0, 0, 7, 7}, 20, 22, true},
		{"padding", []byte{0xA0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 5, 6, 0, 0, 3}, 12, 14, true},
		{"too short", []byte{0x80, 0, 0}, 0, 0, false},
		{"version 1", []byte{0x40, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}, 0, 0, false},
		{"CSRCs cut off", []byte{0x81, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1}, 0, 0, false},
		{"extension header cut off", []byte{0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xBE}, 0, 0, false},
		{"extension longer than packet", []byte{0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xBE, 0xDE, 0, 2, 0, 0, 0, 0}, 0, 0, false},
		{"padding zero", []byte{0xA0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0}, 0, 0, false},
		{"padding into header", []byte{0xA0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 4}, 0, 0, false},
	}
	for _, tc := range tests {
		start, end, ok := rtpPayload(tc.pkt)
		if ok != tc.ok || (ok && (start != tc.start || end != tc.end)) {
			t.Errorf("%s: got %d, %d, %v; want %d, %d, %v", tc.name, start, end, ok, tc.start, tc.end, tc.ok)
		}
		// pion must agree on every packet we accept.
		if ok {
			var p rtp.Packet
			if err := p.Unmarshal(tc.pkt); err != nil || !bytes.Equal(p.Payload, tc.pkt[start:end]) {
				t.Errorf("%s: pion disagrees: %v, payload %x", tc.name, err, p.Payload)
			}
		}
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		pkt  []byte
		want packetKind
	}{
		{"rtp", rtpPacket(0, false, 1, []byte{1}), kindRTP},
		{"rtp marker PT 96", rtpPacket(96, true, 1, []byte{1}), kindRTP}, // 0xE0: not RTCP
		{"rtcp-mux receiver report", rtcpRR(1), kindMuxedRTCP},
		{"rtcp-mux length too long", []byte{0x80, 201, 0, 9, 0, 0, 0, 1}, kindInvalid},
		{"short", []byte{0x80}, kindInvalid},
		{"STUN binding request", []byte{0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, kindInvalid},
	}
	for _, tc := range tests {
		if got := classify(tc.pkt); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestValidRTCP(t *testing.T) {
	tests := []struct {
		name string
		pkt  []byte
		want bool
	}{
		{"receiver report", rtcpRR(7), true},
		{"compound with trailing SRTCP tag", append(rtcpRR(7), 0x80, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10), true},
		{"too short", []byte{0x80, 201, 0, 1}, false},
		{"version 0", []byte{0x00, 201, 0, 1, 0, 0, 0, 0}, false},
		{"RTP payload type", []byte{0x80, 0, 0, 1, 0, 0, 0, 0}, false},
		{"length beyond datagram", []byte{0x80, 200, 0, 6, 0, 0, 0, 0}, false},
	}
	for _, tc := range tests {
		if got := validRTCP(tc.pkt); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// compileRules builds rules the way Session setters do.
func compileRules(tc *Transcode, ptmap map[uint8]uint8) *rules {
	st := dirSettings{ptmap: ptmap}
	if tc != nil {
		st.transcode, st.hasTC = *tc, true
	}
	return st.compile()
}

func TestProcess(t *testing.T) {
	ulaw := []byte{0xFF, 0x7F, 0x80, 0x00, 0x2F}
	alaw := make([]byte, len(ulaw))
	g711.TranscodeUlawToAlaw(alaw, ulaw)
	toAlaw := &Transcode{FromPT: 0, ToPT: 8, Kind: UlawToAlaw}
	padded := func(pt uint8, payload []byte) []byte {
		b := rtpPacket(pt, false, 1, payload)
		b[0] |= 0x20
		return append(b, 0, 0, 3)
	}
	tests := []struct {
		name  string
		rules *rules
		hook  Hook
		in    []byte
		want  []byte
		verd  verdict
	}{
		{"untouched", nil, nil, rtpPacket(0, true, 1, ulaw), rtpPacket(0, true, 1, ulaw), forward},
		{"transcode keeps marker", compileRules(toAlaw, nil), nil, rtpPacket(0, true, 1, ulaw), rtpPacket(8, true, 1, alaw), forward},
		{"transcode skips padding", compileRules(toAlaw, nil), nil, padded(0, ulaw), padded(8, alaw), forward},
		{"transcode leaves other PT", compileRules(toAlaw, nil), nil, rtpPacket(101, false, 1, ulaw), rtpPacket(101, false, 1, ulaw), forward},
		{"pt map", compileRules(nil, map[uint8]uint8{101: 96}), nil, rtpPacket(101, true, 1, []byte{1, 2, 3, 4}), rtpPacket(96, true, 1, []byte{1, 2, 3, 4}), forward},
		{"transcode wins over pt map", compileRules(toAlaw, map[uint8]uint8{0: 18}), nil, rtpPacket(0, false, 1, ulaw), rtpPacket(8, false, 1, alaw), forward},
		{"None kind renumbers only", compileRules(&Transcode{FromPT: 0, ToPT: 8}, nil), nil, rtpPacket(0, false, 1, ulaw), rtpPacket(8, false, 1, ulaw), forward},
		{"hook sees transcoded packet", compileRules(toAlaw, nil), hookFunc(func(_ Direction, p *rtp.Packet) bool { return p.PayloadType == 8 && bytes.Equal(p.Payload, alaw) }), rtpPacket(0, false, 1, ulaw), rtpPacket(8, false, 1, alaw), forward},
		{"hook drops", nil, hookFunc(func(Direction, *rtp.Packet) bool { return false }), rtpPacket(0, false, 1, ulaw), nil, filtered},
		{"hook grows payload", nil, hookFunc(func(_ Direction, p *rtp.Packet) bool {
			p.Payload = append(p.Payload[:len(p.Payload):len(p.Payload)], 9)
			return true
		}), rtpPacket(0, false, 1, []byte{1}), rtpPacket(0, false, 1, []byte{1, 9}), forward},
		{"garbage", compileRules(toAlaw, nil), nil, []byte{0xFF, 0xFF}, nil, invalid},
	}
	for _, tc := range tests {
		p := newProcessor()
		out, v := p.process(AtoB, tc.rules, tc.hook, bytes.Clone(tc.in))
		if v != tc.verd || !bytes.Equal(out, tc.want) {
			t.Errorf("%s: got %x (%v), want %x (%v)", tc.name, out, v, tc.want, tc.verd)
		}
	}
}

func TestCompileIdentityIsNil(t *testing.T) {
	if r := compileRules(nil, map[uint8]uint8{}); r != nil {
		t.Error("empty settings compiled to rules; the fast path would be lost")
	}
	if r := compileRules(&Transcode{FromPT: 5, ToPT: 5}, nil); r != nil {
		t.Error("PT 5 -> 5 without conversion compiled to rules")
	}
}

// TestSettersIgnoreBadValues: out-of-range values are refused, not masked
// into some other payload type.
func TestSettersIgnoreBadValues(t *testing.T) {
	_, s := newTestRelay(t, 4, 0)
	s.SetPTMap(AtoB, 200, 96)
	s.SetPTMap(Direction(7), 101, 96)
	s.SetTranscode(BtoA, Transcode{FromPT: 0, ToPT: 130, Kind: UlawToAlaw})
	s.SetTranscode(BtoA, Transcode{FromPT: 0, ToPT: 8, Kind: TranscodeKind(9)})
	if s.rules[AtoB].Load() != nil || s.rules[BtoA].Load() != nil {
		t.Error("invalid settings produced rules")
	}
	s.SetPTMap(AtoB, 101, 96)
	s.SetPTMap(AtoB, 101, 101) // removes the mapping again
	if s.rules[AtoB].Load() != nil {
		t.Error("mapping a PT to itself did not remove the mapping")
	}
}

// TestProcessNoAlloc: the per-packet function allocates nothing, with
// transcoding, PT mapping and a hook all on (after the first packet warms
// the reused rtp.Packet).
func TestProcessNoAlloc(t *testing.T) {
	r := compileRules(&Transcode{FromPT: 0, ToPT: 8, Kind: UlawToAlaw}, map[uint8]uint8{101: 96})
	hook := hookFunc(func(_ Direction, p *rtp.Packet) bool { return len(p.Payload) > 0 })
	p := newProcessor()
	pkt := rtpPacket(0, false, 1, make([]byte, 160))
	pkt[0] |= 0x10 // with a one-byte header extension
	pkt = append(pkt[:12], append([]byte{0xBE, 0xDE, 0, 1, 0x10, 0xAA, 0, 0}, pkt[12:]...)...)
	if _, v := p.process(AtoB, r, hook, pkt); v != forward {
		t.Fatalf("warm-up packet: %v", v)
	}
	allocs := testing.AllocsPerRun(100, func() {
		p.process(AtoB, r, hook, pkt)
	})
	if allocs != 0 {
		t.Errorf("process allocates %.1f times per packet", allocs)
	}
}

// hookFunc adapts a function to Hook.
type hookFunc func(Direction, *rtp.Packet) bool

func (f hookFunc) ProcessRTP(d Direction, p *rtp.Packet) bool { return f(d, p) }
