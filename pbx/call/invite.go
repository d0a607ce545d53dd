package call

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"hushbox/crypto/keys"
	"hushbox/pbx/auth"
	"hushbox/pbx/registrar"
	"hushbox/pbx/scrambler"
	"hushbox/pbx/sdp"
	"hushbox/pbx/sipmsg"
	"hushbox/pbx/srtp"
	"hushbox/pbx/store"
)

// forkEvent is what a fork reports to the INVITE loop.
type forkEvent struct {
	f   *fork
	res *sip.Response // nil when err is set
	err error
}

// HandleInvite is the INVITE handler. Initial INVITEs start a call and the
// handler returns once the caller has a final answer; in-dialog INVITEs
// (re-INVITEs) are relayed to the other party.
func (m *Manager) HandleInvite(req *sip.Request, tx sip.ServerTransaction) {
	if req.To() != nil && sipmsg.Tag(req.To().Params) != "" {
		m.handleReinvite(req, tx)
		return
	}
	respond := func(code int, reason string) {
		if err := tx.Respond(m.cfg.Signer.Response(req, code, reason, nil)); err != nil {
			m.log.Debug("respond failed", "code", code, "err", err)
		}
	}
	if req.From() == nil || req.CallID() == nil || req.CSeq() == nil {
		respond(400, "Bad Request")
		return
	}
	// A peer hushbox proves itself by the signature on its key share, a
	// phone by its password.
	var tin *trunkIn
	var user string
	var did *didCall
	if d, ok := m.providerDID(req); ok {
		// A call from a SIP provider to one of its numbers: the provider
		// is known by its address, the caller by the From it gives.
		did, user = d, req.From().Address.User
	} else if len(req.GetHeaders("Proxy-Authorization")) == 0 && hasKeyShare(req.Body()) && m.trunkShare(req) {
		offer, err := sdp.Parse(req.Body())
		if err != nil {
			respond(400, "Bad Request")
			return
		}
		var code int
		var reason string
		if tin, code, reason = m.acceptTrunk(req, offer); code != 0 {
			respond(code, reason)
			return
		}
		user = req.From().Address.User
	} else {
		var outcome auth.Outcome
		user, outcome = m.cfg.Auth.Check(req, true, "")
		switch outcome {
		case auth.Challenge, auth.Stale:
			if outcome == auth.Challenge && hasKeyShare(req.Body()) && strings.EqualFold(req.Transport(), "TLS") {
				// Most likely a peer box this one no longer pins (or never
				// did): say so, since the caller only sees a challenge.
				m.log.Info("INVITE over TLS with a key share from an identity no trunk pins: challenged like a phone", "src", req.Source())
			}
			res := m.cfg.Auth.ChallengeResponse(req, true, outcome == auth.Stale)
			m.cfg.Signer.Sign(res)
			_ = tx.Respond(res)
			// Stateless: no transaction is kept for a challenge. A retransmitted
			// INVITE simply gets a new challenge.
			if st, ok := tx.(interface{ Terminate() }); ok {
				st.Terminate()
			}
			return
		case auth.Forbidden:
			m.log.Info("invite refused", "src", req.Source())
			respond(403, "Forbidden")
			return
		}
	}

	body := req.Body()
	if len(body) == 0 {
		res := m.cfg.Signer.Response(req, 488, "Not Acceptable Here", nil)
		res.AppendHeader(sip.NewHeader("Warning", `399 hushbox "INVITE without SDP offer is not supported"`))
		_ = tx.Respond(res)
		return
	}
	offer, err := sdp.Parse(body)
	if err != nil {
		m.log.Info("unparseable SDP", "src", req.Source(), "err", err)
		res := m.cfg.Signer.Response(req, 400, "Bad Request", nil)
		res.AppendHeader(sip.NewHeader("Warning", `399 hushbox "bad SDP"`))
		_ = tx.Respond(res)
		return
	}
	secA, err := callerSecurity(req, offer)
	if err != nil {
		res := m.cfg.Signer.Response(req, 488, "Not Acceptable Here", nil)
		res.AppendHeader(sip.NewHeader("Warning", `305 hushbox "unsupported media security"`))
		_ = tx.Respond(res)
		return
	}

	// Dial plan: a local extension, else a trunk by prefix.
	target := req.Recipient.User
	if did != nil {
		target = did.ext
	}
	rt, err := m.findRoute(target, tin == nil && did == nil)
	if err != nil {
		if !errors.Is(err, errNoRoute) {
			m.log.Error("dial plan", "err", err)
			respond(500, "Server Internal Error")
			return
		}
		respond(404, "Not Found")
		return
	}
	callee := rt.ext
	var bindings []registrar.Binding
	var tout *trunkOut
	offerToB := offer
	var creds *sipgo.DigestAuth
	switch {
	case rt.trunk != nil && rt.trunk.Kind == store.TrunkSIP:
		callee = store.Extension{Number: rt.number, Name: rt.trunk.Name}
		bindings = []registrar.Binding{trunkBinding(rt.trunk, rt.number)}
		if rt.trunk.Username != "" && m.cfg.TrunkPassword != nil {
			pw, err := m.cfg.TrunkPassword(*rt.trunk)
			if err != nil {
				m.log.Error("trunk password", "trunk", rt.trunk.Name, "err", err)
				respond(503, "Service Unavailable")
				return
			}
			creds = &sipgo.DigestAuth{Username: rt.trunk.Username, Password: pw}
		}
	case rt.trunk != nil:
		var binding string
		if tout, binding, err = m.newTrunkOut(rt.trunk); err != nil {
			m.log.Error("trunk key offer", "trunk", rt.trunk.Name, "err", err)
			respond(503, "Service Unavailable")
			return
		}
		callee = store.Extension{Number: rt.number, Name: rt.trunk.Name}
		bindings = []registrar.Binding{trunkBinding(rt.trunk, rt.number)}
		offerToB = withExtra(offer, keys.BindingAttributeName+":"+binding, keys.AttributeName+":"+tout.ex.Attribute())
	default:
		bindings = m.cfg.Loc.Lookup(target)
		if len(bindings) == 0 {
			respond(480, "Temporarily Unavailable")
			return
		}
		if tin != nil {
			offerToB = withExtra(offer)
		}
	}
	caller, _ := m.cfg.Dir.Extension(user)
	if caller.RequireSRTP && (!secA.Secure() || !strings.EqualFold(req.Transport(), "TLS")) {
		// Required means keys exchanged over TLS: SDES over plain SIP
		// hands them to anyone on the path.
		res := m.cfg.Signer.Response(req, 488, "Not Acceptable Here", nil)
		res.AppendHeader(sip.NewHeader("Warning", `305 hushbox "this extension must use SRTP over TLS"`))
		_ = tx.Respond(res)
		return
	}
	// SRTP towards the callee: offered on TLS legs only (elsewhere the key
	// would cross the network in clear), required when the callee says so.
	if rt.trunk == nil && callee.RequireSRTP {
		var tlsOnly []registrar.Binding
		for _, b := range bindings {
			if strings.EqualFold(b.Transport, "TLS") {
				tlsOnly = append(tlsOnly, b)
			}
		}
		if len(tlsOnly) == 0 {
			respond(480, "Temporarily Unavailable")
			return
		}
		bindings = tlsOnly
	}
	if tin != nil {
		caller = store.Extension{Number: user, Name: tin.trunk.Name}
	}
	if did != nil {
		caller = store.Extension{Number: user, Name: did.trunk}
	}

	sess, err := m.cfg.Relay.NewSession()
	if err != nil {
		m.log.Warn("no media ports", "err", err)
		respond(503, "Service Unavailable")
		return
	}
	originB := sdp.NewOrigin(m.cfg.MediaIP)
	// One offer for plain legs, one (with our keys) for TLS legs.
	secTLS := sdp.Security{Profile: sdp.ProfileRTP, Crypto: srtp.DefaultOffer()}
	if callee.RequireSRTP {
		secTLS.Profile = sdp.ProfileSRTP
	}
	// BuildOfferWith, not BuildOffer: the caller's own offer may be SRTP
	// (RTP/SAVP, secA above); the plain legs still get RTP/AVP.
	offerB, _, err := sdp.BuildOfferWith(offerToB, originB, m.cfg.MediaIP, sess.B().Port(), sdp.Security{})
	var offerTLS []byte
	if err == nil {
		offerTLS, _, err = sdp.BuildOfferWith(offerToB, originB, m.cfg.MediaIP, sess.B().Port(), secTLS)
	}
	if err != nil {
		sess.Close()
		if errors.Is(err, sdp.ErrNoCommonCodec) {
			res := m.cfg.Signer.Response(req, 488, "Not Acceptable Here", nil)
			res.AppendHeader(sip.NewHeader("Warning", `305 hushbox "no common codec: PCMU or PCMA needed"`))
			_ = tx.Respond(res)
			return
		}
		m.log.Info("no offer for the callee", "call_id", req.CallID().Value(), "err", err)
		respond(488, "Not Acceptable Here")
		return
	}

	now := time.Now().UTC()
	c := &Call{
		m:       m,
		media:   sess,
		offerA:  offer,
		originA: sdp.NewOrigin(m.mediaIPFor(req.Source())),
		originB: originB,
		ackWait: map[*leg]chan struct{}{},
		hungup:  make(chan struct{}),
		ringEnd: make(chan string, 1),
		in:      tin,
		out:     tout,
		secA:    secA,
		cdr: store.CDR{CallID: req.CallID().Value(), From: user, FromName: caller.Name, To: target,
			Start: now, Disposition: "FAILED"},
	}
	from := req.From()
	c.a = &leg{
		callID:     req.CallID().Value(),
		localTag:   sip.GenerateTagN(16),
		remoteTag:  sipmsg.Tag(from.Params),
		localURI:   *req.To().Address.Clone(),
		localName:  callee.Name,
		remoteURI:  *from.Address.Clone(),
		remoteName: from.DisplayName,
		dest:       req.Source(),
		transport:  req.Transport(),
		remoteCSeq: req.CSeq().SeqNo,
	}
	if ct := req.Contact(); ct != nil {
		c.a.remoteTarget = *ct.Address.Clone()
	} else {
		c.a.remoteTarget = *from.Address.Clone()
	}
	for _, h := range req.GetHeaders("Record-Route") {
		if rr, ok := h.(*sip.RecordRouteHeader); ok {
			c.a.routes = append(c.a.routes, *rr.Address.Clone())
		}
	}
	if secA.Secure() {
		// Our answer will key leg A; until it is applied nothing may leave
		// the leg in the clear (a callee's early packet, say).
		if err := sess.A().RequireSRTP(); err != nil {
			m.log.Error("SRTP on caller leg", "call_id", c.cdr.CallID, "err", err)
			sess.Close()
			respond(500, "Server Internal Error")
			return
		}
	}
	if o, ok := tx.(CloudLegOpener); ok {
		// A new call the cloud peer forwarded (the board is handed off):
		// the caller's leg starts on the cloud (handoff_fwd.go).
		if err := m.openCloudLeg(c, o, mediaAddr(offer.Audio)); err != nil {
			m.log.Warn("no cloud relay for a forwarded call", "call_id", c.cdr.CallID, "err", err)
			sess.Close()
			respond(503, "Service Unavailable")
			return
		}
	}
	if !m.track(c) {
		sess.Close()
		respond(503, "Service Unavailable")
		return
	}
	m.addDialog(c, c.a)
	if offer.Audio != nil {
		c.mu.Lock() // the replication's DialogStates reads remoteA under c.mu
		setRemote(sess.A(), offer.Audio, &c.remoteA)
		c.mu.Unlock()
	}
	if ho := c.a.ho; ho != nil {
		sess.A().LatchTo(ho.target.Relay) // the party's media comes through the cloud relay
	}

	// sipgo answers a CANCELled INVITE with 487 on its own, built from the
	// request: give the request our To tag so that 487 carries the same tag
	// as our 180 and 200 (RFC 3261 8.2.6.2). Set before our first response,
	// so the transaction layer's lock orders it before any CANCEL.
	req.To().Params.Add("tag", c.a.localTag)
	cancelled := make(chan struct{})
	tx.OnCancel(func(r *sip.Request) { close(cancelled) })
	_ = tx.Respond(m.cfg.Signer.Response(req, 100, "Trying", nil))

	m.log.Info("call", "call_id", c.cdr.CallID, "from", user, "to", target, "contacts", len(bindings))
	events := make(chan forkEvent, 16*len(bindings))
	for _, b := range bindings {
		body, sec := offerB, sdp.Security{}
		if strings.EqualFold(b.Transport, "TLS") {
			body, sec = offerTLS, secTLS
		}
		f := newFork(c, b, caller, callee, body)
		f.sec = sec
		if rt.trunk != nil && rt.trunk.Kind == store.TrunkSIP {
			f.asTrunkAccount(rt.trunk, creds)
		}
		c.forks = append(c.forks, f)
		go f.run(events)
	}
	m.ringLoop(c, req, tx, events, cancelled)
}

