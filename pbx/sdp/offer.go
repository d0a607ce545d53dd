package sdp

import (
	"fmt"
	"net/netip"
	"slices"
)

// BuildOffer builds the offer sent to the callee from the caller's offer in:
// the same m= lines in the same order, every one but the audio stream
// rejected (port 0, e.g. video), and the audio stream pointing at the relay
// (addr, port) with plain RTP/AVP.
//
// Codecs: the caller's PCMU, PCMA and 8 kHz telephone-event formats, each
// once, in the caller's order and with the caller's payload types. When the
// caller offers only one G.711 law, the other one is added right after it
// (the relay can convert). The caller's direction is copied (hold and resume
// re-INVITEs pass through), its ptime too (20 ms when absent), and the
// attributes in Media.Extra; a=crypto never is (SRTP keys are per hop).
//
// It returns the body and the audio stream it offered. Errors:
// ErrNoCommonCodec when the caller offers neither PCMU nor PCMA,
// ErrUnsupportedTransport for SRTP or other non-plain RTP profiles, ErrNoAudio
// when there is no audio stream or it is rejected (all three mean SIP 488).
//
// BuildOffer is BuildOfferWith without SRTP on either leg: it refuses a
// caller's RTP/SAVP offer, which only BuildOfferWith and BuildAnswerWith can
// carry (the answer must hold hushbox's key).
func BuildOffer(in *Session, o Origin, addr netip.Addr, port int) ([]byte, *Media, error) {
	if _, err := usableAudio(in, "offer", false); err != nil {
		return nil, nil, err
	}
	return BuildOfferWith(in, o, addr, port, Security{})
}

// BuildOfferWith is BuildOffer with SRTP: the offer to the callee carries
// sec (profile and hushbox's a=crypto lines for the callee's leg), and the
// caller's offer may be SRTP too (RTP/SAVP or RTP/SAVPF with a usable
// a=crypto, see Media.Secure), whatever sec says: the relay terminates SRTP
// on each leg. DTLS-SRTP and SRTP offers without usable SDES keys fail with
// ErrUnsupportedTransport. The caller's a=crypto never reaches the callee.
//
// The returned Media has sec's keys in Crypto and SDES.
func BuildOfferWith(in *Session, o Origin, addr netip.Addr, port int, sec Security) ([]byte, *Media, error) {
	addr, err := checkLocal(addr, port)
	if err != nil {
		return nil, nil, fmt.Errorf("sdp: offer: %w", err)
	}
	a, err := usableAudio(in, "offer", true)
	if err != nil {
		return nil, nil, err
	}
	profile, crypto, err := offerSecurity(sec)
	if err != nil {
		return nil, nil, fmt.Errorf("sdp: offer: %w", err)
	}
	dir, err := direction(a.Direction)
	if err != nil {
		return nil, nil, fmt.Errorf("sdp: offer: %w", err)
	}
	codecs := offerCodecs(a.Codecs)
	if codecs == nil {
		return nil, nil, fmt.Errorf("sdp: offer: caller offers neither PCMU nor PCMA: %w", ErrNoCommonCodec)
	}
	m := &Media{
		Proto:     profile,
		Addr:      addr,
		Port:      port,
		Codecs:    codecs,
		Direction: dir,
		PTime:     ptimeOr20(a.PTime),
		Crypto:    crypto,
		SDES:      slices.Clone(sec.Crypto),
		Extra:     keptExtra(a.Extra),
	}
	body, err := marshal(o, m, in.Streams, in.AudioIndex)
	if err != nil {
		return nil, nil, fmt.Errorf("sdp: offer: %w", err)
	}
	return body, m, nil
}

// offerCodecs selects the formats offered to the callee (see BuildOffer), or
// nil when there is no G.711 law among cs.
func offerCodecs(cs []Codec) []Codec {
	var out []Codec
	var haveU, haveA, haveTE bool
	used := make(map[uint8]bool)
	for _, c := range cs {
		switch {
		case c.isG711() && canonicalName(c.Name) == PCMU && !haveU:
			haveU = true
		case c.isG711() && canonicalName(c.Name) == PCMA && !haveA:
			haveA = true
		case c.isDTMF() && !haveTE:
			haveTE = true
		default:
			continue
		}
		c.Name = canonicalName(c.Name)
		c.Channels = 1
		if !c.isDTMF() {
			c.Fmtp = "" // G.711 has no format parameters
		}
		used[c.PT] = true
		out = append(out, c)
	}
	if !haveU && !haveA {
		return nil
	}
	if haveU != haveA {
		for i, c := range out {
			if !c.isG711() {
				continue
			}
			other := otherLaw(c)
			if used[other.PT] {
				other.PT = freeDynamicPT(used)
			}
			out = append(out[:i+1], append([]Codec{other}, out[i+1:]...)...)
			break
		}
	}
	return out
}

// freeDynamicPT returns the lowest dynamic payload type (96-127) not in used.
// With at most three formats kept, one is always free.
func freeDynamicPT(used map[uint8]bool) uint8 {
	for pt := uint8(96); pt < 127; pt++ {
		if !used[pt] {
			return pt
		}
	}
	return 127
}

// usableAudio returns the audio stream of s if the relay can carry it:
// plain RTP, or with allowSRTP also SDES-keyed SRTP.
func usableAudio(s *Session, what string, allowSRTP bool) (*Media, error) {
	if s == nil || s.Audio == nil {
		return nil, fmt.Errorf("sdp: %s: no audio stream: %w", what, ErrNoAudio)
	}
	a := s.Audio
	if a.Port == 0 {
		return nil, fmt.Errorf("sdp: %s: audio stream rejected (port 0): %w", what, ErrNoAudio)
	}
	if !plainRTP(a.Proto) && !(allowSRTP && sdesRTP(a.Proto) && a.Secure()) {
		return nil, fmt.Errorf("sdp: %s: audio transport %q: %w", what, short(a.Proto), ErrUnsupportedTransport)
	}
	return a, nil
}

// plainRTP reports the profiles the relay carries: RTP without SRTP or DTLS.
// RTP/AVPF is plain RTP with extra feedback the relay passes through.
func plainRTP(proto string) bool {
	return proto == "RTP/AVP" || proto == "RTP/AVPF"
}

// checkLocal validates the relay address and port the SDP will point at.
func checkLocal(addr netip.Addr, port int) (netip.Addr, error) {
	addr = plainAddr(addr)
	if !addr.IsValid() || addr.IsUnspecified() || addr.IsMulticast() {
		return netip.Addr{}, fmt.Errorf("relay address %v is not a unicast address: %w", addr, ErrMalformed)
	}
	if port <= 0 || port > 65535 {
		return netip.Addr{}, fmt.Errorf("relay port %d out of range: %w", port, ErrMalformed)
	}
	return addr, nil
}

// direction validates a direction, "" meaning SendRecv.
func direction(d string) (string, error) {
	if d == "" {
		return SendRecv, nil
	}
	if !isDirection(d) {
		return "", fmt.Errorf("direction %q: %w", short(d), ErrMalformed)
	}
	return d, nil
}

func ptimeOr20(p int) int {
	if p <= 0 || p > 1000 {
		return defaultPTime
	}
	return p
}

// keptExtra filters attributes again through keepAttribute, for Sessions not
// made by Parse.
func keptExtra(xs []string) []string {
	var out []string
	for _, x := range xs {
		name := x
		for i := 0; i < len(x); i++ {
			if x[i] == ':' {
				name = x[:i]
				break
			}
		}
		if keepAttribute(name) {
			out = append(out, x)
		}
	}
	return out
}
