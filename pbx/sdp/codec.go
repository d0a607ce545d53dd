package sdp

import "strings"

// Canonical names of the encodings hushbox relays.
const (
	PCMU           = "PCMU"
	PCMA           = "PCMA"
	TelephoneEvent = "telephone-event"
)

// staticCodec returns the RFC 3551 static payload type pt, for m= formats
// that come without an a=rtpmap line. Unknown types get an empty Name.
func staticCodec(pt uint8) Codec {
	c := Codec{PT: pt, Rate: 8000, Channels: 1}
	switch pt {
	case 0:
		c.Name = PCMU
	case 3:
		c.Name = "GSM"
	case 4:
		c.Name = "G723"
	case 8:
		c.Name = PCMA
	case 9:
		c.Name = "G722"
	case 13:
		c.Name = "CN"
	case 18:
		c.Name = "G729"
	default:
		c.Rate = 0
	}
	return c
}

// canonicalName gives the supported encodings one spelling (encoding names
// are case-insensitive) and leaves the others as written.
func canonicalName(name string) string {
	for _, n := range []string{PCMU, PCMA, TelephoneEvent} {
		if strings.EqualFold(name, n) {
			return n
		}
	}
	return name
}

// isG711 reports an 8 kHz mono PCMU or PCMA format.
func (c Codec) isG711() bool {
	n := canonicalName(c.Name)
	return (n == PCMU || n == PCMA) && c.Rate == 8000 && c.Channels <= 1
}

// isDTMF reports an 8 kHz RFC 4733 telephone-event format (the one that goes
// with G.711; telephone-event at other rates belongs to wide-band codecs).
func (c Codec) isDTMF() bool {
	return canonicalName(c.Name) == TelephoneEvent && c.Rate == 8000 && c.Channels <= 1
}

// sameCodec reports whether two formats are the same G.711 law.
func sameCodec(a, b Codec) bool {
	return canonicalName(a.Name) == canonicalName(b.Name)
}

// firstG711 returns the first PCMU or PCMA format of cs.
func firstG711(cs []Codec) (Codec, bool) {
	for _, c := range cs {
		if c.isG711() {
			return c, true
		}
	}
	return Codec{}, false
}

// firstDTMF returns the first 8 kHz telephone-event format of cs.
func firstDTMF(cs []Codec) (Codec, bool) {
	for _, c := range cs {
		if c.isDTMF() {
			return c, true
		}
	}
	return Codec{}, false
}

// otherLaw returns the G.711 codec of the other law than c, with its static
// payload type.
func otherLaw(c Codec) Codec {
	if canonicalName(c.Name) == PCMU {
		return Codec{PT: 8, Name: PCMA, Rate: 8000, Channels: 1}
	}
	return Codec{PT: 0, Name: PCMU, Rate: 8000, Channels: 1}
}