// ringLoop waits for the forks' answers and gives the caller its final
// response. It returns when the caller has one.
func (m *Manager) ringLoop(c *Call, req *sip.Request, tx sip.ServerTransaction, events chan forkEvent, cancelled chan struct{}) {
	ring := time.NewTimer(m.cfg.RingTimeout)
	defer ring.Stop()
	sentRinging := false
	var early *fork // the fork whose early media the caller hears
	best := 0
	pending := len(c.forks)
	fail := func(code int, reason, disposition, hangup string) {
		c.cancelForks(nil)
		if code != 0 {
			_ = tx.Respond(c.responseA(req, code, reason, nil))
		}
		c.mu.Lock()
		c.ended, c.state = true, Ended
		c.cdr.End = time.Now().UTC()
		c.cdr.Disposition, c.cdr.SIPCode, c.cdr.Hangup = disposition, code, hangup
		c.mu.Unlock()
		c.finish()
	}
	for {
		select {
		case ev := <-events:
			if ev.err != nil || ev.res == nil {
				pending--
				if best == 0 {
					best = 408
				}
			} else if ev.res.IsProvisional() {
				if ev.res.StatusCode == 183 && len(ev.res.Body()) > 0 && early == nil && c.in == nil && c.out == nil {
					// Early media (ringback, announcements): answer the
					// caller's offer now from this fork's SDP and relay it.
					if res := m.earlyMedia(c, req, ev); res != nil {
						early = ev.f
						sentRinging = true
						_ = tx.Respond(res)
						continue
					}
				}
				if ev.res.StatusCode >= 180 && !sentRinging {
					sentRinging = true
					_ = tx.Respond(c.responseA(req, 180, "Ringing", nil))
				}
				continue
			} else if ev.res.IsSuccess() {
				if m.answer(c, req, tx, ev) {
					return
				}
				pending--
				best = 500
			} else {
				pending--
				best = betterFailure(best, ev.res.StatusCode)
			}
			if pending == 0 {
				code, reason, disp := mapFailure(best)
				fail(code, reason, disp, store.HangupCallee)
				return
			}
		case <-cancelled:
			fail(0, "", store.DispCancelled, store.HangupCaller)
			return
		case <-ring.C:
			fail(480, "Temporarily Unavailable", store.DispNoAnswer, store.HangupTimeout)
			return
		case reason := <-c.ringEnd:
			fail(503, "Service Unavailable", "FAILED", reason)
			return
		}
	}
}

