// Package digest implements HTTP Digest authentication as SIP uses it
// (RFC 2617, RFC 7616, RFC 8760): HA1 computation, parsing of the
// Authorization / Proxy-Authorization header, response verification with
// qop=auth, WWW-Authenticate challenges, stateless HMAC nonces and a bounded
// replay guard.
//
// Only MD5 and SHA-256 with qop=auth (or no qop, RFC 2069 style) are
// supported; the -sess variants and qop=auth-int are refused, because no
// phone we interoperate with needs them and each is extra attack surface.
package digest

import (
	"crypto/md5" //nolint:gosec // MD5 is mandated by RFC 2617 for SIP digest; SHA-256 is offered too.
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Algorithm names as they appear on the wire (RFC 7616 section 6.1).
const (
	MD5    = "MD5"
	SHA256 = "SHA-256"
)

// NormalizeAlgorithm maps an algorithm token as received (any case, or empty
// for the RFC 2617 default) to MD5 or SHA256. ok is false for anything else.
func NormalizeAlgorithm(alg string) (norm string, ok bool) {
	switch {
	case alg == "" || strings.EqualFold(alg, MD5):
		return MD5, true
	case strings.EqualFold(alg, SHA256):
		return SHA256, true
	}
	return "", false
}

// sumHex appends to dst the lowercase hex digest, under the normalized
// algorithm alg (MD5 or SHA256), of msg. With dst and msg on the caller's
// stack it allocates nothing: digest checking runs on every REGISTER.
func sumHex(dst []byte, alg string, msg []byte) []byte {
	if alg == SHA256 {
		sum := sha256.Sum256(msg)
		return hex.AppendEncode(dst, sum[:])
	}
	sum := md5.Sum(msg) //nolint:gosec // see the import
	return hex.AppendEncode(dst, sum[:])
}

// hashHex returns the lowercase hex digest of the parts joined by ':'.
func hashHex(alg string, parts ...string) string {
	var buf [256]byte
	msg := buf[:0]
	for i, p := range parts {
		if i > 0 {
			msg = append(msg, ':')
		}
		msg = append(msg, p...)
	}
	var out [2 * sha256.Size]byte
	return string(sumHex(out[:0], alg, msg))
}

// HA1 returns H(user:realm:password) in lowercase hex for alg (MD5 when alg
// is empty). It returns "" for an unsupported algorithm. The store keeps only
// this value, never the password.
func HA1(alg, user, realm, password string) string {
	norm, ok := NormalizeAlgorithm(alg)
	if !ok {
		return ""
	}
	return hashHex(norm, user, realm, password)
}

// hexLen is the length in hex characters of a digest of the algorithm.
func hexLen(alg string) int {
	switch alg {
	case MD5:
		return md5.Size * 2
	case SHA256:
		return sha256.Size * 2
	}
	return 0
}

// ValidHA1 reports whether s looks like an HA1 of alg: lowercase or
// uppercase hex of the algorithm's digest length.
func ValidHA1(alg, s string) bool {
	norm, ok := NormalizeAlgorithm(alg)
	if !ok || len(s) != hexLen(norm) {
		return false
	}
	return isHex(s)
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
