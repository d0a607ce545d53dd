package sipfast

import (
	"bytes"
	"net/netip"
)

// The small lexical checks Parse is built from. Each accepts a narrow,
// common form and refuses the rest, so that what passes is read the same
// way by sipgo's parser.

func indexByte(b []byte, c byte) int { return bytes.IndexByte(b, c) }

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// equalFold compares b with the lower-case ASCII word s, ignoring b's case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		if lower(b[i]) != s[i] {
			return false
		}
	}
	return true
}

// trim drops leading and trailing spaces and tabs.
func trim(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// plainValue refuses a value sipgo would trim differently: it trims
// Unicode white space too, which can only start with a byte >= 0x80.
func plainValue(v []byte) bool {
	return len(v) == 0 || v[0] < 0x80 && v[len(v)-1] < 0x80
}

func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '-', '.', '!', '%', '*', '_', '+', '`', '\'', '~':
		return true
	}
	return false
}

func isToken(b []byte) bool {
	for _, c := range b {
		if !isTokenChar(c) {
			return false
		}
	}
	return len(b) > 0
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

// smallInt reads up to 9 decimal digits.
func smallInt(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 9 || !allDigits(b) {
		return 0, false
	}
	n := 0
	for _, c := range b {
		n = n*10 + int(c-'0')
	}
	return n, true
}

// param splits "name" or "name=value" (no spaces, no quotes).
func param(p []byte) (name, val []byte, hasVal, ok bool) {
	eq := indexByte(p, '=')
	if eq < 0 {
		return p, nil, false, isToken(p)
	}
	name, val = p[:eq], p[eq+1:]
	if !isToken(name) || len(val) == 0 {
		return nil, nil, false, false
	}
	for _, c := range val {
		if !isTokenChar(c) && c != ':' && c != '[' && c != ']' {
			return nil, nil, false, false
		}
	}
	return name, val, true, true
}

func isHostChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.'
}

// hostPort accepts "host", "host:port", "[v6]" and "[v6]:port".
func hostPort(b []byte) bool {
	var port []byte
	if len(b) > 0 && b[0] == '[' {
		end := indexByte(b, ']')
		if end < 3 {
			return false
		}
		colons := 0
		for _, c := range b[1:end] {
			if c == ':' {
				colons++
			}
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' || c == ':' || c == '.') {
				return false
			}
		}
		if colons < 2 {
			return false // an IPv6 address has at least two
		}
		// Rare enough that the string (an allocation) does not matter.
		if a, err := netip.ParseAddr(string(b[1:end])); err != nil || !a.Is6() {
			return false
		}
		rest := b[end+1:]
		if len(rest) > 0 {
			if rest[0] != ':' {
				return false
			}
			port = rest[1:]
			if len(port) == 0 {
				return false
			}
		}
	} else {
		colon := indexByte(b, ':')
		host := b
		if colon >= 0 {
			host, port = b[:colon], b[colon+1:]
			if len(port) == 0 {
				return false
			}
		}
		if len(host) == 0 || host[0] == '.' || host[0] == '-' {
			return false
		}
		for _, c := range host {
			if !isHostChar(c) {
				return false
			}
		}
	}
	if port != nil {
		n, ok := smallInt(port)
		return ok && len(port) <= 5 && port[0] != '0' && n <= 65535 // "05060" comes back as "5060"
	}
	return true
}

// plainURI accepts "sip:user@hostport;params" or "sips:..." with a plain
// user part and parameters, no headers ('?'), no password.
func plainURI(u []byte) bool {
	var rest []byte
	switch {
	case len(u) > 4 && string(u[:4]) == "sip:":
		rest = u[4:]
	case len(u) > 5 && string(u[:5]) == "sips:":
		rest = u[5:]
	default:
		return false
	}
	if at := indexByte(rest, '@'); at >= 0 {
		if !plainUser(rest[:at]) {
			return false
		}
		rest = rest[at+1:]
	}
	semi := indexByte(rest, ';')
	hp := rest
	if semi >= 0 {
		hp = rest[:semi]
	}
	if !hostPort(hp) || !uniqueParams(rest) {
		return false
	}
	for semi >= 0 {
		rest = rest[semi+1:]
		semi = indexByte(rest, ';')
		p := rest
		if semi >= 0 {
			p = rest[:semi]
		}
		if _, _, _, ok := param(p); !ok {
			return false
		}
	}
	return true
}