// betterFailure keeps the most telling final answer among forks: a
// 6xx wins, then busy, then any other 4xx/5xx over timeouts.
func betterFailure(cur, code int) int {
	rank := func(c int) int {
		switch {
		case c >= 600:
			return 4
		case c == 486:
			return 3
		case c == 408 || c == 480 || c == 0:
			return 1
		}
		return 2
	}
	if rank(code) > rank(cur) {
		return code
	}
	return cur
}

// mapFailure turns the callee side's best failure into the caller's answer
// and the CDR disposition. Timeouts and no-answers become 480.
func mapFailure(code int) (int, string, string) {
	switch {
	case code == 486 || code == 600:
		return 486, "Busy Here", "BUSY"
	case code == 408 || code == 480 || code == 487 || code == 0:
		return 480, "Temporarily Unavailable", "NO ANSWER"
	case code == 603:
		return 603, "Decline", "BUSY"
	case code == 488 || code == 606:
		return 488, "Not Acceptable Here", "FAILED"
	case code == 404:
		return 404, "Not Found", "FAILED"
	}
	return 480, "Temporarily Unavailable", "FAILED"
}

// earlyMedia builds the 183 Session Progress for the caller from a fork's
// 183 with SDP, and points the relay at that fork's media. It returns nil
// when the fork's SDP is unusable (the caller then just hears ringing).
func (m *Manager) earlyMedia(c *Call, req *sip.Request, ev forkEvent) *sip.Response {
	ans, err := sdp.Parse(ev.res.Body())
	if err != nil {
		return nil
	}
	ip, port := m.legMedia(c.a, c.media.A().Port()) // the cloud relay's for a forwarded call
	body, plan, err := sdp.BuildAnswerWith(c.offerA, ans, c.originA, ip, port, c.secA, ev.f.sec)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	c.applyMedia(c.a, c.offerA.Audio, ans.Audio, plan)
	c.mu.Unlock()
	c.a.setLastSDP(body)
	res := c.responseA(req, 183, "Session Progress", body)
	res.AppendHeader(m.legContact(c.a))
	res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	return res
}

