package sdp

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"hushbox/pbx/srtp"
)

// Limits on what Parse accepts; real phones stay far below them.
const (
	MaxSize    = 64 << 10 // bytes of body (a UDP datagram cannot hold more)
	MaxStreams = 32       // m= lines
	maxFormats = 128      // formats on one m= line
	maxCrypto  = 16       // usable a=crypto lines kept per stream
)

// rawStream is an m= section before interpretation.
type rawStream struct {
	Stream
	conn    netip.Addr
	hasConn bool
	attrs   []attribute
	line    int
}

// attribute is one a= line split at the first colon.
type attribute struct {
	name, value string
	line        int
}

// Parse parses an SDP body (RFC 8866) and interprets its audio stream.
//
// It accepts CRLF or LF line endings and ignores blank lines and line types
// it has no use for. It fails, with an error wrapping ErrMalformed, on
// anything that is not SDP, on control characters, on a missing v= or o=
// line, on an unreadable c=, m=, a=rtpmap, a=fmtp or a=rtcp line, on
// multicast or host-name connection addresses, and when the audio stream has
// no connection address. It fails with ErrNoAudio when there is no RTP audio
// m= line, and with ErrTooLarge above MaxSize. Errors never quote attribute
// values (a=crypto carries keys).
func Parse(b []byte) (*Session, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("sdp: empty body: %w", ErrMalformed)
	}
	if len(b) > MaxSize {
		return nil, fmt.Errorf("sdp: body of %d bytes, limit %d: %w", len(b), MaxSize, ErrTooLarge)
	}
	var (
		s        Session
		seenV    bool
		seenO    bool
		sessConn bool
		sessDir  string
		streams  []*rawStream
		cur      *rawStream
	)
	for i, raw := range strings.Split(string(b), "\n") {
		n := i + 1
		line := strings.TrimSuffix(raw, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		if hasControl(line) {
			return nil, fmt.Errorf("sdp: line %d: control character: %w", n, ErrMalformed)
		}
		if len(line) < 2 || line[1] != '=' {
			return nil, fmt.Errorf("sdp: line %d: not a <type>=<value> line: %w", n, ErrMalformed)
		}
		typ, val := line[0], line[2:]
		if !seenV {
			if typ != 'v' {
				return nil, fmt.Errorf("sdp: line %d: body does not start with v=: %w", n, ErrMalformed)
			}
			if strings.TrimSpace(val) != "0" {
				return nil, fmt.Errorf("sdp: line %d: unsupported version %q: %w", n, short(val), ErrMalformed)
			}
			seenV = true
			continue
		}
		switch typ {
		case 'v':
			return nil, fmt.Errorf("sdp: line %d: second v= line: %w", n, ErrMalformed)
		case 'o':
			if seenO || cur != nil {
				return nil, fmt.Errorf("sdp: line %d: misplaced o= line: %w", n, ErrMalformed)
			}
			o, err := parseOrigin(val)
			if err != nil {
				return nil, fmt.Errorf("sdp: line %d: %w", n, err)
			}
			s.Origin, seenO = o, true
		case 'c':
			addr, err := parseConnection(val)
			if err != nil {
				return nil, fmt.Errorf("sdp: line %d: %w", n, err)
			}
			if cur == nil {
				s.Addr, sessConn = addr, true
			} else {
				cur.conn, cur.hasConn = addr, true
			}
		case 'm':
			if len(streams) == MaxStreams {
				return nil, fmt.Errorf("sdp: line %d: more than %d m= lines: %w", n, MaxStreams, ErrMalformed)
			}
			st, err := parseMediaLine(val)
			if err != nil {
				return nil, fmt.Errorf("sdp: line %d: %w", n, err)
			}
			cur = &rawStream{Stream: st, line: n}
			streams = append(streams, cur)
		case 'a':
			name, value, _ := strings.Cut(val, ":")
			if cur == nil {
				if isDirection(name) {
					sessDir = name
				}
				continue
			}
			cur.attrs = append(cur.attrs, attribute{name: name, value: strings.TrimSpace(value), line: n})
		default:
			// s=, t=, b=, i=, u=, e=, p=, r=, z=, k= carry nothing the relay needs.
		}
	}
	if !seenO {
		return nil, fmt.Errorf("sdp: no o= line: %w", ErrMalformed)
	}
	if len(streams) == 0 {
		return nil, fmt.Errorf("sdp: no m= line: %w", ErrNoAudio)
	}

	audio := -1
	for i, st := range streams {
		if st.Kind != "audio" || !isRTP(st.Proto) {
			continue
		}
		if audio < 0 || (streams[audio].Port == 0 && st.Port != 0) {
			audio = i
		}
	}
	if audio < 0 {
		return nil, fmt.Errorf("sdp: no RTP audio m= line among %d: %w", len(streams), ErrNoAudio)
	}
	for _, st := range streams {
		s.Streams = append(s.Streams, st.Stream)
	}
	s.AudioIndex = audio
	s.OtherMedia = len(streams) - 1

	st := streams[audio]
	m, err := interpretAudio(st, sessDir)
	if err != nil {
		return nil, err
	}
	switch {
	case st.hasConn:
		m.Addr = st.conn
	case sessConn:
		m.Addr = s.Addr
	case st.Port != 0:
		return nil, fmt.Errorf("sdp: line %d: audio stream has no c= line: %w", st.line, ErrMalformed)
	}
	if m.Addr.IsValid() && m.Addr.IsUnspecified() {
		m.Direction = holdDirection(m.Direction)
	}
	if m.RTCP.Port() != 0 && !m.RTCP.Addr().IsValid() {
		m.RTCP = netip.AddrPortFrom(m.Addr, m.RTCP.Port())
	}
	s.Audio = m
	return &s, nil
}

