// Package endpoint is hushbox's phone: a SIP user agent with media, used
// standalone by `hushbox phone` (a softphone on a laptop) and inside the
// daemon as the board's extension 100.
//
// An Endpoint registers to a PBX with digest authentication (refreshed at
// half the granted lifetime), places and answers one call at a time, and
// carries its audio as G.711 RTP in 20 ms frames: one sender goroutine
// paced by the capture device (audio.Device), one receiver feeding a
// jitter buffer (jitter.go: it grows after late packets but never cuts
// audio to shrink), one playout goroutine whose clock is anchored to the
// first packet's arrival, concealing losses with audio/plc. RFC 4733 DTMF goes both ways. States and events reach UIs on
// Events (the command line, the board's LEDs, the web page); Latency
// reports the delay the endpoint adds.
//
// # End-to-end scrambling
//
// When the endpoint has an identity (crypto/keys), every offer carries a
// signed ephemeral key share (a=hushbox-key) and a fresh call binding
// (a=hushbox-call); the PBX's B2BUA carries both to the other leg
// unchanged. When the other side's SDP carries a valid share, both ends
// derive per-direction scrambler keys and a short authentication string
// (SAS): audio is scrambled (crypto/scramble) on the 8 kHz frames before
// G.711 on send and descrambled after decoding on receive, so the PBX and
// its relay only ever see scrambled audio. Otherwise the call is in clear
// and the endpoint says so (EventClear): a peer that is not a hushbox
// endpoint (any SIP phone) cannot scramble.
//
// An offerer that receives an answer with a share that does not verify
// hangs up (the answerer is already scrambling with keys the offerer cannot
// have); an answerer that receives a bad share answers in clear. Trust is
// TrustAny unless Config.Trust says otherwise: the users compare the SAS.
//
// Nothing the network sends makes the endpoint panic: SDP is parsed by
// pbx/sdp, key shares by crypto/keys, RTP by pion/rtp, and every size is
// checked before use (FuzzNegotiate, FuzzDTMFPayload, TestHostileRTP).
// RTP is accepted from the negotiated address's IP only, and from the first
// SSRC heard there (another one only after that one was silent for 2 s):
// someone who can send from that IP before the peer's first packet, or
// keep sending, can disturb (never read) the audio.
//
// Limits: one call at a time (a second INVITE gets 486); UDP only (no
// TLS/SRTP of its own: SRTP protects hops between PBXs and phones, the
// scrambler protects this end to end); a re-INVITE is answered with the
// current media unchanged (hold is not followed).
package endpoint