// responseA builds a response to the caller's INVITE carrying our To tag.
func (c *Call) responseA(req *sip.Request, code int, reason string, body []byte) *sip.Response {
	res := c.m.cfg.Signer.Response(req, code, reason, body)
	if to := res.To(); to != nil && code > 100 {
		to.Params.Add("tag", c.a.localTag)
	}
	return res
}

// answer completes the call with the fork that sent 2xx. It returns false
// when the answer is unusable (the fork is then hung up).
func (m *Manager) answer(c *Call, req *sip.Request, tx sip.ServerTransaction, ev forkEvent) bool {
	f := ev.f
	ans, err := sdp.Parse(ev.res.Body())
	var body []byte
	var plan sdp.Plan
	var hook *scrambler.Hook
	var sas string
	if err == nil {
		ansToA := ans
		hook, sas, ansToA, err = c.secureAnswer(ans)
		if err == nil {
			ip, port := m.legMedia(c.a, c.media.A().Port()) // the cloud relay's for a forwarded call
			body, plan, err = sdp.BuildAnswerWith(c.offerA, ansToA, c.originA, ip, port, c.secA, f.sec)
		}
	}
	if err != nil {
		m.log.Info("callee's answer unusable", "call_id", c.cdr.CallID, "err", err)
		f.ack()
		go m.sendBye(f.leg)
		return false
	}
	c.mu.Lock()
	c.winner = f
	c.b = f.leg
	c.secB = f.sec
	c.applyMedia(c.a, c.offerA.Audio, ans.Audio, plan)
	if hook != nil {
		c.media.SetHook(hook)
		c.scr, c.sas = hook, sas
	}
	c.state = Answered
	c.cdr.Answer = time.Now().UTC()
	c.cdr.Disposition, c.cdr.SIPCode = "ANSWERED", 200
	codec := c.cdr.Codec // a re-INVITE may change it once the 200 is out
	c.mu.Unlock()
	m.addDialog(c, f.leg)
	f.ack()
	c.cancelForks(f)
	// The media watchdog starts with the answer: ringing is not silence.
	c.media.Arm()
	c.media.OnTimeout(func() {
		m.log.Info("media timeout", "call_id", c.cdr.CallID)
		c.hangup(nil, store.HangupMediaTimeout)
	})

	res := c.responseA(req, 200, "OK", body)
	res.AppendHeader(m.legContact(c.a))
	res.AppendHeader(sip.NewHeader("Allow", sipmsg.Allow))
	res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	c.a.setLastSDP(body)
	ack := c.expectAck(c.a)
	if err := tx.Respond(res); err != nil {
		m.log.Info("200 to caller failed", "call_id", c.cdr.CallID, "err", err)
	}
	m.log.Info("answered", "call_id", c.cdr.CallID, "codec", codec, "contact", f.binding.Contact.String())
	if sas != "" {
		m.log.Info("scrambled trunk call: compare the SAS with the other end", "call_id", c.cdr.CallID, "sas", sas, "trunk", c.trunkName())
	}
	go m.retransmit2xx(c, c.a, res, ack)
	return true
}

