package handoff

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/emiago/sipgo/sip"

	"hushbox/pbx/sipmsg"
)

// Sender posts a raw SIP request to peer owner's SIPPath and returns the
// raw answer (empty for none): the daemon builds it on pbx/peer.
type Sender func(ctx context.Context, owner string, raw []byte) ([]byte, error)

// Forwarder runs on the cloud: in-dialog requests of a handed-off dialog
// (the party sends them to the cloud, whose Contact it was given) go to the
// board that owns the dialog, and the board's answer goes back to the party.
type Forwarder struct {
	relays *Relays
	send   Sender
	signer sipmsg.Signer
	log    *slog.Logger
}

// NewForwarder forwards the dialogs relays knows of through send.
func NewForwarder(relays *Relays, send Sender, signer sipmsg.Signer, log *slog.Logger) *Forwarder {
	if log == nil {
		log = slog.Default()
	}
	return &Forwarder{relays: relays, send: send, signer: signer, log: log}
}

// Intercept forwards req when its dialog is handed off to this cloud and
// reports whether it did (false: handle it locally as usual).
func (f *Forwarder) Intercept(req *sip.Request, tx sip.ServerTransaction) bool {
	if f == nil || req.CallID() == nil || req.Method == sip.REGISTER {
		return false
	}
	owner := f.relays.Owner(req.CallID().Value())
	if owner == "" {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 32*time.Second)
	defer cancel()
	raw, err := f.send(ctx, owner, []byte(req.String()))
	if req.IsAck() {
		if err != nil {
			f.log.Info("forwarding ACK to the board failed", "call_id", req.CallID().Value(), "err", err)
		}
		return true
	}
	res, perr := parseResponse(raw)
	if err == nil && perr != nil {
		err = perr
	}
	if err != nil {
		f.log.Info("forwarding to the board failed", "method", req.Method, "call_id", req.CallID().Value(), "err", err)
		res = f.signer.Response(req, 503, "Service Unavailable", nil)
	}
	if tx != nil {
		_ = tx.Respond(res)
	}
	return true
}

// parseResponse reads the board's raw answer.
func parseResponse(raw []byte) (*sip.Response, error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("handoff: the board sent no SIP answer")
	}
	msg, err := sip.ParseMessage(raw)
	if err != nil {
		return nil, fmt.Errorf("handoff: the board's SIP answer: %w", err)
	}
	res, ok := msg.(*sip.Response)
	if !ok {
		return nil, fmt.Errorf("handoff: the board's SIP answer is not a response")
	}
	return res, nil
}
