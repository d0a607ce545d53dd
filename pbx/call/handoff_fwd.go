package call

import (
	"context"
	"sync"

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
