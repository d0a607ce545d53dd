package digest

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MaxHeaderLen bounds the header value ParseCredentials accepts. Real
// clients send a few hundred bytes; anything longer is refused before parsing.
const MaxHeaderLen = 8192

// ErrMalformed is wrapped by every ParseCredentials error, so callers can
// answer 400 (or a fresh challenge) without matching strings.
var ErrMalformed = errors.New("digest: malformed credentials")

// Credentials are the parameters of a Digest Authorization or
// Proxy-Authorization header. Values are unquoted and unescaped.
type Credentials struct {
	Username  string
	Realm     string
	Nonce     string
	URI       string
	Response  string
	Algorithm string
	CNonce    string
	Opaque    string
	QOP       string
	NC        string
}

// NormalizedAlgorithm returns MD5 or SHA256 for the credentials' algorithm
// parameter (MD5 when absent); ok is false for an unsupported one. Use it to
// pick which stored HA1 to hand to Verify.
func (c Credentials) NormalizedAlgorithm() (string, bool) {
	return NormalizeAlgorithm(c.Algorithm)
}

// NonceCount returns the nc parameter as a number. Without qop there is no
// nonce count and it returns 0, nil, which is the value Replay.Accept
// expects for such clients.
func (c Credentials) NonceCount() (uint64, error) {
	if c.QOP == "" && c.NC == "" {
		return 0, nil
	}
	if len(c.NC) != 8 || !isHex(c.NC) {
		return 0, fmt.Errorf("%w: nc %q is not 8 hex digits", ErrMalformed, c.NC)
	}
	n, err := strconv.ParseUint(c.NC, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: nc %q: %v", ErrMalformed, c.NC, err)
	}
	return n, nil
}

// Verify reports whether the credentials' response is the one a client
// knowing ha1 would send for this request method. With qop=auth the
// expected response is H(HA1:nonce:nc:cnonce:auth:HA2), without qop it is
// H(HA1:nonce:HA2), where HA2 = H(method:uri). The comparison is constant
// time. It returns false for an unsupported algorithm or qop, a malformed nc
// or cnonce, and for an ha1 that is not a digest of the right length (so an
// account with no stored HA1 can never be authenticated).
//
// Verify does not check the nonce, the realm or the user name: the caller
// checks the nonce with Nonces.Check, looks the user up, and after a true
// result records the nonce count with Replay.Accept.
func (c Credentials) Verify(method, ha1 string) bool {
	alg, ok := NormalizeAlgorithm(c.Algorithm)
	if !ok || !ValidHA1(alg, ha1) || method == "" {
		return false
	}
	// Everything below works in buffers on the stack: no allocation.
	var buf [512]byte
	var ha2 [2 * sha256.Size]byte
	msg := append(append(append(buf[:0], method...), ':'), c.URI...)
	h2 := sumHex(ha2[:0], alg, msg)
	msg = appendLower(buf[:0], ha1)
	msg = append(append(append(msg, ':'), c.Nonce...), ':')
	switch {
	case c.QOP == "":
		if c.NC != "" || c.CNonce != "" {
			return false
		}
	case strings.EqualFold(c.QOP, "auth"):
		if _, err := c.NonceCount(); err != nil || c.CNonce == "" {
			return false
		}
		// The client hashes the qop value as it sent it ("auth").
		msg = append(append(msg, c.NC...), ':')
		msg = append(append(msg, c.CNonce...), ':')
		msg = append(append(msg, c.QOP...), ':')
	default:
		return false
	}
	msg = append(msg, h2...)
	var want, got [2 * sha256.Size]byte
	w := sumHex(want[:0], alg, msg)
	// The response in lower case (hex digits are ASCII; anything else
	// cannot match anyway).
	g := appendLower(got[:0], c.Response)
	return subtle.ConstantTimeCompare(g, w) == 1
}

// appendLower appends s to dst with ASCII upper case letters lowered.
func appendLower(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		dst = append(dst, ch)
	}
	return dst
}

// ParseCredentials parses the value of an Authorization or
// Proxy-Authorization header: the scheme "Digest" (any case) followed by a
// comma-separated list of name=value parameters in any order, names
// case-insensitive, values either tokens or quoted strings with backslash
// escapes. Unknown parameters are ignored; a repeated parameter, a missing
// username, realm, nonce, uri or response, or any syntax error is refused
// with an error wrapping ErrMalformed. It never panics.
func ParseCredentials(header string) (Credentials, error) {
	var c Credentials
	if len(header) > MaxHeaderLen {
		return c, fmt.Errorf("%w: header is %d bytes, limit %d", ErrMalformed, len(header), MaxHeaderLen)
	}
	s := strings.TrimLeft(header, " \t")
	i := 0
	for i < len(s) && isTokenChar(s[i]) {
		i++
	}
	if !strings.EqualFold(s[:i], "Digest") {
		return c, fmt.Errorf("%w: scheme %q is not Digest", ErrMalformed, s[:i])
	}
	if i == len(s) || (s[i] != ' ' && s[i] != '\t') {
		return c, fmt.Errorf("%w: no parameters after scheme", ErrMalformed)
	}
	p := parser{s: s, i: i}
	var seen paramSet
	for {
		p.skipSpace()
		if p.eof() {
			break
		}
		if p.peek() == ',' { // empty list element (RFC 9110 section 5.6.1)
			p.i++
			continue
		}
		name, err := p.token()
		if err != nil {
			return Credentials{}, err
		}
		name = strings.ToLower(name)
		p.skipSpace()
		if p.eof() || p.peek() != '=' {
			return Credentials{}, fmt.Errorf("%w: parameter %q has no '='", ErrMalformed, name)
		}
		p.i++
		p.skipSpace()
		val, err := p.value()
		if err != nil {
			return Credentials{}, fmt.Errorf("parameter %q: %w", name, err)
		}
		if !seen.add(name) {
			return Credentials{}, fmt.Errorf("%w: parameter %q repeated", ErrMalformed, name)
		}
		c.set(name, val)
		p.skipSpace()
		if p.eof() {
			break
		}
		if p.peek() != ',' {
			return Credentials{}, fmt.Errorf("%w: expected ',' after parameter %q at offset %d", ErrMalformed, name, p.i)
		}
		p.i++
	}
	for _, req := range [...]string{"username", "realm", "nonce", "uri", "response"} {
		if !seen.has(req) {
			return Credentials{}, fmt.Errorf("%w: missing %s", ErrMalformed, req)
		}
	}
	return c, nil
}

