package call

import (
	"context"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"hushbox/pbx/registrar"
	"hushbox/pbx/sdp"
	"hushbox/pbx/sipmsg"
	"hushbox/pbx/store"
)

// fork is one branch of a call: the INVITE to one registered phone of the
// callee. The first fork to answer 2xx wins; the others are cancelled.
type fork struct {
	c       *Call
	binding registrar.Binding
	leg     *leg
	invite  *sip.Request

	mu          sync.Mutex
	provisional bool // a 1xx arrived: CANCEL may be sent (RFC 3261 9.1)
	cancelWant  bool
	cancelled   bool
	final       bool
	lastRes     *sip.Response
	tx          sip.ClientTransaction
	// sec is the media security offered to this phone (SRTP on TLS legs).
	sec sdp.Security
	// auth answers a provider's challenge, once.
	auth      *sipgo.DigestAuth
	authTried bool
}

// asTrunkAccount makes the fork present itself as the trunk's account
// (providers check the From user) and answer its challenge with creds.
func (f *fork) asTrunkAccount(t *store.Trunk, creds *sipgo.DigestAuth) {
	f.auth = creds
	if t.Username == "" {
		return
	}
	f.leg.mu.Lock()
	f.leg.localURI.User = t.Username
	f.leg.localURI.Host = f.binding.Contact.Host
	f.leg.remoteURI.Host = f.binding.Contact.Host
	f.leg.mu.Unlock()
	if from := f.invite.From(); from != nil {
		from.Address.User = t.Username
		from.Address.Host = f.binding.Contact.Host
	}
	if to := f.invite.To(); to != nil {
		to.Address.Host = f.binding.Contact.Host
	}
}

func newFork(c *Call, b registrar.Binding, caller, callee store.Extension, offer []byte) *fork {
	m := c.m
	host := m.cfg.SIPHost
	l := &leg{
		callID:       sip.GenerateTagN(24) + "@hushbox",
		localTag:     sip.GenerateTagN(16),
		localURI:     sip.Uri{Scheme: "sip", User: c.cdr.From, Host: host},
		localName:    caller.Name,
		remoteURI:    sip.Uri{Scheme: "sip", User: callee.Number, Host: host},
		remoteName:   callee.Name,
		remoteTarget: *b.Contact.Clone(),
		dest:         b.Source,
		transport:    b.Transport,
	}
	if ip := m.mediaIPFor(b.Source); ip != m.cfg.MediaIP {
		offer = readdressSDP(offer, ip) // this fork's party reaches us there
	}
	req := l.request(sip.INVITE, m.contactFor(b.Source, b.Transport), m.cfg.Signer)
	req.AppendHeader(sip.NewHeader("Allow", sipmsg.Allow))
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(offer)
	l.setLastSDP(offer)
	return &fork{c: c, binding: b, leg: l, invite: req}
}

// run sends the INVITE and reports every response to events until the
// transaction ends. A 2xx that arrives after another fork won is
// acknowledged and hung up here.
func (f *fork) run(events chan<- forkEvent) {
	m := f.c.m
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.RingTimeout+40*time.Second)
	defer cancel()
	tx, err := m.cfg.Client.TransactionRequest(ctx, f.invite)
	if err != nil {
		m.log.Info("fork INVITE failed", "contact", f.binding.Contact.String(), "err", err)
		f.setFinal()
		events <- forkEvent{f: f, err: err}
		return
	}
	f.mu.Lock()
	f.tx = tx
	f.mu.Unlock()
	// Our ACK may be lost: answer retransmitted 2xx with another ACK.
	tx.OnRetransmission(func(r *sip.Response) {
		if r.IsSuccess() {
			f.ack()
		}
	})
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				f.mu.Lock()
				f.provisional = true
				want := f.cancelWant && !f.cancelled
				f.mu.Unlock()
				if want {
					go f.cancel()
				}
				if res.StatusCode > 100 {
					f.setRemoteTag(res)
				}
				events <- forkEvent{f: f, res: res}
				continue
			}
			if (res.StatusCode == 401 || res.StatusCode == 407) && f.auth != nil && !f.authTried {
				f.authTried = true
				tx.Terminate()
				var ntx sip.ClientTransaction
				err := sipmsg.AnswerChallenge(f.invite, res, f.auth.Username, f.auth.Password)
				if err == nil {
					ntx, err = m.cfg.Client.TransactionRequest(ctx, f.invite, sipgo.ClientRequestAddVia)
				}
				if err != nil {
					f.setFinal()
					events <- forkEvent{f: f, err: err}
					return
				}
				// The retry is the dialog's INVITE now: ACK and BYE follow its CSeq.
				f.leg.mu.Lock()
				f.leg.localCSeq = f.invite.CSeq().SeqNo
				f.leg.inviteCSeq = f.invite.CSeq().SeqNo
				f.leg.mu.Unlock()
				f.mu.Lock()
				f.tx = ntx
				f.mu.Unlock()
				tx = ntx
				tx.OnRetransmission(func(r *sip.Response) {
					if r.IsSuccess() {
						f.ack()
					}
				})
				defer ntx.Terminate()
				continue
			}
			f.setFinal()
			if res.IsSuccess() {
				f.setRemoteTag(res)
				f.takeTarget(res)
				f.mu.Lock()
				f.lastRes = res
				f.mu.Unlock()
				if !f.c.claim(f) {
					// Another phone answered first: this one is not wanted.
					f.ack()
					m.sendBye(f.leg)
					return
				}
			}
			events <- forkEvent{f: f, res: res}
			if res.IsSuccess() {
				// Keep the transaction a little for 2xx retransmissions.
				select {
				case <-time.After(sip.T1 * 64):
				case <-f.c.hungup:
				}
			}
			return
		case <-tx.Done():
			f.setFinal()
			events <- forkEvent{f: f, err: tx.Err()}
			return
		}
	}
}

