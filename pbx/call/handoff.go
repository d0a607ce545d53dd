package call

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/emiago/sipgo/sip"

	"hushbox/pbx/media"
	"hushbox/pbx/sdp"
)

// Where a call leg's party sends its media and in-dialog requests.
const (
	WhereBoard = "board"
	WhereCloud = "cloud"
)

// LegRef names one answered call leg for the hand-off: the dialog's Call-ID
// (what the party puts in its requests) and which side of the call it is.
type LegRef struct {
	CallID string `json:"call_id"` // the leg's dialog Call-ID
	Call   string `json:"call"`    // the call's Call-ID as Info shows it (leg a's)
	Leg    string `json:"leg"`     // "a" (caller) or "b" (callee)
	// Party is where the party's signalling comes from (host:port), Media
	// the party's media address as the relay sees it (latched, else SDP).
	Party string         `json:"party"`
	Media netip.AddrPort `json:"media"`
	// Local is our relay leg's address for this party.
	Local netip.AddrPort `json:"local"`
	Where string         `json:"where"`
	Trunk string         `json:"trunk,omitempty"`
}

// Target is where a leg moves: Media is the address the party is told to
// send its RTP to (the cloud relay's WAN side), Relay where our relay leg
// sends and listens for it (the cloud relay's peer side), Contact the SIP
// address the party sends its in-dialog requests to (the cloud's).
type Target struct {
	Media   netip.AddrPort
	Relay   netip.AddrPort
	Contact sip.Uri
}

// legHandoff is the state of a leg handed to the cloud.
type legHandoff struct {
	target  Target
	contact *sip.ContactHeader
	// party is where the party's media came from before: hand-back latches there.
	party netip.AddrPort
	// resend, for a call that came in through the cloud, sends a
	// retransmission of our 2xx back through the cloud (nil: straight).
	resend func(*sip.Response)
}

// Errors of MoveLeg and ReturnLeg.
var (
	ErrNoLeg    = errors.New("call: no such answered call leg")
	ErrBusy     = errors.New("call: an offer/answer is in progress on this call")
	ErrRefused  = errors.New("call: the party refused the re-INVITE")
	ErrNotMoved = errors.New("call: the leg is not handed off")
	ErrMoved    = errors.New("call: the leg is already handed off")
)

// HandoffLegs lists the legs of answered calls, with where each is.
func (m *Manager) HandoffLegs() []LegRef { return m.AppendHandoffLegs(nil) }

// AppendHandoffLegs is HandoffLegs appended to out: the hand-off's pressure
// loop lists the legs four times a second and reuses its slice.
func (m *Manager) AppendHandoffLegs(out []LegRef) []LegRef {
	m.mu.Lock()
	calls := make([]*Call, 0, len(m.calls))
	for c := range m.calls {
		calls = append(calls, c)
	}
	m.mu.Unlock()
	out = slices.Grow(out, 2*len(calls))
	for _, c := range calls {
		c.mu.Lock()
		if c.state != Answered || c.media == nil {
			c.mu.Unlock()
			continue
		}
		for _, side := range []string{"a", "b"} {
			l, rl := c.a, c.media.A()
			if side == "b" {
				l, rl = c.b, c.media.B()
			}
			if l == nil {
				continue
			}
			ref := LegRef{CallID: l.callID, Call: c.cdr.CallID, Leg: side, Local: netip.AddrPortFrom(m.mediaIPFor(l.dest), uint16(rl.Port())), Where: WhereBoard, Trunk: c.trunkName()}
			if p := rl.Stats().Peer; p.IsValid() {
				ref.Media = p
			} else if side == "a" {
				ref.Media = c.remoteA
			} else {
				ref.Media = c.remoteB
			}
			l.mu.Lock()
			ref.Party = l.dest
			if ref.Party == "" {
				ref.Party = hostPort(l.remoteTarget)
			}
			if l.ho != nil {
				ref.Where = WhereCloud
				ref.Media = l.ho.party
			}
			l.mu.Unlock()
			out = append(out, ref)
		}
		c.mu.Unlock()
	}
	return out
}

