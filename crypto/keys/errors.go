package keys

import "errors"

// Sentinel errors. Callers map them to SIP responses: ErrMalformed and
// ErrBadSignature to 488 Not Acceptable Here, ErrUntrusted to 403 Forbidden.
// Every error returned for outside input wraps exactly one of the first three,
// so errors.Is tells them apart.
var (
	// ErrMalformed: the peer's attribute (or a key in text form) does not
	// parse, has an unsupported version, or carries a key that must not be
	// used (a small-order identity key, a low-order ephemeral key).
	ErrMalformed = errors.New("keys: malformed key share")
	// ErrBadSignature: the share parses but its signature does not verify
	// over the transcript this side expects (wrong binding, wrong role,
	// altered ephemeral or identity key, altered signature).
	ErrBadSignature = errors.New("keys: bad signature on key share")
	// ErrUntrusted: the share is authentic but its identity key is not
	// trusted (not in the key directory).
	ErrUntrusted = errors.New("keys: untrusted identity")

	// ErrSealed: a sealed identity cannot be opened (wrong key, altered or
	// truncated blob, unknown version).
	ErrSealed = errors.New("keys: cannot open sealed identity")
	// ErrDestroyed: the Identity or Exchange was destroyed (or the Exchange
	// already completed) and holds no private key any more.
	ErrDestroyed = errors.New("keys: private key destroyed")
	// ErrBinding: the call binding is empty or longer than MaxBinding.
	ErrBinding = errors.New("keys: invalid call binding")
)
