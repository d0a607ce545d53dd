package srtp

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math/bits"
	"strconv"
	"strings"
)

// Limits of the a=crypto grammar (RFC 4568 section 9.2) as hushbox reads it.
const (
	MaxTag       = 999999999 // tag is 1*9DIGIT
	maxMKILen    = 4         // MKI octets hushbox accepts (RFC allows 128; phones use 1-4)
	maxLifetime  = 1 << 48   // SRTP master key lifetime ceiling (RFC 3711 section 9.2)
	maxValueSize = 1024      // an a=crypto value longer than this is not a phone's
)

// Crypto is one SDES a=crypto attribute (RFC 4568): a tag, a suite and one
// master key. It is secret: String, GoString and LogValue redact the key;
// Value writes it for the SDP body only.
type Crypto struct {
	// Tag identifies the attribute in an offer; the answer repeats the tag
	// of the line it accepts. 0 to MaxTag.
	Tag   int
	Suite Suite
	// Key is master key || master salt, Suite.KeyLen() octets.
	Key []byte
	// MKI is the master key identifier the sender puts in every packet,
	// as it appears on the wire (big-endian, the declared length); nil
	// when the attribute has none.
	MKI []byte
	// Lifetime is the master key lifetime in packets as the attribute
	// gave it, 0 when absent. hushbox does not enforce it below the
	// SRTP limits (2^48 SRTP, 2^31 SRTCP packets), where pion stops.
	Lifetime uint64
}

// ParseCrypto reads an a=crypto attribute value (without "a=crypto:"), for
// example "1 AES_CM_128_HMAC_SHA1_80 inline:<base64>|2^31|1:1".
//
// It accepts one inline key of the suite's exact length (base64, padded or
// not), an optional lifetime (decimal or 2^n, at most 2^48) and an optional
// MKI of 1 to 4 octets. Of the session parameters it accepts WSH (window
// size hint; the replay window stays 128), FEC_ORDER and KDR=0, and refuses
// the others with ErrUnsupported: UNENCRYPTED_SRTP, UNENCRYPTED_SRTCP and
// UNAUTHENTICATED_SRTP weaken the hop, KDR>0, FEC_KEY and several keys are
// not implemented, and RFC 4568 section 6.3 wants an attribute with an
// unknown parameter refused. Grammar errors wrap ErrMalformed. Errors never
// quote the key.
func ParseCrypto(value string) (Crypto, error) {
	if len(value) > maxValueSize {
		return Crypto{}, fmt.Errorf("%w: %d octets", ErrMalformed, len(value))
	}
	f := strings.Fields(value)
	if len(f) < 3 {
		return Crypto{}, fmt.Errorf("%w: want \"tag suite key-params\"", ErrMalformed)
	}
	var c Crypto
	tag, err := parseDecimal(f[0], 9)
	if err != nil {
		return Crypto{}, fmt.Errorf("%w: tag %q", ErrMalformed, short(f[0]))
	}
	c.Tag = int(tag)
	s, ok := ParseSuite(f[1])
	if !ok {
		return Crypto{}, fmt.Errorf("%w: suite %q", ErrUnsupported, short(f[1]))
	}
	c.Suite = s
	if strings.Contains(f[2], ";") {
		return Crypto{}, fmt.Errorf("%w: several master keys", ErrUnsupported)
	}
	if err := c.parseKeyParam(f[2]); err != nil {
		return Crypto{}, err
	}
	for _, p := range f[3:] {
		if err := checkSessionParam(p); err != nil {
			return Crypto{}, err
		}
	}
	return c, nil
}