// hostPort is a URI's host:port (5060 when none is given).
func hostPort(u sip.Uri) string {
	p := u.Port
	if p == 0 {
		p = 5060
	}
	return net.JoinHostPort(u.Host, strconv.Itoa(p))
}

// findLeg finds the answered call and leg whose dialog Call-ID is callID.
func (m *Manager) findLeg(callID, side string) (*Call, *leg, *media.Leg, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for c := range m.calls {
		c.mu.Lock()
		l, rl := c.a, (*media.Leg)(nil)
		if side == "b" {
			l = c.b
		}
		if c.media != nil {
			rl = c.media.A()
			if side == "b" {
				rl = c.media.B()
			}
		}
		ok := l != nil && l.callID == callID && c.state == Answered && rl != nil
		c.mu.Unlock()
		if ok {
			return c, l, rl, nil
		}
	}
	return nil, nil, nil, fmt.Errorf("%w: %s/%s", ErrNoLeg, callID, side)
}

// MoveLeg hands one leg to the cloud: an in-dialog re-INVITE with our last
// SDP pointed at t.Media and a Contact at t.Contact; on its 2xx our relay
// leg is latched to t.Relay. A refusal or a timeout changes nothing. It
// returns the time from the re-INVITE to its 2xx.
func (m *Manager) MoveLeg(ctx context.Context, callID, side string, t Target) (time.Duration, error) {
	c, l, rl, err := m.findLeg(callID, side)
	if err != nil {
		return 0, err
	}
	l.mu.Lock()
	moved := l.ho != nil
	l.mu.Unlock()
	if moved {
		return 0, ErrMoved
	}
	ct := &sip.ContactHeader{Address: *t.Contact.Clone(), Params: sip.NewParams()}
	party := rl.Stats().Peer
	if !party.IsValid() {
		c.mu.Lock()
		party = c.remoteA
		if side == "b" {
			party = c.remoteB
		}
		c.mu.Unlock()
	}
	// While the party switches, its media comes both ways: straight (until
	// it reads the re-INVITE) and through the cloud (after); take both.
	rl.Also(t.Relay)
	d, _, err := m.switchLeg(ctx, c, l, t.Media, ct)
	if err != nil {
		rl.NoAlso()
		return d, err
	}
	rl.LatchTo(t.Relay)
	alsoForAWhile(rl, party)
	l.mu.Lock()
	l.ho = &legHandoff{target: t, contact: ct, party: party}
	l.mu.Unlock()
	m.log.Info("call leg handed to the cloud", "call_id", callID, "leg", side, "media", t.Media, "switch", d)
	return d, nil
}

// ReturnLeg hands a leg back: a re-INVITE with our own media address and
// Contact; on its 2xx our relay leg latches to the party again.
func (m *Manager) ReturnLeg(ctx context.Context, callID, side string) (time.Duration, error) {
	c, l, rl, err := m.findLeg(callID, side)
	if err != nil {
		return 0, err
	}
	l.mu.Lock()
	ho := l.ho
	tp := l.transport
	l.mu.Unlock()
	if ho == nil {
		return 0, ErrNotMoved
	}
	own := netip.AddrPortFrom(m.mediaIPFor(l.dest), uint16(rl.Port()))
	rl.Also(ho.party)
	d, ans, err := m.switchLeg(ctx, c, l, own, m.contactFor(l.dest, tp))
	if err != nil {
		rl.NoAlso()
		return d, err
	}
	party := ho.party
	if !party.IsValid() && ans != nil && ans.Audio != nil {
		party = mediaAddr(ans.Audio)
	}
	if party.IsValid() {
		rl.LatchTo(party)
		alsoForAWhile(rl, ho.target.Relay)
	} else {
		rl.NoAlso()
		rl.Relatch()
	}
	l.mu.Lock()
	l.ho = nil
	l.mu.Unlock()
	m.log.Info("call leg handed back", "call_id", callID, "leg", side, "switch", d)
	return d, nil
}

