package call

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// HandleForwarded handles an in-dialog request a handed-off party sent to
// the cloud peer, which forwarded it over the peer link: the B2BUA keeps
// owning the dialog. It returns the final response to send back through the
// cloud, or nil for an ACK (or when ctx ends first: the cloud then times
// the request out).
func (m *Manager) HandleForwarded(ctx context.Context, req *sip.Request) *sip.Response {
	tx := newCaptureTx()
	switch req.Method {
	case sip.ACK:
		m.HandleAck(req, tx)
		return nil
	case sip.INVITE:
		if req.To() == nil || req.To().Params == nil || !req.To().Params.Has("tag") {
			// Only in-dialog requests come this way.
			return m.cfg.Signer.Response(req, 481, "Call/Transaction Does Not Exist", nil)
		}
		go m.HandleInvite(req, tx)
	case sip.BYE:
		go m.HandleBye(req, tx)
	case sip.INFO:
		go m.HandleInfo(req, tx)
	case sip.OPTIONS:
		go m.HandleOptions(req, tx)
	default:
		return m.cfg.Signer.Response(req, 405, "Method Not Allowed", nil)
	}
	select {
	case res := <-tx.final:
		return res
	case <-ctx.Done():
		tx.Terminate()
		return nil
	}
}

// captureTx is a server transaction whose responses are kept instead of
// sent: the first final response goes to final.
type captureTx struct {
	final chan *sip.Response
	done  chan struct{}
	once  sync.Once
}

func newCaptureTx() *captureTx {
	return &captureTx{final: make(chan *sip.Response, 1), done: make(chan struct{})}
}

// Respond keeps the first final response; provisional ones are dropped (the
// cloud's own transaction retransmits; a forwarded exchange is short).
func (t *captureTx) Respond(res *sip.Response) error {
	if res.IsProvisional() {
		return nil
	}
	select {
	case t.final <- res:
	default:
	}
	return nil
}

func (t *captureTx) Acks() <-chan *sip.Request          { return nil }
func (t *captureTx) OnCancel(sip.FnTxCancel) bool       { return false }
func (t *captureTx) OnTerminate(sip.FnTxTerminate) bool { return false }
func (t *captureTx) Done() <-chan struct{}              { return t.done }
func (t *captureTx) Err() error                         { return nil }
func (t *captureTx) Terminate()                         { t.once.Do(func() { close(t.done) }) }

var _ sip.ServerTransaction = (*captureTx)(nil)

// CloudLegOpener is the server transaction of a new INVITE the cloud peer
// forwarded while this board is handed off (the party was redirected to
// the cloud with a 302): HandleInvite sees it and starts the caller's leg
// on the cloud, as if handed off already. Its Respond sends every response
// back through the cloud, provisional ones included.
type CloudLegOpener interface {
	sip.ServerTransaction
	// OpenCloudLeg asks the cloud for a relay for the leg with dialog
	// Call-ID callID: board is our relay leg's address, party the party's
	// media address from its offer (may be invalid).
	OpenCloudLeg(ctx context.Context, callID string, board, party netip.AddrPort) (Target, error)
	// Resend sends a retransmission of our 2xx back through the cloud.
	Resend(res *sip.Response)
}

// openCloudLeg starts the caller's leg of c on the cloud: a relay there,
// our answer's SDP and Contact at the cloud (legMedia, legContact). Only
// after digest auth passed: a challenge costs the cloud nothing either.
func (m *Manager) openCloudLeg(c *Call, o CloudLegOpener, party netip.AddrPort) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	local := netip.AddrPortFrom(m.mediaIPFor(c.a.dest), uint16(c.media.A().Port()))
	t, err := o.OpenCloudLeg(ctx, c.a.callID, local, party)
	if err != nil {
		return fmt.Errorf("cloud relay: %w", err)
	}
	ct := &sip.ContactHeader{Address: *t.Contact.Clone(), Params: sip.NewParams()}
	c.a.mu.Lock()
	c.a.ho = &legHandoff{target: t, contact: ct, party: party, resend: o.Resend}
	c.a.mu.Unlock()
	m.log.Info("forwarded call starts on the cloud", "call_id", c.a.callID, "party", c.a.dest, "media", t.Media)
	return nil
}

// resender is how a retransmission of our 2xx to l's party goes: through
// the cloud for a call that came in that way, nil for straight.
func (l *leg) resender() func(*sip.Response) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ho == nil {
		return nil
	}
	return l.ho.resend
}
