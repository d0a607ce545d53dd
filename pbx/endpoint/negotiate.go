package endpoint

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"hushbox/crypto/keys"
	"hushbox/pbx/sdp"
)

// dtmfPT is the payload type the endpoint offers for telephone-event.
const dtmfPT = 101

// localCodecs are the formats the endpoint offers and answers with, in order
// of preference: G.711 mu-law, A-law, and RFC 4733 events.
func localCodecs() []sdp.Codec {
	return []sdp.Codec{
		{PT: 0, Name: sdp.PCMU, Rate: 8000, Channels: 1},
		{PT: 8, Name: sdp.PCMA, Rate: 8000, Channels: 1},
		{PT: dtmfPT, Name: sdp.TelephoneEvent, Rate: 8000, Channels: 1, Fmtp: "0-16"},
	}
}

// mediaPlan is what the RTP stream of a call needs from the negotiation.
type mediaPlan struct {
	Remote netip.AddrPort // where to send RTP; invalid = do not send
	PT     uint8          // G.711 payload type
	Alaw   bool           // PT carries A-law (else mu-law)
	DTMFPT uint8          // telephone-event payload type, 0 when not negotiated
	Send   bool           // the peer wants our audio (not on hold)
}

// errKeyAgreement: the peer's share was there but did not verify.
var errKeyAgreement = errors.New("endpoint: key agreement failed")

// localSession is our side of the media description.
func localSession(addr netip.Addr, port int, extra []string) *sdp.Session {
	return &sdp.Session{
		Addr: addr,
		Audio: &sdp.Media{Proto: "RTP/AVP", Addr: addr, Port: port, Codecs: localCodecs(),
			Direction: sdp.SendRecv, PTime: 20, Extra: extra},
		Streams: []sdp.Stream{{Kind: "audio", Port: port, Proto: "RTP/AVP", Formats: []string{"0", "8", "101"}}},
	}
}

// offerState is the caller's side of the negotiation of one call.
type offerState struct {
	origin  sdp.Origin
	ex      *keys.Exchange // nil without an identity
	binding string
	body    []byte
}

// newOffer builds the SDP offer of an outgoing call: our codecs and, with an
// identity, a fresh call binding and our signed key share.
func newOffer(id *keys.Identity, addr netip.Addr, port int) (*offerState, error) {
	o := &offerState{origin: sdp.NewOrigin(addr)}
	var extra []string
	if id != nil {
		o.binding = keys.NewBinding()
		ex, err := keys.NewExchange(id, keys.Offer, o.binding)
		if err != nil {
			return nil, fmt.Errorf("endpoint: key share: %w", err)
		}
		o.ex = ex
		extra = []string{keys.BindingAttributeName + ":" + o.binding, keys.AttributeName + ":" + ex.Attribute()}
	}
	body, _, err := sdp.BuildOffer(localSession(addr, port, extra), o.origin, addr, port)
	if err != nil {
		o.destroy()
		return nil, fmt.Errorf("endpoint: offer: %w", err)
	}
	o.body = body
	return o, nil
}

func (o *offerState) destroy() {
	if o.ex != nil {
		o.ex.Destroy()
	}
}

// complete reads the answer: the media plan and, when the answer carries a
// key share that verifies, the call keys. An answer without a share means a
// clear call (nil keys); a share that does not verify is errKeyAgreement.
func (o *offerState) complete(body []byte, trust func(keys.PublicKey) bool) (mediaPlan, *keys.CallKeys, error) {
	ans, err := sdp.Parse(body)
	if err != nil {
		return mediaPlan{}, nil, fmt.Errorf("endpoint: answer SDP: %w", err)
	}
	plan, err := planFrom(ans.Audio, ans.Audio)
	if err != nil {
		return mediaPlan{}, nil, err
	}
	if o.ex == nil {
		return plan, nil, nil
	}
	attr, ok := keys.AttributeValue(ans.Audio.Extra)
	if !ok {
		return plan, nil, nil
	}
	ck, err := o.ex.Complete(attr, trust)
	if err != nil {
		return plan, nil, fmt.Errorf("%w: %w", errKeyAgreement, err)
	}
	return plan, ck, nil
}

