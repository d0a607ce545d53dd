package endpoint

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"

	"hushbox/crypto/keys"
	"hushbox/pbx/sdp"
	"hushbox/pbx/sipmsg"
)

// Errors of the call controls.
var (
	ErrBusy   = errors.New("endpoint: already in a call")
	ErrNoCall = errors.New("endpoint: no call")
)

// answerChallenge answers a 401/407 (pbx/sipmsg).
func answerChallenge(req *sip.Request, res *sip.Response, user, password string) error {
	return sipmsg.AnswerChallenge(req, res, user, password)
}

// call is the one call of the endpoint.
type call struct {
	e        *Endpoint
	outgoing bool
	peer     string

	// Dialog state.
	callID       string
	localTag     string
	remoteTag    string
	localURI     sip.Uri
	remoteURI    sip.Uri
	remoteTarget sip.Uri
	cseq         uint32

	inv    *sip.Request // outgoing: the INVITE as last sent (for CANCEL)
	cancel chan struct{}
	answer chan bool // incoming: true = answer, false = decline

	state    State
	sas      string
	media    *stream
	finished bool // end has begun: no media may start (under e.mu)

	endOnce sync.Once
	done    chan struct{}

	// direct is where in-dialog requests go once a re-INVITE moved the
	// dialog's remote target off the server (follow.go); nil: the server.
	direct atomic.Pointer[string]
}

// newCall makes the call and installs it as the endpoint's one call.
func (e *Endpoint) newCall(outgoing bool, peer, callID string) (*call, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	select {
	case <-e.closed:
		return nil, errors.New("endpoint: closed")
	default:
	}
	if e.call != nil {
		return nil, ErrBusy
	}
	c := &call{e: e, outgoing: outgoing, peer: peer, callID: callID, cancel: make(chan struct{}, 1), answer: make(chan bool, 1),
		done: make(chan struct{}), state: StateDialing}
	if !outgoing {
		c.state = StateRinging
	}
	e.call = c
	return c, nil
}

func (c *call) setState(s State) {
	c.e.mu.Lock()
	c.state = s
	c.e.mu.Unlock()
}

// end finishes the call once: media stopped, the endpoint free again, and
// EventEnded with reason.
func (c *call) end(reason string) {
	c.endOnce.Do(func() {
		c.e.mu.Lock()
		c.finished = true
		m := c.media
		c.e.mu.Unlock()
		if m != nil {
			m.close()
		}
		c.e.mu.Lock()
		if c.e.call == c {
			c.e.call = nil
		}
		c.e.mu.Unlock()
		close(c.done)
		if m := c.media; m != nil {
			js := m.jb.Stats()
			c.e.log.Info("call ended", "peer", c.peer, "reason", reason, "sent", m.sent.Load(),
				"received", m.received.Load(), "dropped", m.dropped.Load(), "played", js.Played,
				"concealed", js.Concealed, "late", js.Late, "resyncs", js.Resyncs, "jitter_frames", js.Target)
		} else {
			c.e.log.Info("call ended", "peer", c.peer, "reason", reason)
		}
		c.e.emit(Event{Kind: EventEnded, Peer: c.peer, Reason: reason})
	})
}

func (c *call) ended() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// startMedia starts the RTP stream and reports the call as answered and
// scrambled or clear. ck is wiped.
func (c *call) startMedia(plan mediaPlan, ck *keys.CallKeys, clearWhy string) error {
	e := c.e
	m, err := newStream(e.rtpConn, e.dev, plan, ck, e.cfg.JitterFrames, e.log, e.emit)
	sas := ""
	if ck != nil {
		sas = ck.SAS
		ck.Wipe()
	}
	if err != nil {
		return err
	}
	e.mu.Lock()
	if c.finished {
		// Hung up while the answer was on its way: no media.
		e.mu.Unlock()
		return nil
	}
	c.media, c.state, c.sas = m, StateInCall, sas
	e.mu.Unlock()
	m.start()
	e.emit(Event{Kind: EventInCall, Peer: c.peer})
	if sas != "" {
		e.emit(Event{Kind: EventScrambled, Peer: c.peer, SAS: sas})
	} else {
		e.emit(Event{Kind: EventClear, Peer: c.peer, Reason: clearWhy})
	}
	return nil
}

