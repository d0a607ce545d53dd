package keys

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

// PublicKey is an Ed25519 identity public key (RFC 8032 encoding). It is a
// comparable value, usable as a map key.
type PublicKey [32]byte

// PublicKeyPrefix starts the text form of a PublicKey.
const PublicKeyPrefix = "hbx1:"

// b64 is the base64url alphabet without padding, strict: a text form has
// exactly one spelling (non-zero trailing bits are refused).
var b64 = base64.RawURLEncoding.Strict()

// String is the text form used in configuration, the CLI and the key
// directory: "hbx1:" followed by the 32 key bytes in base64url without
// padding (48 characters in all).
func (k PublicKey) String() string { return PublicKeyPrefix + b64.EncodeToString(k[:]) }

// Fingerprint is what users compare when they pin a key: the first 128 bits
// of SHA-256 over the 32 key bytes, as 8 groups of 4 lower-case hex digits
// separated by spaces, e.g. "3f2a 91c0 7d4e 0b18 c2a9 55e1 09fd 6b3a".
// Finding another key with the same fingerprint costs about 2^128 work.
func (k PublicKey) Fingerprint() string {
	sum := sha256.Sum256(k[:])
	h := hex.EncodeToString(sum[:16])
	var b strings.Builder
	for i := 0; i < len(h); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(h[i : i+4])
	}
	return b.String()
}

// ParsePublicKey parses the text form written by String. It refuses
// anything else, including keys that must never be trusted (see
// checkIdentityKey), with an error wrapping ErrMalformed.
func ParsePublicKey(s string) (PublicKey, error) {
	rest, ok := strings.CutPrefix(s, PublicKeyPrefix)
	if !ok {
		return PublicKey{}, fmt.Errorf("keys: public key must start with %q: %w", PublicKeyPrefix, ErrMalformed)
	}
	var k PublicKey
	if err := decodeFixed(k[:], rest); err != nil {
		return PublicKey{}, fmt.Errorf("keys: public key: %w", err)
	}
	if err := checkIdentityKey(k); err != nil {
		return PublicKey{}, fmt.Errorf("keys: public key: %w", err)
	}
	return k, nil
}

// MarshalText implements encoding.TextMarshaler (the String form).
func (k PublicKey) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler (ParsePublicKey).
func (k *PublicKey) UnmarshalText(b []byte) error {
	p, err := ParsePublicKey(string(b))
	if err != nil {
		return err
	}
	*k = p
	return nil
}

// decodeFixed decodes base64url (no padding, strict) into exactly len(dst)
// bytes. Errors wrap ErrMalformed and never quote the input.
func decodeFixed(dst []byte, s string) error {
	if len(s) != b64.EncodedLen(len(dst)) {
		return fmt.Errorf("%d base64url characters, want %d: %w", len(s), b64.EncodedLen(len(dst)), ErrMalformed)
	}
	n, err := b64.Decode(dst, []byte(s))
	if err != nil || n != len(dst) {
		return fmt.Errorf("not base64url: %w", ErrMalformed)
	}
	return nil
}
