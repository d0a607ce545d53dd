package sdp

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// defaultPTime is the packet time written when the source gives none: one
// 20 ms G.711 frame per packet, the frame size of the scrambler.
const defaultPTime = 20

// marshal writes a session whose m= lines follow streams, with the audio
// stream at index audio replaced by m and every other stream rejected (port
// 0). With no streams it writes m alone. Lines end in CRLF.
//
// Everything written is checked again for characters that could break the
// line structure, because a Session may have been built by hand rather than
// by Parse.
func marshal(o Origin, m *Media, streams []Stream, audio int) ([]byte, error) {
	if len(streams) == 0 {
		streams, audio = []Stream{{Kind: "audio"}}, 0
	}
	if audio < 0 || audio >= len(streams) {
		return nil, fmt.Errorf("sdp: audio index %d outside %d streams: %w", audio, len(streams), ErrMalformed)
	}
	oaddr := o.Addr
	if !oaddr.IsValid() {
		oaddr = m.Addr
	}
	oaddr = plainAddr(oaddr)
	user := o.Username
	if !isToken(user) {
		user = "-"
	}

	var b strings.Builder
	line := func(parts ...string) {
		for _, p := range parts {
			b.WriteString(p)
		}
		b.WriteString("\r\n")
	}
	line("v=0")
	line("o=", user, " ", strconv.FormatUint(o.SessionID, 10), " ", strconv.FormatUint(o.Version, 10),
		" IN ", addrType(oaddr), " ", oaddr.String())
	line("s=-")
	line("c=IN ", addrType(m.Addr), " ", m.Addr.String())
	line("t=0 0")
	for i, st := range streams {
		if i == audio {
			if err := writeAudio(line, m); err != nil {
				return nil, err
			}
			continue
		}
		formats := st.Formats
		if len(formats) == 0 {
			formats = []string{"0"} // RFC 8866 wants at least one format, even when rejected
		}
		if !isToken(st.Kind) || !isToken(st.Proto) || !allTokens(formats) {
			return nil, fmt.Errorf("sdp: stream %d: bad m= tokens: %w", i, ErrMalformed)
		}
		line("m=", st.Kind, " 0 ", st.Proto, " ", strings.Join(formats, " "))
	}
	return []byte(b.String()), nil
}

// writeAudio writes the m=audio section of m.
func writeAudio(line func(...string), m *Media) error {
	if len(m.Codecs) == 0 {
		return fmt.Errorf("sdp: audio stream without codecs: %w", ErrNoCommonCodec)
	}
	if !isToken(m.Proto) {
		return fmt.Errorf("sdp: audio transport: %w", ErrMalformed)
	}
	pts := make([]string, len(m.Codecs))
	for i, c := range m.Codecs {
		pts[i] = strconv.Itoa(int(c.PT))
	}
	line("m=audio ", strconv.Itoa(m.Port), " ", m.Proto, " ", strings.Join(pts, " "))
	for _, c := range m.Codecs {
		name := canonicalName(c.Name)
		if !isToken(name) || c.Rate <= 0 || hasControl(c.Fmtp) {
			return fmt.Errorf("sdp: codec %d: %w", c.PT, ErrMalformed)
		}
		enc := name + "/" + strconv.Itoa(c.Rate)
		if c.Channels > 1 {
			enc += "/" + strconv.Itoa(c.Channels)
		}
		line("a=rtpmap:", strconv.Itoa(int(c.PT)), " ", enc)
		if c.Fmtp != "" {
			line("a=fmtp:", strconv.Itoa(int(c.PT)), " ", c.Fmtp)
		}
	}
	ptime := m.PTime
	if ptime <= 0 {
		ptime = defaultPTime
	}
	line("a=ptime:", strconv.Itoa(ptime))
	for _, c := range m.Crypto {
		if !isCryptoValue(c) {
			return fmt.Errorf("sdp: a=crypto: %w", ErrMalformed)
		}
		line("a=crypto:", c)
	}
	for _, x := range m.Extra {
		if x == "" || hasControl(x) {
			return fmt.Errorf("sdp: extra attribute: %w", ErrMalformed)
		}
		line("a=", x)
	}
	line("a=", m.Direction)
	return nil
}

// plainAddr drops a zone and unmaps IPv4-mapped IPv6, so that an address
// from a dual-stack socket is written as the IPv4 address it is.
func plainAddr(a netip.Addr) netip.Addr {
	return a.WithZone("").Unmap()
}

func addrType(a netip.Addr) string {
	if a.Is4() {
		return "IP4"
	}
	return "IP6"
}

// isToken reports a non-empty word without spaces or control characters.
func isToken(s string) bool {
	return s != "" && !hasControl(s) && !strings.ContainsAny(s, " \t")
}

// isCryptoValue checks an a=crypto value before writing it: non-empty,
// one line, no control characters. (Never quoted in errors: it is a key.)
func isCryptoValue(s string) bool {
	return s != "" && !hasControl(s)
}

func allTokens(ss []string) bool {
	for _, s := range ss {
		if !isToken(s) {
			return false
		}
	}
	return true
}
