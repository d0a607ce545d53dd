package sdp

import "errors"

// Sentinel errors. Every error returned by this package wraps one of them, so
// the B2BUA can map them to SIP responses with errors.Is.
var (
	// ErrMalformed: the body is not valid SDP (answer 400 to an offer in a request,
	// or treat the peer's answer as failed).
	ErrMalformed = errors.New("malformed SDP")
	// ErrTooLarge: the body exceeds MaxSize.
	ErrTooLarge = errors.New("SDP body too large")
	// ErrNoAudio: there is no usable (RTP, port != 0) audio stream (SIP 488).
	ErrNoAudio = errors.New("no usable audio stream")
	// ErrNoCommonCodec: neither PCMU nor PCMA is possible (SIP 488).
	ErrNoCommonCodec = errors.New("no common codec")
	// ErrUnsupportedTransport: the audio stream uses a profile the relay does
	// not handle yet, e.g. RTP/SAVP or UDP/TLS/RTP/SAVPF (SIP 488).
	ErrUnsupportedTransport = errors.New("unsupported media transport")
)