// Dial calls number through the server. It returns once the INVITE is on
// its way; the events tell the rest.
func (e *Endpoint) Dial(ctx context.Context, number string) error {
	if number == "" {
		return errors.New("endpoint: empty number")
	}
	c, err := e.newCall(true, number, sip.GenerateTagN(20)+"@hushbox-phone")
	if err != nil {
		return err
	}
	off, err := newOffer(e.cfg.Identity, e.local, e.rtpPort())
	if err != nil {
		c.end("error: " + err.Error())
		return err
	}
	srv := e.srvURI
	target := sip.Uri{Scheme: "sip", User: number, Host: srv.Host, Port: srv.Port}
	inv := sip.NewRequest(sip.INVITE, target)
	c.localURI = sip.Uri{Scheme: "sip", User: e.cfg.User, Host: srv.Host}
	c.remoteURI = sip.Uri{Scheme: "sip", User: number, Host: srv.Host}
	c.localTag = sip.GenerateTagN(12)
	c.cseq = 1
	from := &sip.FromHeader{Address: c.localURI, Params: sip.NewParams()}
	from.Params.Add("tag", c.localTag)
	inv.AppendHeader(from)
	inv.AppendHeader(&sip.ToHeader{Address: c.remoteURI, Params: sip.NewParams()})
	cid := sip.CallIDHeader(c.callID)
	inv.AppendHeader(&cid)
	inv.AppendHeader(&sip.CSeqHeader{SeqNo: c.cseq, MethodName: sip.INVITE})
	inv.AppendHeader(e.contact())
	inv.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	inv.SetBody(off.body)
	inv.SetDestination(e.server)
	c.inv = inv
	go c.runOutgoing(off)
	return nil
}

// runOutgoing drives an outgoing INVITE to its end: challenge, ringing,
// answer (ACK, key agreement, media) or failure; a Hangup while it rings
// sends CANCEL.
func (c *call) runOutgoing(off *offerState) {
	e := c.e
	defer off.destroy()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-e.closed:
			cancel()
		case <-c.done:
		case <-ctx.Done():
		}
	}()
	authed := false
	cancelled := false
	redirects := 0
	for {
		tx, err := e.cli.TransactionRequest(ctx, c.inv)
		if err != nil {
			c.end("error: " + err.Error())
			return
		}
		res, err := c.await(ctx, tx, &cancelled)
		tx.Terminate()
		if err != nil {
			c.end(err.Error())
			return
		}
		if (res.StatusCode == 401 || res.StatusCode == 407) && !authed && !cancelled {
			authed = true
			if err := answerChallenge(c.inv, res, e.cfg.User, e.cfg.Password); err != nil {
				c.end(fmt.Sprintf("%d %s", res.StatusCode, res.Reason))
				return
			}
			c.e.mu.Lock()
			c.cseq = c.inv.CSeq().SeqNo
			c.e.mu.Unlock()
			continue
		}
		if res.StatusCode/100 == 3 && redirects < maxRedirects && !cancelled && c.redirect(res) {
			// A PBX handed off to its cloud peer sends new callers there.
			redirects++
			authed = false // the new target may challenge afresh
			continue
		}
		if !res.IsSuccess() {
			if cancelled {
				c.end("cancelled")
			} else {
				c.end(fmt.Sprintf("%d %s", res.StatusCode, res.Reason))
			}
			return
		}
		c.confirm(res)
		if cancelled {
			// The answer crossed our CANCEL: the call is up, end it.
			c.bye()
			c.end("cancelled")
			return
		}
		plan, ck, err := off.complete(res.Body(), e.cfg.Trust)
		if err != nil {
			e.log.Warn("call refused after answer", "peer", c.peer, "err", err)
			c.bye()
			if errors.Is(err, errKeyAgreement) {
				c.end("key agreement failed")
			} else {
				c.end("bad answer")
			}
			return
		}
		why := "the other side sent no key share"
		if e.cfg.Identity == nil {
			why = "this phone has no identity"
		}
		if err := c.startMedia(plan, ck, why); err != nil {
			c.bye()
			c.end("error: " + err.Error())
		}
		return
	}
}

