package srtp

import (
	"fmt"

	psrtp "github.com/pion/srtp/v3"
)

// Suite is an SDES crypto-suite (RFC 4568 section 6.2, RFC 6188, RFC 7714).
type Suite int

// The suites hushbox supports. The zero Suite is no suite.
const (
	AES128CMSHA1_80 Suite = iota + 1 // AES_CM_128_HMAC_SHA1_80 (RFC 4568), the one every phone has
	AES128CMSHA1_32                  // AES_CM_128_HMAC_SHA1_32 (RFC 4568), 32-bit RTP auth tag
	AES256CMSHA1_80                  // AES_256_CM_HMAC_SHA1_80 (RFC 6188)
	AEADAES128GCM                    // AEAD_AES_128_GCM (RFC 7714)
	AEADAES256GCM                    // AEAD_AES_256_GCM (RFC 7714)
)

// suiteInfo describes one suite: its SDP name, the pion profile and the
// length of the inline key (master key || master salt).
type suiteInfo struct {
	name     string
	profile  psrtp.ProtectionProfile
	keyLen   int // master key octets
	saltLen  int // master salt octets
	strength int // Negotiate's preference, higher is better
}

var suites = map[Suite]suiteInfo{
	AES128CMSHA1_80: {"AES_CM_128_HMAC_SHA1_80", psrtp.ProtectionProfileAes128CmHmacSha1_80, 16, 14, 2},
	AES128CMSHA1_32: {"AES_CM_128_HMAC_SHA1_32", psrtp.ProtectionProfileAes128CmHmacSha1_32, 16, 14, 1},
	AES256CMSHA1_80: {"AES_256_CM_HMAC_SHA1_80", psrtp.ProtectionProfileAes256CmHmacSha1_80, 32, 14, 3},
	AEADAES128GCM:   {"AEAD_AES_128_GCM", psrtp.ProtectionProfileAeadAes128Gcm, 16, 12, 4},
	AEADAES256GCM:   {"AEAD_AES_256_GCM", psrtp.ProtectionProfileAeadAes256Gcm, 32, 12, 5},
}

// ParseSuite maps an SDP crypto-suite name to a Suite (names are case
// sensitive in RFC 4568). ok is false for suites hushbox does not support.
func ParseSuite(name string) (s Suite, ok bool) {
	for s, in := range suites {
		if in.name == name {
			return s, true
		}
	}
	return 0, false
}

// String returns the SDP name of the suite.
func (s Suite) String() string {
	if in, ok := suites[s]; ok {
		return in.name
	}
	return fmt.Sprintf("Suite(%d)", int(s))
}

// Supported reports whether s is one of the suites above.
func (s Suite) Supported() bool {
	_, ok := suites[s]
	return ok
}

// KeyLen is the length of the inline key of the suite: master key plus
// master salt (30 octets for AES_CM_128_HMAC_SHA1_80, 28 for
// AEAD_AES_128_GCM). 0 for an unsupported suite.
func (s Suite) KeyLen() int {
	in := suites[s]
	return in.keyLen + in.saltLen
}

// info returns the suite's description; the zero value for unknown suites.
func (s Suite) info() suiteInfo { return suites[s] }