// plainUser accepts a user part of unreserved characters (no escapes).
func plainUser(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			switch c {
			case '-', '_', '.', '!', '~', '*', '\'', '+':
			default:
				return false
			}
		}
	}
	return true
}

// uriUser returns the user part of a plain URI; it requires one.
func uriUser(u []byte) ([]byte, bool) {
	at := indexByte(u, '@')
	colon := indexByte(u, ':')
	if at < 0 || colon < 0 || colon > at {
		return nil, false
	}
	return u[colon+1 : at], true
}

// displayName accepts nothing, a quoted string without escapes, or words
// of token characters separated by single spaces.
func displayName(d []byte) bool {
	if len(d) == 0 {
		return true
	}
	if d[0] == '"' {
		if len(d) < 2 || d[len(d)-1] != '"' {
			return false
		}
		for _, c := range d[1 : len(d)-1] {
			if c == '"' || c == '\\' || c == '<' || c == '>' || c == ';' || c == ',' || c >= 0x80 {
				return false
			}
		}
		return true
	}
	prevSpace := true
	for _, c := range d {
		if c == ' ' {
			if prevSpace {
				return false
			}
			prevSpace = true
			continue
		}
		if !isTokenChar(c) {
			return false
		}
		prevSpace = false
	}
	return !prevSpace
}

// angleAddr reads "[display] <uri>;params" (From, To, Contact): the URI
// and the parameters after '>' (empty, or starting with ';').
func angleAddr(v []byte) (uri, params []byte, ok bool) {
	lt := indexByte(v, '<')
	gt := indexByte(v, '>')
	if lt < 0 || gt < lt || !displayName(trim(v[:lt])) {
		return nil, nil, false
	}
	uri, params = v[lt+1:gt], v[gt+1:]
	if !plainURI(uri) || !uniqueParams(params) || len(params) > 0 && params[0] != ';' {
		return nil, nil, false
	}
	return uri, params, true
}

// nextParam splits the first parameter off params, which starts with ';':
// p is what follows the ';' up to the next one, rest begins at that one.
func nextParam(params []byte) (p, rest []byte) {
	params = params[1:]
	if end := indexByte(params, ';'); end >= 0 {
		return params[:end], params[end:]
	}
	return params, nil
}

// nameAddr reads a From or To value: "[display] <uri>;params". tag is
// true when it has a tag parameter.
func nameAddr(v []byte) (uri []byte, tag, ok bool) {
	uri, rest, ok := angleAddr(v)
	if !ok {
		return nil, false, false
	}
	for len(rest) > 0 {
		var p []byte
		p, rest = nextParam(rest)
		name, _, hasVal, ok := param(p)
		if !ok {
			return nil, false, false
		}
		if string(name) == "tag" {
			if !hasVal || tag {
				return nil, false, false
			}
			tag = true
		} else if equalFold(name, "tag") {
			return nil, false, false
		}
	}
	return uri, tag, true
}

// maxParams bounds the parameters of one value Parse reads.
const maxParams = 16

// uniqueParams reports whether the ';'-separated parameters of v (from its
// first ';') have distinct names, at most maxParams of them: sipgo keeps
// only the last of a repeated name, a copied value would keep both.
func uniqueParams(v []byte) bool {
	var names [maxParams][]byte
	n := 0
	for i := indexByte(v, ';'); i >= 0; {
		v = v[i+1:]
		end := indexByte(v, ';')
		p := v
		if end >= 0 {
			p = v[:end]
		}
		if eq := indexByte(p, '='); eq >= 0 {
			p = p[:eq]
		}
		if n == maxParams {
			return false
		}
		for _, prev := range names[:n] {
			if string(prev) == string(p) {
				return false
			}
		}
		names[n] = p
		n++
		i = end
	}
	return true
}