// interpretAudio reads the format list and attributes of the audio stream.
// The connection address is filled in by the caller.
func interpretAudio(st *rawStream, sessDir string) (*Media, error) {
	m := &Media{Proto: st.Proto, Port: st.Port, Direction: SendRecv}
	if sessDir != "" {
		m.Direction = sessDir
	}
	pts := make([]uint8, 0, len(st.Formats))
	seen := make(map[uint8]bool, len(st.Formats))
	for _, f := range st.Formats {
		pt, err := parsePT(f)
		if err != nil {
			return nil, fmt.Errorf("sdp: line %d: %w", st.line, err)
		}
		if !seen[pt] {
			seen[pt] = true
			pts = append(pts, pt)
		}
	}
	rtpmaps := make(map[uint8]Codec)
	fmtps := make(map[uint8]string)
	for _, a := range st.attrs {
		switch {
		case isDirection(a.name) && a.value == "":
			m.Direction = a.name
		case a.name == "rtpmap":
			c, err := parseRtpmap(a.value)
			if err != nil {
				return nil, fmt.Errorf("sdp: line %d: %w", a.line, err)
			}
			if _, dup := rtpmaps[c.PT]; !dup {
				rtpmaps[c.PT] = c
			}
		case a.name == "fmtp":
			ptText, params, _ := strings.Cut(a.value, " ")
			pt, err := parsePT(ptText)
			if err != nil {
				return nil, fmt.Errorf("sdp: line %d: a=fmtp: %w", a.line, err)
			}
			if _, dup := fmtps[pt]; !dup {
				fmtps[pt] = strings.TrimSpace(params)
			}
		case a.name == "ptime":
			m.PTime = parsePTime(a.value)
		case a.name == "rtcp":
			ap, err := parseRTCP(a.value)
			if err != nil {
				return nil, fmt.Errorf("sdp: line %d: %w", a.line, err)
			}
			m.RTCP = ap
		case a.name == "crypto":
			m.Crypto = append(m.Crypto, a.value)
			if c, err := srtp.ParseCrypto(a.value); err == nil && len(m.SDES) < maxCrypto {
				m.SDES = append(m.SDES, c)
			}
		case keepAttribute(a.name):
			if a.value == "" {
				m.Extra = append(m.Extra, a.name)
			} else {
				m.Extra = append(m.Extra, a.name+":"+a.value)
			}
		}
	}
	for _, pt := range pts {
		c, ok := rtpmaps[pt]
		if !ok {
			c = staticCodec(pt)
		}
		c.Fmtp = fmtps[pt]
		m.Codecs = append(m.Codecs, c)
	}
	return m, nil
}