// paramNames are the parameters Credentials keeps; paramSet tracks them in
// a bit set and only needs a map for unknown ones (rare), so parsing the
// usual header allocates nothing for the bookkeeping.
var paramNames = [...]string{"username", "realm", "nonce", "uri", "response", "algorithm", "cnonce", "opaque", "qop", "nc"}

// paramSet is the set of parameter names seen so far (lowercase).
type paramSet struct {
	known uint16
	other map[string]bool
}

// add records name and reports whether it was new.
func (s *paramSet) add(name string) bool {
	for i, n := range paramNames {
		if n == name {
			if s.known&(1<<i) != 0 {
				return false
			}
			s.known |= 1 << i
			return true
		}
	}
	if s.other[name] {
		return false
	}
	if s.other == nil {
		s.other = make(map[string]bool)
	}
	s.other[name] = true
	return true
}

// has reports whether name was seen.
func (s *paramSet) has(name string) bool {
	for i, n := range paramNames {
		if n == name {
			return s.known&(1<<i) != 0
		}
	}
	return s.other[name]
}

// set stores a parameter by its lowercase name; unknown names are dropped.
func (c *Credentials) set(name, val string) {
	switch name {
	case "username":
		c.Username = val
	case "realm":
		c.Realm = val
	case "nonce":
		c.Nonce = val
	case "uri":
		c.URI = val
	case "response":
		c.Response = val
	case "algorithm":
		c.Algorithm = val
	case "cnonce":
		c.CNonce = val
	case "opaque":
		c.Opaque = val
	case "qop":
		c.QOP = val
	case "nc":
		c.NC = val
	}
}

// parser walks a header value byte by byte.
type parser struct {
	s string
	i int
}

func (p *parser) eof() bool  { return p.i >= len(p.s) }
func (p *parser) peek() byte { return p.s[p.i] }

// skipSpace skips linear white space, including obsolete line folding.
func (p *parser) skipSpace() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\r', '\n':
			p.i++
		default:
			return
		}
	}
}

// token reads an RFC 3261 token.
func (p *parser) token() (string, error) {
	start := p.i
	for p.i < len(p.s) && isTokenChar(p.s[p.i]) {
		p.i++
	}
	if p.i == start {
		if p.eof() {
			return "", fmt.Errorf("%w: expected a token at end of header", ErrMalformed)
		}
		return "", fmt.Errorf("%w: unexpected %q at offset %d", ErrMalformed, p.s[p.i], p.i)
	}
	return p.s[start:p.i], nil
}

// value reads a token or a quoted string, unescaping quoted pairs.
func (p *parser) value() (string, error) {
	if p.eof() {
		return "", fmt.Errorf("%w: missing value", ErrMalformed)
	}
	if p.peek() != '"' {
		return p.token()
	}
	p.i++
	// The usual quoted string has no escapes: return the slice of the
	// header itself instead of building a copy.
	for j := p.i; j < len(p.s); j++ {
		ch := p.s[j]
		if ch == '"' {
			v := p.s[p.i:j]
			p.i = j + 1
			return v, nil
		}
		if ch == '\\' || ch == '\r' || ch == '\n' || ch == 0 {
			break // the careful loop below handles (or refuses) it
		}
	}
	var b strings.Builder
	for p.i < len(p.s) {
		ch := p.s[p.i]
		switch {
		case ch == '"':
			p.i++
			return b.String(), nil
		case ch == '\\':
			if p.i+1 >= len(p.s) {
				return "", fmt.Errorf("%w: escape at end of header", ErrMalformed)
			}
			next := p.s[p.i+1]
			if next == '\r' || next == '\n' || next == 0 {
				return "", fmt.Errorf("%w: escaped control character", ErrMalformed)
			}
			b.WriteByte(next)
			p.i += 2
		case ch == '\r' || ch == '\n' || ch == 0:
			return "", fmt.Errorf("%w: control character in quoted string", ErrMalformed)
		default:
			b.WriteByte(ch)
			p.i++
		}
	}
	return "", fmt.Errorf("%w: unterminated quoted string", ErrMalformed)
}

// isTokenChar reports whether c may appear in an RFC 3261 token.
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