// expectAck registers interest in the ACK for a 2xx we are about to send.
func (c *Call) expectAck(l *leg) chan struct{} {
	ch := make(chan struct{})
	c.mu.Lock()
	c.ackWait[l] = ch
	c.mu.Unlock()
	return ch
}

// retransmit2xx resends a 2xx over unreliable transports until its ACK
// arrives (RFC 3261 13.3.1.4); with no ACK after 64*T1 the call is ended.
func (m *Manager) retransmit2xx(c *Call, l *leg, res *sip.Response, ack chan struct{}) {
	reliable := sip.IsReliable(sip.NetworkToLower(l.transport))
	interval := sip.T1
	deadline := time.NewTimer(64 * sip.T1)
	defer deadline.Stop()
	for {
		var tick <-chan time.Time
		var t *time.Timer
		if !reliable {
			t = time.NewTimer(interval)
			tick = t.C
		}
		select {
		case <-ack:
			if t != nil {
				t.Stop()
			}
			return
		case <-c.hungup:
			if t != nil {
				t.Stop()
			}
			return
		case <-deadline.C:
			if t != nil {
				t.Stop()
			}
			m.log.Info("no ACK for 2xx; ending call", "call_id", l.callID)
			c.hangup(nil, store.HangupNoAck)
			return
		case <-tick:
			if resend := l.resender(); resend != nil {
				resend(res) // a forwarded call's 2xx goes back through the cloud
			} else {
				_ = m.cfg.Client.TransportLayer().WriteMsg(res)
			}
			interval *= 2
			if interval > sip.T2 {
				interval = sip.T2
			}
		}
	}
}