// parseKeyParam reads "inline:key||salt[|lifetime][|mki:length]".
func (c *Crypto) parseKeyParam(kp string) error {
	method, info, ok := strings.Cut(kp, ":")
	if !ok || method != "inline" {
		return fmt.Errorf("%w: key method is not inline", ErrMalformed)
	}
	parts := strings.Split(info, "|")
	if len(parts) > 3 {
		return fmt.Errorf("%w: key-info has %d fields", ErrMalformed, len(parts))
	}
	key, err := decodeKey(parts[0])
	if err != nil {
		return err
	}
	if len(key) != c.Suite.KeyLen() {
		return fmt.Errorf("%w: %s key of %d octets, want %d", ErrMalformed, c.Suite, len(key), c.Suite.KeyLen())
	}
	c.Key = key
	for i, p := range parts[1:] {
		if v, l, isMKI := strings.Cut(p, ":"); isMKI {
			if i != len(parts)-2 {
				return fmt.Errorf("%w: MKI before lifetime", ErrMalformed)
			}
			if c.MKI, err = parseMKI(v, l); err != nil {
				return err
			}
			continue
		}
		if i != 0 {
			return fmt.Errorf("%w: second lifetime", ErrMalformed)
		}
		if c.Lifetime, err = parseLifetime(p); err != nil {
			return err
		}
	}
	return nil
}

// decodeKey decodes base64 with or without padding (RFC 4568 says RFC 3548
// base64; a 28-octet GCM key is 38 characters unpadded, 40 padded).
func decodeKey(s string) ([]byte, error) {
	if len(s) == 0 || len(s) > 88 { // 88: 64 octets, twice the longest key+salt
		return nil, fmt.Errorf("%w: key of %d characters", ErrMalformed, len(s))
	}
	enc := base64.StdEncoding
	if !strings.HasSuffix(s, "=") && len(s)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	key, err := enc.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: key is not base64", ErrMalformed)
	}
	return key, nil
}

// parseLifetime reads "2^n" or a decimal count of packets.
func parseLifetime(s string) (uint64, error) {
	if exp, ok := strings.CutPrefix(s, "2^"); ok {
		n, err := parseDecimal(exp, 2)
		if err != nil || n > 48 {
			return 0, fmt.Errorf("%w: lifetime %q", ErrMalformed, short(s))
		}
		return 1 << n, nil
	}
	n, err := parseDecimal(s, 15)
	if err != nil || n == 0 || n > maxLifetime {
		return 0, fmt.Errorf("%w: lifetime %q", ErrMalformed, short(s))
	}
	return n, nil
}

// parseMKI reads "value:length" into the MKI as sent on the wire.
func parseMKI(value, length string) ([]byte, error) {
	l, err := parseDecimal(length, 3)
	if err != nil || l == 0 || l > 128 {
		return nil, fmt.Errorf("%w: MKI length %q", ErrMalformed, short(length))
	}
	if l > maxMKILen {
		return nil, fmt.Errorf("%w: MKI of %d octets", ErrUnsupported, l)
	}
	v, err := parseDecimal(value, 10)
	if err != nil || v >= 1<<(8*l) {
		return nil, fmt.Errorf("%w: MKI value %q", ErrMalformed, short(value))
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return bytes.Clone(b[8-l:]), nil
}

// checkSessionParam accepts the session parameters that change nothing for
// hushbox and refuses the rest (see ParseCrypto).
func checkSessionParam(p string) error {
	name, val, _ := strings.Cut(p, "=")
	switch name {
	case "WSH", "FEC_ORDER":
		return nil
	case "KDR":
		if val == "0" {
			return nil
		}
	}
	return fmt.Errorf("%w: session parameter %q", ErrUnsupported, short(name))
}

// parseDecimal reads 1 to maxDigits ASCII digits.
func parseDecimal(s string, maxDigits int) (uint64, error) {
	if s == "" || len(s) > maxDigits {
		return 0, ErrMalformed
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, ErrMalformed
		}
	}
	return strconv.ParseUint(s, 10, 64)
}

