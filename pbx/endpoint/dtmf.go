package endpoint

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// dtmfDigits maps RFC 4733 event codes 0-15 to their keys.
const dtmfDigits = "0123456789*#ABCD"

// dtmfEvent is the payload of one RFC 4733 telephone-event packet.
type dtmfEvent struct {
	Event    uint8  // 0-9, 10 = *, 11 = #, 12-15 = A-D
	End      bool   // the E bit: last packets of the event
	Volume   uint8  // 0-63, in -dBm0
	Duration uint16 // in timestamp units (8 kHz) since the event's timestamp
}

// eventCode is the RFC 4733 code of a DTMF key.
func eventCode(d rune) (uint8, error) {
	i := strings.IndexRune(dtmfDigits, toUpper(d))
	if i < 0 {
		return 0, fmt.Errorf("endpoint: %q is not a DTMF key (0-9 * # A-D)", d)
	}
	return uint8(i), nil
}

func toUpper(r rune) rune {
	if r >= 'a' && r <= 'd' {
		return r - 'a' + 'A'
	}
	return r
}

// Digit is the key of an event code, 0 for codes that are not DTMF keys.
func (e dtmfEvent) Digit() rune {
	if int(e.Event) < len(dtmfDigits) {
		return rune(dtmfDigits[e.Event])
	}
	return 0
}

// marshal writes the 4-byte payload into b (len >= 4) and returns b[:4].
func (e dtmfEvent) marshal(b []byte) []byte {
	b = b[:4]
	b[0] = e.Event
	b[1] = e.Volume & 0x3f
	if e.End {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], e.Duration)
	return b
}

// parseDTMF reads an RFC 4733 payload (outside input: any length; only the
// first event block is read).
func parseDTMF(p []byte) (dtmfEvent, bool) {
	if len(p) < 4 {
		return dtmfEvent{}, false
	}
	return dtmfEvent{Event: p[0], End: p[1]&0x80 != 0, Volume: p[1] & 0x3f,
		Duration: binary.BigEndian.Uint16(p[2:])}, true
}
