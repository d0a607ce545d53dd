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
// legs cannot agree.
//
// SRTP is SDES (RFC 4568) only, terminated per hop by the relay: a=crypto
// lines are parsed into Media.SDES (Media.Secure tells whether an offer has
// a usable key), never copied to the other leg. BuildOfferWith and
// BuildAnswerWith write each leg's own profile (RTP/AVP or RTP/SAVP) and
// hushbox's own keys (Security, AnswerSecurity) and return both legs' keys
// in the Plan. BuildOffer and BuildAnswer are the plain-RTP forms and refuse
// SRTP offers with ErrUnsupportedTransport, as do all of them for DTLS-SRTP
// (UDP/TLS/RTP/SAVPF) and for RTP/SAVP without a usable a=crypto.
//
// The parser is written for input from the network: it bounds the body size
// and the number of streams, rejects control characters (so nothing it keeps
// can inject lines into the SDP it writes), and never panics (see FuzzParse).
package sdp