// cancelForks cancels every ringing fork except keep.
func (c *Call) cancelForks(keep *fork) {
	for _, f := range c.forks {
		if f != keep {
			go f.cancel()
		}
	}
}

// HandleAck takes ACKs for our 2xx answers. ACKs for non-2xx answers are
// absorbed by the transaction layer and never get here.
func (m *Manager) HandleAck(req *sip.Request, tx sip.ServerTransaction) {
	ref, ok := m.lookup(req)
	if !ok {
		return
	}
	c := ref.call
	c.mu.Lock()
	ch := c.ackWait[ref.leg]
	delete(c.ackWait, ref.leg)
	c.mu.Unlock()
	if ch != nil {
		close(ch)
	}
}

// mediaAddr is where a party's SDP says its audio is.
func mediaAddr(m *sdp.Media) netip.AddrPort {
	if m == nil || !m.Addr.IsValid() {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(m.Addr, uint16(m.Port))
}

var _ = registrar.Binding{}
var _ = context.Background

// callerSecurity decides the caller leg's media security from its offer:
// SDES keys are honoured when the offer makes SRTP mandatory or the
// signalling runs over TLS (over plain SIP a best-effort key is as good as
// public, so that leg stays RTP). Offers that cannot be served are errors.
func callerSecurity(req *sip.Request, offer *sdp.Session) (sdp.Security, error) {
	sec, err := sdp.AnswerSecurity(offer)
	if err != nil {
		return sdp.Security{}, err
	}
	if offer.Audio != nil && !offer.Audio.Mandatory() && !strings.EqualFold(req.Transport(), "TLS") {
		sec = sdp.Security{Profile: sec.Profile}
	}
	return sec, nil
}
