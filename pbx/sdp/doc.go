// Package sdp parses and rewrites the SDP bodies that pass through the
// hushbox B2BUA.
//
// The B2BUA anchors every call's media in its own RTP relay, so no SDP is ever
// forwarded as-is: the caller's offer is parsed (Parse), a new offer pointing
// at the relay is built for the callee (BuildOffer), and the callee's answer is
// turned into an answer for the caller that also points at the relay
// (BuildAnswer), together with the Plan the relay needs (payload types on
// each leg, whether mu-law/A-law conversion is needed, DTMF payload types).
//
// Only G.711 (PCMU, PCMA) and RFC 4733 telephone-event are supported; the
// only transcoding allowed is between PCMU and PCMA, and only when the two
// legs cannot agree. Only plain RTP profiles (RTP/AVP, RTP/AVPF) are relayed
// for now; SRTP offers are refused with ErrUnsupportedTransport until the
// relay terminates SDES per hop (a=crypto values are kept in Media.Crypto for
// that work, never copied to the other leg: SRTP keys are per hop).
//
// The parser is written for input from the network: it bounds the body size
// and the number of streams, rejects control characters (so nothing it keeps
// can inject lines into the SDP it writes), and never panics (see FuzzParse).
package sdp
