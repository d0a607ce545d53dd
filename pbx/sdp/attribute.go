package sdp

import "strings"

// ExtraPrefix marks hushbox's own end-to-end attributes (such as the signed
// key share of the scrambler): every media attribute whose name starts with
// it is carried to the other leg unchanged.
const ExtraPrefix = "hushbox-"

// keepAttribute decides which media-level attributes (other than those the
// package interprets: rtpmap, fmtp, ptime, rtcp, crypto and the directions)
// end up in Media.Extra and so reach the other leg.
//
// It is an allow-list on purpose. Everything about transport belongs to one
// hop and would be wrong, or leak the other side's addresses, on the other
// leg: ICE (ice-*, candidate), DTLS (fingerprint, setup), rtcp-mux (the relay
// does not multiplex), rtcp-fb and extmap (the relay offers plain RTP/AVP),
// ssrc, mid and BUNDLE. What is kept describes the media end to end:
//   - maxptime: packets go through unchanged, so the sender's limit holds;
//   - zrtp-hash: ZRTP runs end to end through the relay (RFC 6189);
//   - names starting with ExtraPrefix: hushbox's own end-to-end attributes.
func keepAttribute(name string) bool {
	switch name {
	case "maxptime", "zrtp-hash":
		return true
	}
	return strings.HasPrefix(name, ExtraPrefix) && len(name) > len(ExtraPrefix)
}