// parseOrigin reads "username sess-id sess-version IN IP4|IP6 address".
// The address may be a host name; Addr is then left zero.
func parseOrigin(val string) (Origin, error) {
	f := strings.Fields(val)
	if len(f) != 6 {
		return Origin{}, fmt.Errorf("o= has %d fields, want 6: %w", len(f), ErrMalformed)
	}
	id, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return Origin{}, fmt.Errorf("o= session id %q: %w", short(f[1]), ErrMalformed)
	}
	ver, err := strconv.ParseUint(f[2], 10, 64)
	if err != nil {
		return Origin{}, fmt.Errorf("o= session version %q: %w", short(f[2]), ErrMalformed)
	}
	o := Origin{Username: f[0], SessionID: id, Version: ver}
	if a, err := netip.ParseAddr(f[5]); err == nil && a.Zone() == "" {
		o.Addr = a
	}
	return o, nil
}

// parseConnection reads "IN IP4|IP6 address". Unicast literal addresses only:
// the relay neither resolves names nor joins multicast groups.
func parseConnection(val string) (netip.Addr, error) {
	f := strings.Fields(val)
	if len(f) != 3 || f[0] != "IN" {
		return netip.Addr{}, fmt.Errorf("c= is not \"IN <type> <address>\": %w", ErrMalformed)
	}
	return parseTypedAddr(f[1], f[2], "c=")
}

// parseTypedAddr parses an address given with its SDP address type.
func parseTypedAddr(typ, text, what string) (netip.Addr, error) {
	if typ != "IP4" && typ != "IP6" {
		return netip.Addr{}, fmt.Errorf("%s address type %q: %w", what, short(typ), ErrMalformed)
	}
	a, err := netip.ParseAddr(text)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%s address %q is not an IP literal: %w", what, short(text), ErrMalformed)
	}
	switch {
	case a.Zone() != "":
		return netip.Addr{}, fmt.Errorf("%s address %q has a zone: %w", what, short(text), ErrMalformed)
	case typ == "IP4" && !a.Is4():
		return netip.Addr{}, fmt.Errorf("%s address %q is not IPv4: %w", what, short(text), ErrMalformed)
	case typ == "IP6" && !a.Is6():
		return netip.Addr{}, fmt.Errorf("%s address %q is not IPv6: %w", what, short(text), ErrMalformed)
	case a.IsMulticast():
		return netip.Addr{}, fmt.Errorf("%s multicast address %s: %w", what, a, ErrMalformed)
	}
	return a, nil
}

// parseMediaLine reads "media port[/count] proto fmt ...".
func parseMediaLine(val string) (Stream, error) {
	f := strings.Fields(val)
	if len(f) < 3 {
		return Stream{}, fmt.Errorf("m= has %d fields, want at least 3: %w", len(f), ErrMalformed)
	}
	portText, _, _ := strings.Cut(f[1], "/")
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return Stream{}, fmt.Errorf("m= port %q: %w", short(f[1]), ErrMalformed)
	}
	formats := f[3:]
	if len(formats) > maxFormats {
		return Stream{}, fmt.Errorf("m= has %d formats, limit %d: %w", len(formats), maxFormats, ErrMalformed)
	}
	if len(formats) == 0 && port != 0 {
		return Stream{}, fmt.Errorf("m= has no format: %w", ErrMalformed)
	}
	return Stream{Kind: f[0], Port: int(port), Proto: f[2], Formats: append([]string(nil), formats...)}, nil
}