// maxRedirects bounds the 3xx answers one call follows.
const maxRedirects = 3

// redirect points the INVITE at the first Contact of a 3xx answer (RFC
// 3261 8.1.3.4): the Contact's URI becomes the Request-URI and its host
// where the INVITE, and later the dialog's requests, go. It reports false
// for a 3xx without a usable Contact.
func (c *call) redirect(res *sip.Response) bool {
	ct := res.Contact()
	if ct == nil || ct.Address.Wildcard || ct.Address.Host == "" {
		return false
	}
	u := *ct.Address.Clone()
	port := u.Port
	if port == 0 {
		port = 5060
	}
	hp := net.JoinHostPort(u.Host, strconv.Itoa(port))
	c.e.mu.Lock()
	c.inv.Recipient = u
	c.inv.RemoveHeader("Via")
	c.inv.RemoveHeader("Authorization")
	c.inv.RemoveHeader("Proxy-Authorization")
	if cs := c.inv.CSeq(); cs != nil {
		cs.SeqNo++
		c.cseq = cs.SeqNo
	}
	c.inv.SetDestination(hp)
	c.e.mu.Unlock()
	if sameHostPort(hp, c.e.server) {
		c.direct.Store(nil)
	} else {
		c.direct.Store(&hp)
	}
	c.e.log.Info("call redirected", "peer", c.peer, "code", res.StatusCode, "to", u.String())
	return true
}

// await waits for the final answer to one INVITE transaction, emitting
// EventRinging and sending CANCEL on Hangup.
func (c *call) await(ctx context.Context, tx sip.ClientTransaction, cancelled *bool) (*sip.Response, error) {
	rang := false
	var cancelCh <-chan struct{}
	if !*cancelled {
		cancelCh = c.cancel
	}
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				if (res.StatusCode == 180 || res.StatusCode == 183) && !rang {
					rang = true
					c.e.emit(Event{Kind: EventRinging, Peer: c.peer})
				}
				continue
			}
			return res, nil
		case <-cancelCh:
			cancelCh = nil // once
			*cancelled = true
			c.sendCancel()
		case <-tx.Done():
			select {
			case res := <-tx.Responses():
				if !res.IsProvisional() {
					return res, nil
				}
			default:
			}
			if *cancelled {
				return nil, errors.New("cancelled")
			}
			return nil, fmt.Errorf("no answer: %v", tx.Err())
		case <-ctx.Done():
			return nil, errors.New("phone closed")
		}
	}
}

// sendCancel cancels the INVITE in progress.
func (c *call) sendCancel() {
	inv := c.inv
	if inv.Via() == nil {
		return
	}
	req := sip.NewRequest(sip.CANCEL, *inv.Recipient.Clone())
	req.AppendHeader(sip.HeaderClone(inv.Via()))
	req.AppendHeader(sip.HeaderClone(inv.From()))
	req.AppendHeader(sip.HeaderClone(inv.To()))
	req.AppendHeader(sip.HeaderClone(inv.CallID()))
	req.AppendHeader(&sip.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: sip.CANCEL})
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	req.SetDestination(inv.Destination()) // the server, or where a 3xx sent the INVITE
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := c.e.cli.Do(ctx, req); err != nil {
			c.e.log.Debug("CANCEL failed", "err", err)
		}
	}()
}

// confirm sets up the dialog from a 2xx and acknowledges it.
func (c *call) confirm(res *sip.Response) {
	c.e.mu.Lock()
	c.remoteTag, _ = res.To().Params.Get("tag")
	if ct := res.Contact(); ct != nil {
		c.remoteTarget = *ct.Address.Clone()
	} else {
		c.remoteTarget = *c.inv.Recipient.Clone()
	}
	seq := c.inv.CSeq().SeqNo
	c.cseq = seq
	c.e.mu.Unlock()
	ack := c.request(sip.ACK)
	ack.CSeq().SeqNo = seq
	if err := c.e.cli.WriteRequest(ack); err != nil {
		c.e.log.Warn("ACK failed", "err", err)
	}
}

