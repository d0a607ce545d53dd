package call

import (
	"context"
	"time"

	"github.com/emiago/sipgo/sip"

	"hushbox/pbx/sipmsg"
	"hushbox/pbx/store"
)

// other returns the leg on the far side of l.
func (c *Call) other(l *leg) *leg {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l == c.a {
		return c.b
	}
	return c.a
}

// HandleBye ends the call of the dialog the BYE belongs to.
func (m *Manager) HandleBye(req *sip.Request, tx sip.ServerTransaction) {
	ref, ok := m.lookup(req)
	if !ok {
		_ = tx.Respond(m.cfg.Signer.Response(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	_ = tx.Respond(m.cfg.Signer.Response(req, 200, "OK", nil))
	side := store.HangupCallee
	if ref.leg == ref.call.a {
		side = store.HangupCaller
	}
	ref.call.hangup(ref.leg, side)
}

// HandleCancel answers CANCELs that match no pending INVITE (the
// transaction layer handles those that do).
func (m *Manager) HandleCancel(req *sip.Request, tx sip.ServerTransaction) {
	_ = tx.Respond(m.cfg.Signer.Response(req, 481, "Call/Transaction Does Not Exist", nil))
}

// HandleOptions answers OPTIONS (keep-alives and capability queries).
func (m *Manager) HandleOptions(req *sip.Request, tx sip.ServerTransaction) {
	res := m.cfg.Signer.Response(req, 200, "OK", nil)
	res.AppendHeader(sip.NewHeader("Allow", sipmsg.Allow))
	res.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
	_ = tx.Respond(res)
}

// HandleInfo relays in-dialog INFO (e.g. SIP INFO DTMF) to the other party
// and its answer back.
func (m *Manager) HandleInfo(req *sip.Request, tx sip.ServerTransaction) {
	ref, ok := m.lookup(req)
	if !ok {
		_ = tx.Respond(m.cfg.Signer.Response(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	if !ref.leg.acceptCSeq(req) {
		_ = tx.Respond(m.cfg.Signer.Response(req, 500, "Server Internal Error", nil))
		return
	}
	to := ref.call.other(ref.leg)
	if to == nil {
		_ = tx.Respond(m.cfg.Signer.Response(req, 200, "OK", nil))
		return
	}
	out := to.request(sip.INFO, m.legContact(to), m.cfg.Signer)
	if ct := req.ContentType(); ct != nil {
		out.AppendHeader(sip.NewHeader("Content-Type", ct.Value()))
	}
	out.SetBody(req.Body())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := m.cfg.Client.Do(ctx, out)
	if err != nil {
		_ = tx.Respond(m.cfg.Signer.Response(req, 408, "Request Timeout", nil))
		return
	}
	_ = tx.Respond(m.cfg.Signer.Response(req, res.StatusCode, res.Reason, nil))
}