// claim makes f the winner unless another fork already is.
func (c *Call) claim(f *fork) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return false
	}
	if c.winner == nil || c.winner == f {
		c.winner = f
		return true
	}
	return false
}

func (f *fork) setFinal() {
	f.mu.Lock()
	f.final = true
	f.mu.Unlock()
}

func (f *fork) setRemoteTag(res *sip.Response) {
	if to := res.To(); to != nil {
		if tag := sipmsg.Tag(to.Params); tag != "" {
			f.leg.mu.Lock()
			f.leg.remoteTag = tag
			f.leg.mu.Unlock()
		}
	}
}

// takeTarget adopts the 2xx's Contact and Record-Route (reversed) as the
// dialog's remote target and route set (RFC 3261 12.1.2).
func (f *fork) takeTarget(res *sip.Response) {
	l := f.leg
	l.mu.Lock()
	defer l.mu.Unlock()
	if ct := res.Contact(); ct != nil && !ct.Address.Wildcard {
		l.remoteTarget = *ct.Address.Clone()
	}
	var rr []sip.Uri
	for _, h := range res.GetHeaders("Record-Route") {
		if r, ok := h.(*sip.RecordRouteHeader); ok {
			rr = append(rr, *r.Address.Clone())
		}
	}
	for i, j := 0, len(rr)-1; i < j; i, j = i+1, j-1 {
		rr[i], rr[j] = rr[j], rr[i]
	}
	l.routes = rr
}

// ack acknowledges the fork's 2xx.
func (f *fork) ack() {
	m := f.c.m
	req := f.leg.request(sip.ACK, m.contactFor(f.leg.dest, f.leg.transport), m.cfg.Signer)
	if err := m.cfg.Client.WriteRequest(req); err != nil {
		m.log.Debug("ACK failed", "call_id", f.leg.callID, "err", err)
	}
}

// cancel sends CANCEL for the fork's INVITE, once, and only after a
// provisional response (before that the CANCEL is remembered and sent when
// one arrives; a phone that never answers is ended by Timer B).
func (f *fork) cancel() {
	f.mu.Lock()
	if f.final || f.cancelled {
		f.mu.Unlock()
		return
	}
	if !f.provisional {
		f.cancelWant = true
		f.mu.Unlock()
		return
	}
	f.cancelled = true
	f.mu.Unlock()
	m := f.c.m
	inv := f.invite
	req := sip.NewRequest(sip.CANCEL, *inv.Recipient.Clone())
	req.AppendHeader(sip.HeaderClone(inv.Via()))
	req.AppendHeader(sip.HeaderClone(inv.From()))
	req.AppendHeader(sip.HeaderClone(inv.To()))
	req.AppendHeader(sip.HeaderClone(inv.CallID()))
	req.AppendHeader(&sip.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: sip.CANCEL})
	maxFwd := sip.MaxForwardsHeader(70)
	req.AppendHeader(&maxFwd)
	sip.CopyHeaders("Route", inv, req)
	req.SetTransport(inv.Transport())
	if d := inv.Destination(); d != "" {
		req.SetDestination(d)
	}
	m.cfg.Signer.Sign(req)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	if _, err := m.cfg.Client.Do(ctx, req); err != nil {
		m.log.Debug("CANCEL failed", "call_id", f.leg.callID, "err", err)
	}
}
