package guard

import "bytes"

// Signature is one scanner's mark: a lower-case fragment that, found in the
// User-Agent or From header of a request, names the tool that sent it.
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
		if !equalFold(name, "user-agent") && !equalFold(name, "from") && !equalFold(name, "f") {
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
		for _, s := range Signatures {
			if bytes.Contains(value, []byte(s.Pattern)) {
				return s.Name, true
			}
		}
	}
	return "", false
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
