package guard

import "bytes"

// Signature is one scanner's mark: a lower-case word that, found in the
// User-Agent of a request or as the whole display name of its From header,
// names the tool that sent it.
type Signature struct {
	Name    string // shown as the ban reason
	Pattern string // lower-case ASCII, matched case-insensitively
}

// Signatures are the SIP scanners and crackers hushbox bans on sight. They
// set these strings by default (sipvicious' svmap/svwar/svcrack send
// "friendly-scanner" and a From of "sipvicious"); a scanner that changes
// them is still caught by the rate limit and the auth-failure count.
var Signatures = []Signature{
	{"sipvicious", "friendly-scanner"},
	{"sipvicious", "sipvicious"},
	{"sipcli", "sipcli"},
	{"VaxSIPUserAgent", "vaxsipuseragent"},
	{"sundayddr", "sundayddr"},
	{"iWar", "iwar"},
	{"sip-scan", "sip-scan"},
	{"SIPScan", "sipscan"},
	{"SIVuS", "sivus"},
	{"siparmyknife", "siparmyknife"},
	{"smap", "smap"},
	{"Nmap", "nmap nse"},
	{"pplsip", "pplsip"},
}

// scanHeaderLimit bounds how much of a message Scan reads: the headers a
// scanner sets come first, and a datagram is at most 64 KiB anyway.
const scanHeaderLimit = 4096

// scanValueLimit is how much of a User-Agent or From value is searched.
const scanValueLimit = 256

// Scan looks for a scanner signature in a raw SIP request (before parsing)
// and returns the tool's name. Only the User-Agent and From (and "f")
// header lines of a request are read; responses are never scanners' and
// are not read. It allocates nothing.
//
// A signature matches a User-Agent as a word (not inside a longer run of
// letters and digits: "Asmapp" is not smap), and a From header only when it
// is the whole display name ("sipvicious" <sip:100@1.1.1.1>, as svmap,
// svwar and svcrack send it). Never the rest of the From header: its tag
// and URI are the caller's or random, and a substring search there banned
// a legitimate phone whose random tag happened to hold "iWaR".
func Scan(msg []byte) (string, bool) {
	if len(msg) < 8 || startsWithFold(msg, "sip/2.0 ") {
		return "", false
	}
	if len(msg) > scanHeaderLimit {
		msg = msg[:scanHeaderLimit]
	}
	first := true
	for len(msg) > 0 {
		var line []byte
		if i := indexByte(msg, '\n'); i >= 0 {
			line, msg = msg[:i], msg[i+1:]
		} else {
			line, msg = msg, nil
		}
		if first { // the request line
			first = false
			continue
		}
		if len(line) == 0 || (len(line) == 1 && line[0] == '\r') {
			break // end of headers
		}
		colon := indexByte(line, ':')
		if colon <= 0 {
			continue
		}
		name := trimSpace(line[:colon])
		ua := equalFold(name, "user-agent")
		if !ua && !equalFold(name, "from") && !equalFold(name, "f") {
			continue
		}
		// Lower-case the value once (a header value longer than the
		// buffer is cut: scanners' values are short), then search it
		// with the library's fast byte search.
		var buf [scanValueLimit]byte
		value := buf[:0]
		for _, c := range line[colon+1:] {
			if len(value) == len(buf) {
				break
			}
			value = append(value, lower(c))
		}
		if !ua {
			value = displayName(value)
			if len(value) == 0 {
				continue
			}
		}
		for _, s := range Signatures {
			if (ua && containsWord(value, s.Pattern)) || (!ua && string(value) == s.Pattern) {
				return s.Name, true
			}
		}
	}
	return "", false
}

// containsWord reports whether w occurs in b with no letter or digit
// right before or after it.
func containsWord(b []byte, w string) bool {
	for off := 0; off+len(w) <= len(b); {
		i := bytes.Index(b[off:], []byte(w))
		if i < 0 {
			return false
		}
		i += off
		end := i + len(w)
		if (i == 0 || !isAlnum(b[i-1])) && (end == len(b) || !isAlnum(b[end])) {
			return true
		}
		off = i + 1
	}
	return false
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// displayName is the display name of a From header's value (name-addr,
// RFC 3261 25.1), without its quotes and surrounding blanks; nil for an
// addr-spec without one. It returns a part of v.
func displayName(v []byte) []byte {
	v = trimSpace(bytes.TrimRight(v, "\r"))
	if len(v) > 0 && v[0] == '"' {
		for i := 1; i < len(v); i++ {
			switch v[i] {
			case '\\':
				i++ // a quoted pair
			case '"':
				return trimSpace(v[1:i])
			}
		}
		return nil // unterminated
	}
	if i := bytes.IndexByte(v, '<'); i > 0 {
		return trimSpace(v[:i])
	}
	return nil
}

func indexByte(b []byte, c byte) int { return bytes.IndexByte(b, c) }

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// equalFold compares b with the lower-case ASCII word w.
func equalFold(b []byte, w string) bool {
	if len(b) != len(w) {
		return false
	}
	for i := range b {
		if lower(b[i]) != w[i] {
			return false
		}
	}
	return true
}

func startsWithFold(b []byte, w string) bool {
	return len(b) >= len(w) && equalFold(b[:len(w)], w)
}