// switchLeg sends the party of l a re-INVITE whose SDP is our last one
// with c=/m= at mediaAt and whose Contact is ct, and ACKs its 2xx.
func (m *Manager) switchLeg(ctx context.Context, c *Call, l *leg, mediaAt netip.AddrPort, ct *sip.ContactHeader) (time.Duration, *sdp.Session, error) {
	c.mu.Lock()
	busy := c.reinvite || c.state != Answered
	if !busy {
		c.reinvite = true
	}
	c.mu.Unlock()
	if busy {
		return 0, nil, ErrBusy
	}
	defer c.endReinvite()
	body, err := pointSDP(l.getLastSDP(), mediaAt)
	if err != nil {
		return 0, nil, err
	}
	out := l.request(sip.INVITE, ct, m.cfg.Signer)
	out.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	out.SetBody(body)
	start := time.Now()
	tctx, cancel := context.WithTimeout(ctx, 32*time.Second)
	defer cancel()
	tx, err := m.cfg.Client.TransactionRequest(tctx, out)
	if err != nil {
		return 0, nil, fmt.Errorf("hand-off re-INVITE: %w", err)
	}
	defer tx.Terminate()
	ack := func() { _ = m.cfg.Client.WriteRequest(l.request(sip.ACK, ct, m.cfg.Signer)) }
	tx.OnRetransmission(func(r *sip.Response) {
		if r.IsSuccess() {
			ack()
		}
	})
	var final *sip.Response
wait:
	for {
		select {
		case r := <-tx.Responses():
			if r.IsProvisional() {
				continue
			}
			final = r
			break wait
		case <-tx.Done():
			break wait
		case <-tctx.Done():
			break wait
		case <-c.hungup:
			return time.Since(start), nil, ErrNoLeg
		}
	}
	d := time.Since(start)
	if final == nil {
		return d, nil, fmt.Errorf("%w: no answer", ErrRefused)
	}
	if !final.IsSuccess() {
		return d, nil, fmt.Errorf("%w: %d %s", ErrRefused, final.StatusCode, final.Reason)
	}
	if rc := final.Contact(); rc != nil {
		l.mu.Lock()
		l.remoteTarget = *rc.Address.Clone()
		l.mu.Unlock()
	}
	ack()
	l.setLastSDP(body)
	ans, _ := sdp.Parse(final.Body())
	return d, ans, nil
}

// legContact is our Contact towards l's party: the cloud's while the leg
// is handed off.
func (m *Manager) legContact(l *leg) *sip.ContactHeader {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ho != nil {
		return l.ho.contact.Clone()
	}
	return contactHeader(m.sipHostFor(l.dest), m.cfg.SIPPorts, l.transport)
}

// legMedia is the media address our SDP gives l's party: the cloud relay's
// WAN side while the leg is handed off, else ours at port.
func (m *Manager) legMedia(l *leg, port int) (netip.Addr, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ho != nil {
		return l.ho.target.Media.Addr(), int(l.ho.target.Media.Port())
	}
	return m.mediaIPFor(l.dest), port
}

// where is "cloud" when a leg of the call is handed off. c.mu is held.
func (c *Call) where() string {
	for _, l := range []*leg{c.a, c.b} {
		if l == nil {
			continue
		}
		l.mu.Lock()
		moved := l.ho != nil
		l.mu.Unlock()
		if moved {
			return WhereCloud
		}
	}
	return WhereBoard
}

// alsoGrace is how long packets on the old path are still taken after a
// move: those in flight when the 2xx arrived.
const alsoGrace = time.Second

// alsoForAWhile accepts media from old besides the new latch for alsoGrace.
func alsoForAWhile(rl *media.Leg, old netip.AddrPort) {
	rl.Also(old)
	time.AfterFunc(alsoGrace, func() { rl.NoAlsoIf(old) })
}
