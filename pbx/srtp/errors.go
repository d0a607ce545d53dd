package srtp

import "errors"

// Sentinel errors; every error of this package wraps one of them.
var (
	// ErrMalformed: an a=crypto value that does not follow RFC 4568.
	ErrMalformed = errors.New("srtp: malformed crypto attribute")
	// ErrUnsupported: a well-formed a=crypto value hushbox cannot honour
	// (unknown suite, several keys, MKI longer than 4 octets, KDR,
	// unencrypted or unauthenticated SRTP, unknown session parameter).
	ErrUnsupported = errors.New("srtp: unsupported crypto attribute")
	// ErrAuth: a packet failed authentication (forged, damaged, or under
	// another key). The relay drops it.
	ErrAuth = errors.New("srtp: authentication failed")
	// ErrReplay: a packet index already seen, or too old for the replay
	// window. On decryption the packet is a replay; on encryption hushbox
	// refuses to reuse a keystream (as libsrtp does).
	ErrReplay = errors.New("srtp: replayed packet")
	// ErrTooManySSRCs: an outbound context already carries MaxSSRCs
	// streams; a packet of one more is refused (bounds memory against an
	// SSRC spray from the other leg).
	ErrTooManySSRCs = errors.New("srtp: too many SSRCs")
	// ErrPacket: the packet is not RTP/RTCP or too short for the suite.
	ErrPacket = errors.New("srtp: invalid packet")
	// ErrDirection: Decrypt on an encrypting Context or the reverse.
	ErrDirection = errors.New("srtp: wrong context direction")
)