// planFrom makes the media plan from the remote media description m (the
// address) and the chosen formats in codecs (the answer's).
func planFrom(m, codecs *sdp.Media) (mediaPlan, error) {
	if m == nil || codecs == nil || m.Port == 0 {
		return mediaPlan{}, fmt.Errorf("endpoint: no audio stream: %w", sdp.ErrNoAudio)
	}
	var p mediaPlan
	found := false
	for _, c := range codecs.Codecs {
		if c.Rate != 8000 {
			continue
		}
		switch {
		case !found && strings.EqualFold(c.Name, sdp.PCMU):
			p.PT, p.Alaw, found = c.PT, false, true
		case !found && strings.EqualFold(c.Name, sdp.PCMA):
			p.PT, p.Alaw, found = c.PT, true, true
		case p.DTMFPT == 0 && strings.EqualFold(c.Name, sdp.TelephoneEvent) && c.PT >= 96 && c.PT <= 127:
			p.DTMFPT = c.PT
		}
	}
	if !found {
		return mediaPlan{}, fmt.Errorf("endpoint: no G.711 codec: %w", sdp.ErrNoCommonCodec)
	}
	if m.Port > 0 && m.Port < 65536 && m.Addr.IsValid() && !m.Addr.IsUnspecified() {
		p.Remote = netip.AddrPortFrom(m.Addr.Unmap(), uint16(m.Port))
	}
	p.Send = p.Remote.IsValid() && (m.Direction == "" || m.Direction == sdp.SendRecv || m.Direction == sdp.RecvOnly)
	return p, nil
}

// answerResult is the callee's side of the negotiation of one call.
type answerResult struct {
	body []byte
	plan mediaPlan
	keys *keys.CallKeys // nil: clear call
	// keyErr says why an offered share was not used (nil when none was
	// offered or it verified).
	keyErr error
}

// answerOffer answers an offer: the offer's G.711 law we prefer, its
// telephone-event, and with an identity and a valid share in the offer,
// our key share and the call keys. A share that does not verify leaves the
// call in clear (keyErr says why); the answer then carries no share.
func answerOffer(body []byte, id *keys.Identity, trust func(keys.PublicKey) bool, origin sdp.Origin, addr netip.Addr, port int) (*answerResult, error) {
	off, err := sdp.Parse(body)
	if err != nil {
		return nil, fmt.Errorf("endpoint: offer SDP: %w", err)
	}
	if off.Audio == nil {
		return nil, fmt.Errorf("endpoint: offer: %w", sdp.ErrNoAudio)
	}
	r := &answerResult{}
	var extra []string
	if id != nil {
		attr, ok1 := keys.AttributeValue(off.Audio.Extra)
		binding, ok2 := keys.BindingValue(off.Audio.Extra)
		if ok1 && ok2 {
			ex, err := keys.NewExchange(id, keys.Answer, binding)
			if err == nil {
				r.keys, err = ex.Complete(attr, trust)
				if err == nil {
					extra = []string{keys.AttributeName + ":" + ex.Attribute()}
				}
				ex.Destroy()
			}
			if err != nil {
				r.keys, r.keyErr = nil, err
			}
		}
	}
	ans, plan, err := sdp.BuildAnswer(off, localSession(addr, port, extra), origin, addr, port)
	if err != nil {
		if r.keys != nil {
			r.keys.Wipe()
		}
		return nil, fmt.Errorf("endpoint: answer: %w", err)
	}
	r.body = ans
	r.plan, err = planFrom(off.Audio, &sdp.Media{Codecs: []sdp.Codec{plan.CallerCodec}})
	if err != nil {
		if r.keys != nil {
			r.keys.Wipe()
		}
		return nil, err
	}
	r.plan.DTMFPT = plan.CallerDTMF
	return r, nil
}