// NewCrypto returns a crypto attribute of the given tag and suite with a
// fresh master key and salt from crypto/rand, without MKI or lifetime.
func NewCrypto(tag int, s Suite) (Crypto, error) {
	if tag < 0 || tag > MaxTag {
		return Crypto{}, fmt.Errorf("%w: tag %d", ErrMalformed, tag)
	}
	if !s.Supported() {
		return Crypto{}, fmt.Errorf("%w: suite %v", ErrUnsupported, s)
	}
	key := make([]byte, s.KeyLen())
	// crypto/rand.Read never fails on supported platforms (Go 1.24+ crashes
	// the program instead of returning an error).
	_, _ = rand.Read(key)
	return Crypto{Tag: tag, Suite: s, Key: key}, nil
}

// DefaultOffer returns the attributes hushbox offers a leg, each with its
// own fresh key, in order of preference: 1 AEAD_AES_128_GCM, 2
// AES_CM_128_HMAC_SHA1_80 (every SDES phone has the latter).
func DefaultOffer() []Crypto {
	gcm, _ := NewCrypto(1, AEADAES128GCM)
	cm, _ := NewCrypto(2, AES128CMSHA1_80)
	return []Crypto{gcm, cm}
}

// Validate checks that c can key a context: a supported suite, a key of
// the suite's length, a tag in range and an MKI of at most 4 octets.
func (c Crypto) Validate() error {
	switch {
	case !c.Suite.Supported():
		return fmt.Errorf("%w: suite %v", ErrUnsupported, c.Suite)
	case len(c.Key) != c.Suite.KeyLen():
		return fmt.Errorf("%w: %s key of %d octets, want %d", ErrMalformed, c.Suite, len(c.Key), c.Suite.KeyLen())
	case c.Tag < 0 || c.Tag > MaxTag:
		return fmt.Errorf("%w: tag %d", ErrMalformed, c.Tag)
	case len(c.MKI) > maxMKILen:
		return fmt.Errorf("%w: MKI of %d octets", ErrUnsupported, len(c.MKI))
	}
	return nil
}

// Value writes the attribute value for an SDP body ("a=crypto:" + Value).
// It contains the key: never log it.
func (c Crypto) Value() string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(c.Tag))
	b.WriteByte(' ')
	b.WriteString(c.Suite.String())
	b.WriteString(" inline:")
	b.WriteString(base64.StdEncoding.EncodeToString(c.Key))
	if c.Lifetime != 0 {
		b.WriteByte('|')
		if bits.OnesCount64(c.Lifetime) == 1 {
			b.WriteString("2^" + strconv.Itoa(bits.TrailingZeros64(c.Lifetime)))
		} else {
			b.WriteString(strconv.FormatUint(c.Lifetime, 10))
		}
	}
	if len(c.MKI) > 0 {
		var v uint64
		for _, o := range c.MKI {
			v = v<<8 | uint64(o)
		}
		b.WriteString("|" + strconv.FormatUint(v, 10) + ":" + strconv.Itoa(len(c.MKI)))
	}
	return b.String()
}

// String describes the attribute with the key redacted, so a Crypto can be
// printed with %v or %s safely.
func (c Crypto) String() string {
	s := strconv.Itoa(c.Tag) + " " + c.Suite.String() + " inline:[redacted]"
	if len(c.MKI) > 0 {
		s += " mki:" + strconv.Itoa(len(c.MKI))
	}
	return s
}

// GoString redacts the key for %#v too.
func (c Crypto) GoString() string { return "srtp.Crypto{" + c.String() + "}" }

// LogValue keeps the key out of slog output.
func (c Crypto) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Equal reports whether c and o are the same keying: suite, key (compared
// in constant time) and MKI. Tag and lifetime do not matter.
func (c Crypto) Equal(o Crypto) bool {
	if c.Suite != o.Suite || len(c.Key) != len(o.Key) || !bytes.Equal(c.MKI, o.MKI) {
		return false
	}
	return subtle.ConstantTimeCompare(c.Key, o.Key) == 1
}

// short bounds a token quoted in an error message.
func short(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
