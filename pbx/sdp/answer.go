package sdp

import (
	"fmt"
	"net/netip"

	"hushbox/pbx/srtp"
)

// Plan is what the relay needs to carry a call's audio between the caller's
// leg and the callee's leg.
type Plan struct {
	CallerCodec Codec // G.711 law and payload type on the caller's leg
	CalleeCodec Codec // G.711 law and payload type on the callee's leg
	// Transcode is true when the legs use different laws (mu-law <-> A-law).
	Transcode bool
	// CallerDTMF and CalleeDTMF are the telephone-event payload types on each
	// leg, both 0 when the two sides do not both support RFC 4733.
	CallerDTMF, CalleeDTMF uint8
	// CallerSRTP and CalleeSRTP are each leg's SRTP keys (the party's and
	// hushbox's), nil where the leg is plain RTP. Only BuildAnswerWith sets
	// them; hand them to media.Leg.SetSRTP.
	CallerSRTP, CalleeSRTP *srtp.Keys
}

// BuildAnswer builds the answer to the caller's offer from the callee's
// answer to the offer BuildOffer made, with the audio stream pointing at the
// relay (addr, port), and returns the relay's Plan.
//
// The m= lines are those of the caller's offer, in order, all but the audio
// stream rejected (RFC 3264 section 6). The codec is the callee's first G.711
// law if the caller offered it, else the caller's own G.711 law (Transcode).
// telephone-event is answered with the caller's payload type when both sides
// have it. The direction is the callee's, limited to what the caller offered
// (a sendonly offer can only get recvonly or inactive). ptime and the kept
// attributes are the callee's.
//
// Errors: ErrNoCommonCodec when the callee rejected audio or chose no G.711
// law, ErrUnsupportedTransport / ErrNoAudio as for BuildOffer.
//
// BuildAnswer is BuildAnswerWith without SRTP on either leg.
func BuildAnswer(offer, answer *Session, o Origin, addr netip.Addr, port int) ([]byte, Plan, error) {
	return BuildAnswerWith(offer, answer, o, addr, port, Security{}, Security{})
}

// BuildAnswerWith is BuildAnswer with SRTP on either leg. caller is
// hushbox's answer on the caller's leg (from AnswerSecurity: one key whose
// tag and suite the caller offered, or none for plain RTP; its Profile is
// ignored, the answer repeats the offer's). callee is what hushbox offered
// the callee (the Security given to BuildOfferWith). The answer carries
// caller's a=crypto; Plan.CallerSRTP and Plan.CalleeSRTP get each leg's
// keys (see calleeKeys for how the callee's answer is matched).
//
// Errors as for BuildAnswer; ErrUnsupportedTransport also when the caller's
// offer demands SRTP and caller has no key, when caller's key was not
// offered, or when the callee's answer and hushbox's offer disagree on SRTP.
func BuildAnswerWith(offer, answer *Session, o Origin, addr netip.Addr, port int, caller, callee Security) ([]byte, Plan, error) {
	addr, err := checkLocal(addr, port)
	if err != nil {
		return nil, Plan{}, fmt.Errorf("sdp: answer: %w", err)
	}
	oa, err := usableAudio(offer, "caller's offer", true)
	if err != nil {
		return nil, Plan{}, err
	}
	callerSRTP, err := callerKeys(oa, caller)
	if err != nil {
		return nil, Plan{}, err
	}
	if answer == nil || answer.Audio == nil || answer.Audio.Port == 0 {
		return nil, Plan{}, fmt.Errorf("sdp: answer: callee rejected audio: %w", ErrNoCommonCodec)
	}
	aa, err := usableAudio(answer, "callee's answer", true)
	if err != nil {
		return nil, Plan{}, err
	}
	calleeSRTP, err := calleeKeys(aa, callee)
	if err != nil {
		return nil, Plan{}, err
	}
	offerDir, err := direction(oa.Direction)
	if err != nil {
		return nil, Plan{}, fmt.Errorf("sdp: caller's offer: %w", err)
	}
	answerDir, err := direction(aa.Direction)
	if err != nil {
		return nil, Plan{}, fmt.Errorf("sdp: callee's answer: %w", err)
	}

	calleeCodec, ok := firstG711(aa.Codecs)
	if !ok {
		return nil, Plan{}, fmt.Errorf("sdp: answer: callee chose neither PCMU nor PCMA: %w", ErrNoCommonCodec)
	}
	callerCodec, ok := Codec{}, false
	for _, c := range oa.Codecs {
		if c.isG711() && sameCodec(c, calleeCodec) {
			callerCodec, ok = c, true
			break
		}
	}
	if !ok {
		callerCodec, ok = firstG711(oa.Codecs)
	}
	if !ok {
		return nil, Plan{}, fmt.Errorf("sdp: answer: caller offered neither PCMU nor PCMA: %w", ErrNoCommonCodec)
	}
	callerCodec = g711(callerCodec)
	calleeCodec = g711(calleeCodec)
	plan := Plan{CallerCodec: callerCodec, CalleeCodec: calleeCodec, Transcode: !sameCodec(callerCodec, calleeCodec),
		CallerSRTP: callerSRTP, CalleeSRTP: calleeSRTP}
	codecs := []Codec{callerCodec}
	if cte, ok := firstDTMF(oa.Codecs); ok {
		if ete, ok := firstDTMF(aa.Codecs); ok {
			plan.CallerDTMF, plan.CalleeDTMF = cte.PT, ete.PT
			te := Codec{PT: cte.PT, Name: TelephoneEvent, Rate: 8000, Channels: 1, Fmtp: ete.Fmtp}
			if te.Fmtp == "" {
				te.Fmtp = cte.Fmtp
			}
			codecs = append(codecs, te)
		}
	}
	m := &Media{
		Proto:     oa.Proto,
		Addr:      addr,
		Port:      port,
		Codecs:    codecs,
		Direction: answerDirection(offerDir, answerDir),
		PTime:     ptimeOr20(aa.PTime),
		Extra:     keptExtra(aa.Extra),
	}
	if callerSRTP != nil {
		m.Crypto = []string{callerSRTP.Local.Value()}
	}
	body, err := marshal(o, m, offer.Streams, offer.AudioIndex)
	if err != nil {
		return nil, Plan{}, fmt.Errorf("sdp: answer: %w", err)
	}
	return body, plan, nil
}

// g711 returns c with its canonical name, no parameters and one channel.
func g711(c Codec) Codec {
	return Codec{PT: c.PT, Name: canonicalName(c.Name), Rate: 8000, Channels: 1}
}

// answerDirection is the callee's answered direction limited to what the
// caller's offer allows: the answer sends only if the offerer receives, and
// receives only if the offerer sends. Both directions are valid.
func answerDirection(offer, callee string) string {
	offerSends, offerRecvs := sides(offer)
	calleeSends, calleeRecvs := sides(callee)
	send := calleeSends && offerRecvs
	recv := calleeRecvs && offerSends
	switch {
	case send && recv:
		return SendRecv
	case send:
		return SendOnly
	case recv:
		return RecvOnly
	}
	return Inactive
}

// sides splits a direction into "sends" and "receives".
func sides(d string) (send, recv bool) {
	switch d {
	case SendOnly:
		return true, false
	case RecvOnly:
		return false, true
	case Inactive:
		return false, false
	}
	return true, true
}
