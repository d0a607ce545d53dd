package call

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"hushbox/pbx/sdp"
)

// handleReinvite relays an in-dialog INVITE (hold, resume, codec or address
// change) from one party to the other: the offer is rewritten to the relay's
// port on the other leg, and the other party's answer is rewritten back.
// The relay keeps its ports; only where it sends and what it converts change.
func (m *Manager) handleReinvite(req *sip.Request, tx sip.ServerTransaction) {
	respond := func(code int, reason string) {
		_ = tx.Respond(m.cfg.Signer.Response(req, code, reason, nil))
	}
	ref, ok := m.lookup(req)
	if !ok {
		respond(481, "Call/Transaction Does Not Exist")
		return
	}
	c, x := ref.call, ref.leg
	if !x.acceptCSeq(req) {
		respond(500, "Server Internal Error")
		return
	}
	c.mu.Lock()
	y := c.b
	if x == c.b {
		y = c.a
	}
	busy := c.reinvite || c.state != Answered || y == nil
	if !busy {
		c.reinvite = true
	}
	c.mu.Unlock()
	if busy {
		// RFC 3261 14.2: one offer/answer at a time.
		res := m.cfg.Signer.Response(req, 491, "Request Pending", nil)
		_ = tx.Respond(res)
		return
	}
	// The offer/answer ends with our final response: release the call
	// before sending it, so a re-INVITE the party sends right after our
	// answer (hold, then resume at once) is not refused with 491.
	defer c.endReinvite()
	respond = func(code int, reason string) {
		c.endReinvite()
		_ = tx.Respond(m.cfg.Signer.Response(req, code, reason, nil))
	}
	x.refreshTarget(req)

	if len(req.Body()) == 0 {
		// A session refresh without an offer: our last SDP is the offer,
		// the party's ACK carries its answer (which changes nothing here).
		m.answerReinvite(c, x, req, tx, x.getLastSDP())
		return
	}
	offerX, err := sdp.Parse(req.Body())
	if err != nil {
		respond(488, "Not Acceptable Here")
		return
	}
	c.mu.Lock()
	secX, secY := &c.secA, &c.secB
	if x == c.b {
		secX, secY = secY, secX
	}
	reuse := secX.Crypto
	c.mu.Unlock()
	ansSec, err := sdp.AnswerSecurity(offerX, reuse...)
	if err != nil {
		respond(488, "Not Acceptable Here")
		return
	}
	if !offerX.Audio.Mandatory() && !strings.EqualFold(req.Transport(), "TLS") {
		ansSec = sdp.Security{Profile: ansSec.Profile}
	}
	c.mu.Lock()
	portX, portY := c.media.A().Port(), c.media.B().Port()
	originY := &c.originB
	originX := &c.originA
	if x == c.b {
		portX, portY = portY, portX
		originX, originY = originY, originX
	}
	originY.Next()
	oy := *originY
	c.mu.Unlock()
	c.mu.Lock()
	sy := *secY
	c.mu.Unlock()
	ipY, portY := m.legMedia(y, portY) // the cloud's while y is handed off
	offerY, _, err := sdp.BuildOfferWith(offerX, oy, ipY, portY, sy)
	if err != nil {
		if errors.Is(err, sdp.ErrNoCommonCodec) {
			respond(488, "Not Acceptable Here")
			return
		}
		respond(500, "Server Internal Error")
		return
	}

	out := y.request(sip.INVITE, m.legContact(y), m.cfg.Signer)
	out.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	out.SetBody(offerY)
	y.setLastSDP(offerY)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	ctxTx, err := m.cfg.Client.TransactionRequest(ctx, out)
	if err != nil {
		respond(503, "Service Unavailable")
		return
	}
	defer ctxTx.Terminate()
	ackY := func() {
		ack := y.request(sip.ACK, m.legContact(y), m.cfg.Signer)
		_ = m.cfg.Client.WriteRequest(ack)
	}
	ctxTx.OnRetransmission(func(r *sip.Response) {
		if r.IsSuccess() {
			ackY()
		}
	})
	var final *sip.Response
wait:
	for {
		select {
		case r := <-ctxTx.Responses():
			if r.IsProvisional() {
				continue
			}
			final = r
			break wait
		case <-ctxTx.Done():
			break wait
		case <-c.hungup:
			respond(487, "Request Terminated")
			return
		}
	}
	if final == nil {
		respond(408, "Request Timeout")
		return
	}
	if !final.IsSuccess() {
		c.endReinvite()
		_ = tx.Respond(m.cfg.Signer.Response(req, final.StatusCode, final.Reason, nil))
		return
	}
	if ct := final.Contact(); ct != nil {
		y.mu.Lock()
		y.remoteTarget = *ct.Address.Clone()
		y.mu.Unlock()
	}
	ackY()
	ansY, err := sdp.Parse(final.Body())
	if err != nil {
		m.log.Info("re-INVITE answer unusable", "call_id", y.callID, "err", err)
		respond(488, "Not Acceptable Here")
		return
	}
	c.mu.Lock()
	originX.Next()
	ox := *originX
	c.mu.Unlock()
	ipX, portX := m.legMedia(x, portX)
	body, plan, err := sdp.BuildAnswerWith(offerX, ansY, ox, ipX, portX, ansSec, sy)
	if err != nil {
		respond(488, "Not Acceptable Here")
		return
	}
	c.mu.Lock()
	if x == c.a {
		c.offerA = offerX
	}
	*secX = ansSec
	c.applyMedia(x, offerX.Audio, ansY.Audio, plan)
	c.mu.Unlock()
	m.log.Info("re-INVITE relayed", "call_id", c.cdr.CallID, "direction", offerX.Audio.Direction)
	m.answerReinvite(c, x, req, tx, body)
}

// answerReinvite sends 200 with body to the re-INVITE's sender and waits
// for its ACK like the initial answer.
func (m *Manager) answerReinvite(c *Call, x *leg, req *sip.Request, tx sip.ServerTransaction, body []byte) {
	res := m.cfg.Signer.Response(req, 200, "OK", body)
	res.AppendHeader(m.legContact(x))
	res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	x.setLastSDP(body)
	ack := c.expectAck(x)
	c.endReinvite()
	_ = tx.Respond(res)
	go m.retransmit2xx(c, x, res, ack)
}

// endReinvite lets the next re-INVITE of the call in.
func (c *Call) endReinvite() {
	c.mu.Lock()
	c.reinvite = false
	c.mu.Unlock()
}