// request builds an in-dialog request.
func (c *call) request(method sip.RequestMethod) *sip.Request {
	c.e.mu.Lock()
	if method != sip.ACK {
		c.cseq++
	}
	seq := c.cseq
	target := *c.remoteTarget.Clone()
	c.e.mu.Unlock()
	req := sip.NewRequest(method, target)
	from := &sip.FromHeader{Address: c.localURI, Params: sip.NewParams()}
	from.Params.Add("tag", c.localTag)
	to := &sip.ToHeader{Address: c.remoteURI, Params: sip.NewParams()}
	to.Params.Add("tag", c.remoteTag)
	cid := sip.CallIDHeader(c.callID)
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: method})
	req.AppendHeader(&mf)
	if method != sip.BYE {
		req.AppendHeader(c.e.contact())
	}
	req.SetDestination(c.e.server)
	if d := c.direct.Load(); d != nil {
		req.SetDestination(*d) // the dialog moved to another host (follow.go)
	}
	return req
}

// bye hangs up an established dialog (bounded wait for the answer).
func (c *call) bye() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.e.cli.Do(ctx, c.request(sip.BYE)); err != nil {
		c.e.log.Debug("BYE failed", "err", err)
	}
}

func (e *Endpoint) rtpPort() int { return e.rtpConn.LocalAddr().(*net.UDPAddr).Port }

// Answer answers the call that rings here.
func (e *Endpoint) Answer() error {
	e.mu.Lock()
	c := e.call
	ringing := c != nil && !c.outgoing && c.state == StateRinging
	e.mu.Unlock()
	if !ringing {
		return ErrNoCall
	}
	select {
	case c.answer <- true:
	default:
	}
	return nil
}

// Hangup ends the call in any state: CANCEL while our call rings, 603
// Decline for a call ringing here, BYE once answered. No call: no-op.
func (e *Endpoint) Hangup() {
	e.mu.Lock()
	c := e.call
	var state State
	if c != nil {
		state = c.state
	}
	e.mu.Unlock()
	if c == nil {
		return
	}
	switch {
	case state == StateInCall:
		c.bye()
		c.end("hung up")
	case c.outgoing:
		select {
		case c.cancel <- struct{}{}:
		default:
		}
		select {
		case <-c.done:
		case <-time.After(5 * time.Second):
			c.end("hung up")
		}
	default:
		select {
		case c.answer <- false:
		default:
		}
		// The call may have been answered just now (Answer or auto
		// answer won the race): then it needs a BYE.
		deadline := time.After(5 * time.Second)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-c.done:
				return
			case <-deadline:
				c.end("hung up")
				return
			case <-tick.C:
				e.mu.Lock()
				answered := c.state == StateInCall
				e.mu.Unlock()
				if answered {
					c.bye()
					c.end("hung up")
					return
				}
			}
		}
	}
}

// SendDTMF sends one key (0-9, *, #, A-D) as RFC 4733 events.
func (e *Endpoint) SendDTMF(d rune) error {
	e.mu.Lock()
	var m *stream
	if e.call != nil {
		m = e.call.media
	}
	e.mu.Unlock()
	if m == nil {
		return ErrNoCall
	}
	return m.sendDTMF(d)
}

// Wait blocks until the current call (if any) ends or ctx is done.
func (e *Endpoint) Wait(ctx context.Context) {
	e.mu.Lock()
	c := e.call
	e.mu.Unlock()
	if c == nil {
		return
	}
	select {
	case <-c.done:
	case <-ctx.Done():
	}
}

// --- incoming ---

