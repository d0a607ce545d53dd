package digest

import "strings"

// Challenge is a WWW-Authenticate / Proxy-Authenticate Digest challenge. It
// always offers qop="auth".
type Challenge struct {
	Realm     string
	Nonce     string
	Opaque    string
	Algorithm string // MD5 when empty
	Stale     bool   // the client's nonce was genuine but expired: retry without asking the user
}

// String renders the header value, for example
//
//	Digest realm="hushbox", nonce="abc", algorithm=MD5, qop="auth"
//
// with opaque="..." when Opaque is set and stale=true when Stale is set.
// Quoted values are escaped, so a realm holding '"' cannot break the header.
func (c Challenge) String() string {
	alg := c.Algorithm
	if alg == "" {
		alg = MD5
	}
	var b strings.Builder
	b.WriteString(`Digest realm=`)
	writeQuoted(&b, c.Realm)
	b.WriteString(`, nonce=`)
	writeQuoted(&b, c.Nonce)
	if c.Opaque != "" {
		b.WriteString(`, opaque=`)
		writeQuoted(&b, c.Opaque)
	}
	b.WriteString(`, algorithm=`)
	b.WriteString(alg)
	b.WriteString(`, qop="auth"`)
	if c.Stale {
		b.WriteString(`, stale=true`)
	}
	return b.String()
}

// writeQuoted writes s as an RFC 3261 quoted-string. CR and LF are dropped:
// they can never be part of a header value.
func writeQuoted(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\r', '\n', 0:
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}
