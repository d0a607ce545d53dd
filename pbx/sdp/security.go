package sdp

import (
	"fmt"
	"slices"

	"hushbox/pbx/srtp"
)

// Transport profiles of the audio stream hushbox writes.
const (
	ProfileRTP  = "RTP/AVP"  // plain RTP
	ProfileSRTP = "RTP/SAVP" // SRTP keyed by SDES (a=crypto)
)

// Security is the SRTP side of the SDP hushbox writes on one leg. The two
// legs of a call are independent: one may be SRTP while the other is plain
// RTP, the relay converts (SRTP keys are per hop, never copied across).
//
// The zero Security is plain RTP/AVP without a=crypto, what BuildOffer and
// BuildAnswer write.
type Security struct {
	// Profile is the m= transport of an offer: ProfileRTP ("" means the
	// same) or ProfileSRTP. ProfileRTP with Crypto is "best effort" SRTP
	// (a=crypto on RTP/AVP, as baresip's mediaenc=srtp offers): a phone that
	// does SDES answers with a key, one that does not answers plain RTP.
	// ProfileSRTP makes SRTP mandatory. The AVPF/SAVPF forms are accepted
	// and written as RTP/AVP and RTP/SAVP. Answers ignore Profile: an
	// answer repeats the offer's profile (RFC 3264 section 6).
	Profile string
	// Crypto are hushbox's own keys on this leg (each encrypts what the
	// relay sends to the party), written as a=crypto lines in this order.
	// For an offer: candidates with distinct tags, e.g. srtp.DefaultOffer().
	// For an answer: the one key from AnswerSecurity (srtp.Negotiate).
	Crypto []srtp.Crypto
}

// Secure reports whether s puts SDES keys into the SDP.
func (s Security) Secure() bool { return len(s.Crypto) > 0 }

// String describes s without key material.
func (s Security) String() string {
	p := s.Profile
	if p == "" {
		p = ProfileRTP
	}
	return fmt.Sprintf("%s %v", p, s.Crypto)
}

// Secure reports whether the stream carries usable SDES keys: an RTP/AVP,
// RTP/AVPF, RTP/SAVP or RTP/SAVPF profile with at least one a=crypto line
// hushbox supports (SDES). A B2BUA policy that requires SRTP answers 488
// when an offer is not Secure. DTLS-SRTP (UDP/TLS/RTP/SAVPF) is never
// Secure here: hushbox does not do DTLS.
func (m *Media) Secure() bool {
	return m != nil && (plainRTP(m.Proto) || sdesRTP(m.Proto)) && len(m.SDES) > 0
}

// Mandatory reports whether the stream's profile demands SRTP (RTP/SAVP,
// RTP/SAVPF): such an offer can only be answered with a=crypto.
func (m *Media) Mandatory() bool {
	return m != nil && sdesRTP(m.Proto)
}

// AnswerSecurity decides hushbox's SRTP answer to an offer, for
// BuildAnswerWith (Security.Crypto) and for later re-offers on the same leg
// (Security.Profile is the offer's, normalised).
//
// When the offer's audio is Secure it picks the offered suite with
// srtp.Negotiate and answers with hushbox's own key (reusing a key of
// reuse with that suite, so a re-INVITE keeps the stream; pass the leg's
// previous Security.Crypto). Otherwise it returns plain RTP, unless the
// profile demands SRTP, which fails with ErrUnsupportedTransport (SIP 488),
// as does an offer without audio.
//
// The B2BUA may ignore a best-effort offer (RTP/AVP with a=crypto) and use
// the zero Security instead; it cannot ignore a Mandatory one.
func AnswerSecurity(offer *Session, reuse ...srtp.Crypto) (Security, error) {
	if offer == nil || offer.Audio == nil {
		return Security{}, fmt.Errorf("sdp: security: no audio stream: %w", ErrNoAudio)
	}
	a := offer.Audio
	profile, ok := normalProfile(a.Proto)
	if !ok {
		return Security{}, fmt.Errorf("sdp: security: audio transport %q: %w", short(a.Proto), ErrUnsupportedTransport)
	}
	if _, local, ok := srtp.Negotiate(a.SDES, reuse...); ok {
		return Security{Profile: profile, Crypto: []srtp.Crypto{local}}, nil
	}
	if profile == ProfileSRTP {
		return Security{}, fmt.Errorf("sdp: security: %s without a usable a=crypto: %w", a.Proto, ErrUnsupportedTransport)
	}
	return Security{Profile: profile}, nil
}