func (e *Endpoint) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if req.To() == nil || req.From() == nil || req.CallID() == nil || req.CSeq() == nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 400, "Bad Request", nil))
		return
	}
	if tag, _ := req.To().Params.Get("tag"); tag != "" {
		e.onReinvite(req, tx)
		return
	}
	peer := req.From().Address.User
	c, err := e.newCall(false, peer, req.CallID().Value())
	if err != nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 486, "Busy Here", nil))
		return
	}
	c.localTag = sip.GenerateTagN(12)
	c.remoteTag, _ = req.From().Params.Get("tag")
	c.localURI = req.To().Address
	c.remoteURI = req.From().Address
	c.cseq = 0
	if ct := req.Contact(); ct != nil {
		c.remoteTarget = *ct.Address.Clone()
	} else {
		c.remoteTarget = e.srvURI
	}
	reply := func(code int, reason string, body []byte) {
		res := sip.NewResponseFromRequest(req, code, reason, body)
		res.To().Params.Add("tag", c.localTag)
		if code >= 200 && code < 300 {
			res.AppendHeader(e.contact())
			res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		}
		if err := tx.Respond(res); err != nil {
			e.log.Debug("respond failed", "code", code, "err", err)
		}
	}
	origin := sdp.NewOrigin(e.local)
	ans, err := answerOffer(req.Body(), e.cfg.Identity, e.cfg.Trust, origin, e.local, e.rtpPort())
	if err != nil {
		e.log.Info("incoming call refused", "peer", peer, "err", err)
		reply(488, "Not Acceptable Here", nil)
		c.end("488 Not Acceptable Here")
		return
	}
	var once sync.Once
	cancelled := make(chan struct{})
	tx.OnCancel(func(*sip.Request) { once.Do(func() { close(cancelled) }) })
	reply(180, "Ringing", nil)
	e.emit(Event{Kind: EventIncoming, Peer: peer})
	if e.cfg.AutoAnswer {
		c.answer <- true
	}
	select {
	case ok := <-c.answer:
		if !ok {
			reply(603, "Decline", nil)
			if ans.keys != nil {
				ans.keys.Wipe()
			}
			c.end("declined")
			return
		}
	case <-cancelled:
		if ans.keys != nil {
			ans.keys.Wipe()
		}
		c.end("cancelled")
		return
	case <-tx.Done():
		if ans.keys != nil {
			ans.keys.Wipe()
		}
		c.end("caller gone")
		return
	case <-e.closed:
		reply(480, "Temporarily Unavailable", nil)
		c.end("phone closed")
		return
	}
	c.e.mu.Lock()
	c.cseq = 0
	c.state = StateInCall // from now on Hangup sends BYE
	c.e.mu.Unlock()
	reply(200, "OK", ans.body)
	why := "the caller sent no key share"
	switch {
	case e.cfg.Identity == nil:
		why = "this phone has no identity"
	case ans.keyErr != nil:
		why = "the caller's key share was refused: " + ans.keyErr.Error()
		e.log.Warn("key share refused; call in clear", "peer", peer, "err", ans.keyErr)
	}
	if err := c.startMedia(ans.plan, ans.keys, why); err != nil {
		c.bye()
		c.end("error: " + err.Error())
	}
}

// onReinvite answers a re-INVITE in our dialog (hold, resume, a new media
// address) with our media unchanged.
func (e *Endpoint) onReinvite(req *sip.Request, tx sip.ServerTransaction) {
	e.mu.Lock()
	c := e.call
	inCall := c != nil && c.media != nil
	e.mu.Unlock()
	if !inCall || c.callID != req.CallID().Value() {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	origin := sdp.NewOrigin(e.local)
	off, err := sdp.Parse(req.Body())
	if err != nil || off.Audio == nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil))
		return
	}
	body, _, err := sdp.BuildAnswer(off, localSession(e.local, e.rtpPort(), nil), origin, e.local, e.rtpPort())
	if err != nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil))
		return
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", body)
	res.AppendHeader(e.contact())
	res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	_ = tx.Respond(res)
	e.follow(c, req, off) // follow.go
}

func (e *Endpoint) onBye(req *sip.Request, tx sip.ServerTransaction) {
	e.mu.Lock()
	c := e.call
	e.mu.Unlock()
	if c == nil || req.CallID() == nil || c.callID != req.CallID().Value() {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	c.end("remote hung up")
}