// parseRtpmap reads "pt name/rate[/channels]".
func parseRtpmap(val string) (Codec, error) {
	ptText, enc, ok := strings.Cut(val, " ")
	if !ok {
		return Codec{}, fmt.Errorf("a=rtpmap without encoding: %w", ErrMalformed)
	}
	pt, err := parsePT(ptText)
	if err != nil {
		return Codec{}, fmt.Errorf("a=rtpmap: %w", err)
	}
	parts := strings.Split(strings.TrimSpace(enc), "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || strings.ContainsAny(parts[0], " \t") {
		return Codec{}, fmt.Errorf("a=rtpmap:%d encoding is not name/rate[/channels]: %w", pt, ErrMalformed)
	}
	rate, err := strconv.ParseUint(parts[1], 10, 31)
	if err != nil || rate == 0 {
		return Codec{}, fmt.Errorf("a=rtpmap:%d clock rate: %w", pt, ErrMalformed)
	}
	ch := uint64(1)
	if len(parts) == 3 {
		ch, err = strconv.ParseUint(parts[2], 10, 8)
		if err != nil || ch == 0 {
			return Codec{}, fmt.Errorf("a=rtpmap:%d channels: %w", pt, ErrMalformed)
		}
	}
	return Codec{PT: pt, Name: canonicalName(parts[0]), Rate: int(rate), Channels: int(ch)}, nil
}

// parseRTCP reads RFC 3605 "port [IN IP4|IP6 address]". Without an address
// the returned AddrPort has an invalid Addr; Parse fills in the media address.
func parseRTCP(val string) (netip.AddrPort, error) {
	f := strings.Fields(val)
	if len(f) != 1 && len(f) != 4 {
		return netip.AddrPort{}, fmt.Errorf("a=rtcp has %d fields, want 1 or 4: %w", len(f), ErrMalformed)
	}
	port, err := strconv.ParseUint(f[0], 10, 16)
	if err != nil || port == 0 {
		return netip.AddrPort{}, fmt.Errorf("a=rtcp port %q: %w", short(f[0]), ErrMalformed)
	}
	if len(f) == 1 {
		return netip.AddrPortFrom(netip.Addr{}, uint16(port)), nil
	}
	if f[1] != "IN" {
		return netip.AddrPort{}, fmt.Errorf("a=rtcp network type %q: %w", short(f[1]), ErrMalformed)
	}
	a, err := parseTypedAddr(f[2], f[3], "a=rtcp")
	if err != nil {
		return netip.AddrPort{}, err
	}
	return netip.AddrPortFrom(a, uint16(port)), nil
}

// parsePT reads an RTP payload type (0-127).
func parsePT(s string) (uint8, error) {
	v, err := strconv.ParseUint(s, 10, 8)
	if err != nil || v > 127 {
		return 0, fmt.Errorf("payload type %q: %w", short(s), ErrMalformed)
	}
	return uint8(v), nil
}

// parsePTime reads a=ptime leniently: it is advisory, so an unreadable or
// absurd value counts as absent (0). "20.0" is read as 20.
func parsePTime(s string) int {
	whole, _, _ := strings.Cut(s, ".")
	v, err := strconv.Atoi(whole)
	if err != nil || v <= 0 || v > 1000 {
		return 0
	}
	return v
}

// isRTP reports whether a transport profile carries RTP (RTP/AVP, RTP/SAVP,
// UDP/TLS/RTP/SAVPF, ...): only those have payload types.
func isRTP(proto string) bool {
	return strings.HasPrefix(proto, "RTP/") || strings.Contains(proto, "/RTP/")
}

func isDirection(s string) bool {
	return s == SendRecv || s == SendOnly || s == RecvOnly || s == Inactive
}

// holdDirection removes the receive side of a direction, for c=0.0.0.0.
func holdDirection(d string) string {
	switch d {
	case SendRecv:
		return SendOnly
	case RecvOnly:
		return Inactive
	}
	return d
}

// hasControl reports ASCII control characters other than tab.
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return true
		}
	}
	return false
}

// short bounds a token quoted in an error message.
func short(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