// normalProfile maps the profiles hushbox handles to the two it writes.
func normalProfile(p string) (string, bool) {
	switch p {
	case "", "RTP/AVP", "RTP/AVPF":
		return ProfileRTP, true
	case "RTP/SAVP", "RTP/SAVPF":
		return ProfileSRTP, true
	}
	return "", false
}

// sdesRTP reports the SRTP profiles keyed in the SDP (SDES).
func sdesRTP(proto string) bool {
	return proto == "RTP/SAVP" || proto == "RTP/SAVPF"
}

// offerSecurity validates the Security of an offer and returns its
// profile and a=crypto values.
func offerSecurity(sec Security) (string, []string, error) {
	profile, ok := normalProfile(sec.Profile)
	if !ok {
		return "", nil, fmt.Errorf("profile %q: %w", short(sec.Profile), ErrUnsupportedTransport)
	}
	if profile == ProfileSRTP && len(sec.Crypto) == 0 {
		return "", nil, fmt.Errorf("%s offer without a=crypto: %w", profile, ErrUnsupportedTransport)
	}
	values, err := cryptoValues(sec.Crypto)
	if err != nil {
		return "", nil, err
	}
	return profile, values, nil
}

// cryptoValues checks keys and writes their attribute values.
func cryptoValues(cs []srtp.Crypto) ([]string, error) {
	var out []string
	tags := make(map[int]bool, len(cs))
	for _, c := range cs {
		if err := c.Validate(); err != nil {
			return nil, fmt.Errorf("a=crypto tag %d: %w: %w", c.Tag, ErrMalformed, err)
		}
		if tags[c.Tag] {
			return nil, fmt.Errorf("a=crypto tag %d twice: %w", c.Tag, ErrMalformed)
		}
		tags[c.Tag] = true
		out = append(out, c.Value())
	}
	return out, nil
}

// callerKeys matches hushbox's answer key against the caller's offer and
// returns the caller leg's keys: nil for plain RTP.
func callerKeys(oa *Media, sec Security) (*srtp.Keys, error) {
	if len(sec.Crypto) == 0 {
		if oa.Mandatory() {
			return nil, fmt.Errorf("sdp: answer: caller's %s needs an a=crypto answer: %w", oa.Proto, ErrUnsupportedTransport)
		}
		return nil, nil
	}
	if len(sec.Crypto) > 1 {
		return nil, fmt.Errorf("sdp: answer: %d a=crypto answers, want 1: %w", len(sec.Crypto), ErrMalformed)
	}
	local := sec.Crypto[0]
	if err := local.Validate(); err != nil {
		return nil, fmt.Errorf("sdp: answer: a=crypto: %w: %w", ErrMalformed, err)
	}
	i := slices.IndexFunc(oa.SDES, func(c srtp.Crypto) bool { return c.Tag == local.Tag && c.Suite == local.Suite })
	if i < 0 {
		return nil, fmt.Errorf("sdp: answer: caller offered no %s under tag %d: %w", local.Suite, local.Tag, ErrUnsupportedTransport)
	}
	return &srtp.Keys{Remote: oa.SDES[i], Local: local}, nil
}

// calleeKeys matches the callee's answer against the keys hushbox offered
// it (sec) and returns the callee leg's keys: nil for plain RTP.
//
// An answer that accepts one of hushbox's a=crypto lines (same tag and
// suite, RFC 4568 section 7.1.3) makes the leg SRTP. An answer without
// a=crypto is plain RTP, allowed only when hushbox offered RTP/AVP (best
// effort) and the answer is not RTP/SAVP. Anything else (a tag hushbox did
// not offer, a changed suite, keys hushbox cannot read, SRTP where hushbox
// offered none) fails with ErrUnsupportedTransport: the callee expects SRTP
// hushbox cannot give, or the reverse.
func calleeKeys(aa *Media, sec Security) (*srtp.Keys, error) {
	profile, ok := normalProfile(sec.Profile)
	if !ok {
		return nil, fmt.Errorf("sdp: answer: offered profile %q: %w", short(sec.Profile), ErrUnsupportedTransport)
	}
	if len(sec.Crypto) > 0 {
		for _, c := range aa.SDES {
			if ours, ok := srtp.Select(sec.Crypto, c); ok {
				return &srtp.Keys{Remote: c, Local: ours}, nil
			}
		}
		if len(aa.Crypto) > 0 {
			return nil, fmt.Errorf("sdp: answer: callee's a=crypto matches none hushbox offered: %w", ErrUnsupportedTransport)
		}
	}
	if profile == ProfileSRTP || aa.Mandatory() {
		return nil, fmt.Errorf("sdp: answer: callee answered %s without a usable key (offered %s): %w",
			aa.Proto, profile, ErrUnsupportedTransport)
	}
	return nil, nil
}
