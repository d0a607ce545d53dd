package keys

import (
	"crypto/rand"
	"strings"
)

// BindingAttributeName is the SDP media attribute that carries a binding
// drawn by the offerer for calls that cross a B2BUA: "a=hushbox-call:<binding>".
const BindingAttributeName = "hushbox-call"

// NewBinding draws a call binding for the offerer: 16 bytes from
// crypto/rand, base64url without padding (22 characters).
func NewBinding() string {
	b := make([]byte, 16)
	rand.Read(b) // never fails (crypto/rand since Go 1.24)
	return b64.EncodeToString(b)
}

// BindingValue finds the first hushbox-call attribute among SDP media
// attributes written as "name:value" without "a=" (as in sdp.Media.Extra).
// The value is outside input: NewExchange refuses an empty or overlong one
// with ErrBinding.
func BindingValue(attrs []string) (string, bool) {
	for _, a := range attrs {
		if v, ok := strings.CutPrefix(a, BindingAttributeName+":"); ok {
			return v, true
		}
	}
	return "", false
}
