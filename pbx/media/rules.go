package media

import (
	"fmt"

	"hushbox/audio/g711"
)

// Direction names one way through a session.
type Direction int

const (
	// AtoB is media received on leg A (caller side), sent out of leg B.
	AtoB Direction = iota
	// BtoA is media received on leg B (callee side), sent out of leg A.
	BtoA
)

// String returns "AtoB" or "BtoA".
func (d Direction) String() string {
	switch d {
	case AtoB:
		return "AtoB"
	case BtoA:
		return "BtoA"
	}
	return fmt.Sprintf("Direction(%d)", int(d))
}

func (d Direction) valid() bool { return d == AtoB || d == BtoA }

// TranscodeKind is the payload conversion of a Transcode.
type TranscodeKind int

const (
	// None converts nothing; a Transcode of kind None only renumbers FromPT.
	None TranscodeKind = iota
	// UlawToAlaw converts a G.711 mu-law (PCMU) payload to A-law (PCMA).
	UlawToAlaw
	// AlawToUlaw converts a G.711 A-law (PCMA) payload to mu-law (PCMU).
	AlawToUlaw
)

// String names the kind.
func (k TranscodeKind) String() string {
	switch k {
	case None:
		return "None"
	case UlawToAlaw:
		return "UlawToAlaw"
	case AlawToUlaw:
		return "AlawToUlaw"
	}
	return fmt.Sprintf("TranscodeKind(%d)", int(k))
}

// Transcode asks for the payload of every packet with payload type FromPT
// to be converted by Kind (in place: G.711 is one octet per sample both
// ways) and its payload type rewritten to ToPT.
type Transcode struct {
	FromPT, ToPT uint8
	Kind         TranscodeKind
}

// rules is the compiled per-direction payload handling: for each incoming
// payload type, the outgoing payload type and the conversion. A *rules is
// immutable once published; nil means "forward untouched".
type rules struct {
	pt   [128]uint8
	conv [128]TranscodeKind
}

// dirSettings is what the B2BUA asked for in one direction.
type dirSettings struct {
	ptmap     map[uint8]uint8
	transcode Transcode
	hasTC     bool
}

// compile turns settings into rules, or nil when they change nothing.
func (s *dirSettings) compile() *rules {
	r := &rules{}
	for i := range r.pt {
		r.pt[i] = uint8(i)
	}
	for from, to := range s.ptmap {
		r.pt[from] = to
	}
	if s.hasTC {
		r.pt[s.transcode.FromPT] = s.transcode.ToPT
		r.conv[s.transcode.FromPT] = s.transcode.Kind
	}
	for i := range r.pt {
		if r.pt[i] != uint8(i) || r.conv[i] != None {
			return r
		}
	}
	return nil
}

// apply rewrites the packet in place by the rules: payload conversion of
// payload[:] and the payload type in header byte 1 (the marker bit is
// kept). pkt must be a validated RTP packet and payload a sub-slice of it.
func (r *rules) apply(pkt, payload []byte) {
	pt := pkt[1] & 0x7F
	switch r.conv[pt] {
	case UlawToAlaw:
		g711.TranscodeUlawToAlaw(payload, payload)
	case AlawToUlaw:
		g711.TranscodeAlawToUlaw(payload, payload)
	}
	pkt[1] = pkt[1]&0x80 | r.pt[pt]
}
