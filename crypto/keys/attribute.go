package keys

import (
	"crypto/ed25519"
	"fmt"
	"strings"
)

// AttributeName is the SDP media attribute that carries a key share:
// "a=hushbox-key:<value>". The hushbox- prefix makes the B2BUA carry it to
// the other leg unchanged (see pbx/sdp.ExtraPrefix).
const AttributeName = "hushbox-key"

// attrVersion is the first field of the attribute value.
const attrVersion = "1"

// AttributeLen is the length of a version 1 attribute value (176 bytes);
// MaxAttributeLen bounds the value ParseAttribute reads at all.
const (
	AttributeLen    = len(attrVersion) + 1 + 43 + 1 + 43 + 1 + 86
	MaxAttributeLen = 1024
)

// Share is one side's parsed key share.
type Share struct {
	Identity  PublicKey                   // the signer's Ed25519 identity key
	Ephemeral [32]byte                    // the X25519 public key for this call
	Signature [ed25519.SignatureSize]byte // Ed25519 over the transcript (see doc.go)
}

// String formats the share as an attribute value (without "a=hushbox-key:").
func (s Share) String() string {
	return attrVersion + " " + b64.EncodeToString(s.Identity[:]) + " " +
		b64.EncodeToString(s.Ephemeral[:]) + " " + b64.EncodeToString(s.Signature[:])
}

// ParseAttribute parses an attribute value (what follows "a=hushbox-key:").
// It checks the syntax and the identity key (canonical, not of small
// order), not the signature: that needs the call binding and is Complete's
// job. Every error wraps ErrMalformed and none quotes the input.
func ParseAttribute(v string) (Share, error) {
	var s Share
	if len(v) > MaxAttributeLen {
		return s, fmt.Errorf("keys: attribute of %d bytes, limit %d: %w", len(v), MaxAttributeLen, ErrMalformed)
	}
	f := strings.Split(v, " ")
	if f[0] != attrVersion {
		return s, fmt.Errorf("keys: attribute version not supported (want %s): %w", attrVersion, ErrMalformed)
	}
	if len(f) != 4 {
		return s, fmt.Errorf("keys: attribute has %d space-separated fields, want 4: %w", len(f), ErrMalformed)
	}
	if err := decodeFixed(s.Identity[:], f[1]); err != nil {
		return Share{}, fmt.Errorf("keys: attribute identity key: %w", err)
	}
	if err := decodeFixed(s.Ephemeral[:], f[2]); err != nil {
		return Share{}, fmt.Errorf("keys: attribute ephemeral key: %w", err)
	}
	if err := decodeFixed(s.Signature[:], f[3]); err != nil {
		return Share{}, fmt.Errorf("keys: attribute signature: %w", err)
	}
	if err := checkIdentityKey(s.Identity); err != nil {
		return Share{}, fmt.Errorf("keys: attribute identity key: %w", err)
	}
	return s, nil
}

// AttributeValue finds the first hushbox-key attribute among SDP media
// attributes written as "name:value" without "a=" (as in sdp.Media.Extra)
// and returns its value.
func AttributeValue(attrs []string) (string, bool) {
	for _, a := range attrs {
		if v, ok := strings.CutPrefix(a, AttributeName+":"); ok {
			return v, true
		}
	}
	return "", false
}
