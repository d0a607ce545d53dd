package handoff

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"hushbox/pbx/call"
	"hushbox/pbx/peer"
	"hushbox/pbx/sipmsg"
)

// Peer-link paths of redirected callers' new INVITEs (see docs/handoff.md):
//
//	POST /peer/sip/invite    cloud → board: ForwardedInvite; 202, the
//	                         board handles it as a new call
//	POST /peer/sip/cancel    cloud → board: ForwardedCancel (the caller
//	                         cancelled); 204
//	POST /peer/sip/response  board → cloud: PushedResponse, each response
//	                         of the board to that INVITE, in order; 204
//
// The board pushes its responses (rather than the cloud polling or
// holding a streamed HTTP answer open): each is one short request over
// the pooled peer-link connection, ordered by one sender per INVITE, and
// a lost one is no worse than a lost UDP datagram (the caller
// retransmits; a 2xx is retransmitted through the same path).
const (
	InvitePath   = "/peer/sip/invite"
	CancelPath   = "/peer/sip/cancel"
	ResponsePath = "/peer/sip/response"
)

// ForwardedInvite is a new INVITE the cloud got from a caller the board
// redirected: the raw message and where it came from, so the board's
// digest auth, guard and CDRs see the caller, not the cloud.
type ForwardedInvite struct {
	ID        string `json:"id"`
	Source    string `json:"source"`
	Transport string `json:"transport"`
	SIP       string `json:"sip"`
}

// ForwardedCancel says the caller cancelled INVITE ID.
type ForwardedCancel struct {
	ID string `json:"id"`
}

// PushedResponse is one response of the board to forwarded INVITE ID.
type PushedResponse struct {
	ID  string `json:"id"`
	SIP string `json:"sip"`
}

// PeerPoster posts JSON to a peer by name, for the Inviter.
type PeerPoster func(ctx context.Context, peerName, path string, in any) error

// PeerPost posts over pl.
func PeerPost(pl PeerLink) PeerPoster {
	return func(ctx context.Context, name, path string, in any) error {
		p, ok := pl.Peer(name)
		if !ok {
			return fmt.Errorf("%w: %s", peer.ErrNoPeer, name)
		}
		return pl.Request(ctx, p, http.MethodPost, path, in, nil)
	}
}

// pendingInvite is a caller's INVITE the cloud forwarded to a board.
type pendingInvite struct {
	tx    sip.ServerTransaction
	board string
	// final is closed once the caller has its final response (or
	// cancelled): Intercept holds the SIP handler until then, since sipgo
	// ends a transaction whose handler returned without a final response.
	final     chan struct{}
	finalOnce sync.Once
}

func (p *pendingInvite) finished() { p.finalOnce.Do(func() { close(p.final) }) }

// pendingHold bounds how long the cloud keeps a forwarded INVITE's
// transaction: a 2xx stays retransmittable for 64*T1; an INVITE the
// board never answers is forgotten after a ring timeout's worth.
const (
	pendingAfter2xx = 32 * time.Second // 64*T1
	pendingMax      = 10 * time.Minute
)

// Inviter runs on the cloud: it takes the new INVITEs of callers a board
// redirected here, forwards them to that board and sends the caller the
// board's responses. In-dialog requests of those calls then go the
// Forwarder's way (the board opened a relay for the dialog).
type Inviter struct {
	post   PeerPoster
	touch  func(callID string) // re-arms the dialog's relay (Relays.Touch); may be nil
	signer sipmsg.Signer
	sip    string // the cloud's SIP URI
	log    *slog.Logger
	boards boardsRedirecting

	mu      sync.Mutex
	pending map[string]*pendingInvite
}

// NewInviter makes the cloud's side; sipURI is the cloud's SIP URI (as
// for NewRelays); relays (may be nil) has each response of the board
// re-arm the call's relay, so that ringing does not idle it out.
func NewInviter(post PeerPoster, relays *Relays, signer sipmsg.Signer, sipURI string, log *slog.Logger) *Inviter {
	if log == nil {
		log = slog.Default()
	}
	in := &Inviter{post: post, signer: signer, sip: sipURI, log: log, pending: map[string]*pendingInvite{}}
	if relays != nil {
		in.touch = relays.Touch
	}
	return in
}

// Serve adds the cloud's routes: RedirectPath and ResponsePath.
func (in *Inviter) Serve(rt Router) {
	in.serveRedirect(rt)
	rt.Route("POST "+ResponsePath, func(w http.ResponseWriter, req *http.Request, from peer.Peer) {
		var pr PushedResponse
		if err := json.NewDecoder(io.LimitReader(req.Body, 2*maxSIP)).Decode(&pr); err != nil {
			writeJSON(w, http.StatusBadRequest, errorReply{"response: " + err.Error()})
			return
		}
		res, err := parseResponse([]byte(pr.SIP))
		if err != nil {
			writeJSON(w, http.StatusBadRequest, errorReply{err.Error()})
			return
		}
		if err := in.respond(from.Name, pr.ID, res); err != nil {
			writeJSON(w, http.StatusNotFound, errorReply{err.Error()})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// Intercept takes a new INVITE (no To tag) sent to the cloud by a caller
// a board redirected here: 100 Trying at once, the INVITE forwarded to
// that board. It reports whether it took req (false: not such a call),
// and returns once the caller has a final answer (as the B2BUA's INVITE
// handler does: sipgo ends a transaction whose handler returned before).
func (in *Inviter) Intercept(req *sip.Request, tx sip.ServerTransaction) bool {
	if in == nil || req.Method != sip.INVITE || req.To() == nil || sipmsg.Tag(req.To().Params) != "" {
		return false
	}
	token := ""
	if req.Recipient.UriParams != nil {
		token, _ = req.Recipient.UriParams.Get(RedirectParam)
	}
	board := in.boards.find(token, time.Now())
	if board == "" {
		return false
	}
	_ = tx.Respond(in.signer.Response(req, 100, "Trying", nil))
	var idb [12]byte
	_, _ = rand.Read(idb[:])
	id := hex.EncodeToString(idb[:])
	p := &pendingInvite{tx: tx, board: board, final: make(chan struct{})}
	in.mu.Lock()
	in.pending[id] = p
	in.mu.Unlock()
	time.AfterFunc(pendingMax, func() { in.forget(id) })
	tx.OnCancel(func(*sip.Request) {
		// sipgo has answered the CANCEL and sent the caller 487.
		in.forget(id)
		p.finished()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := in.post(ctx, board, CancelPath, ForwardedCancel{ID: id}); err != nil {
			in.log.Info("forwarding a CANCEL to the board failed", "board", board, "err", err)
		}
	})
	fi := ForwardedInvite{ID: id, Source: req.Source(), Transport: req.Transport(), SIP: req.String()}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := in.post(ctx, board, InvitePath, fi); err != nil {
		in.log.Info("forwarding a redirected caller's INVITE to the board failed", "board", board, "src", req.Source(), "err", err)
		in.forget(id)
		_ = tx.Respond(in.signer.Response(req, 503, "Service Unavailable", nil))
		return true
	}
	in.log.Debug("redirected caller's INVITE forwarded to the board", "board", board, "src", req.Source(), "call_id", req.CallID().Value())
	wait := time.NewTimer(pendingMax)
	defer wait.Stop()
	select {
	case <-p.final:
	case <-tx.Done():
	case <-wait.C:
		in.forget(id)
	}
	return true
}

// respond sends the caller of pending INVITE id the board's response.
func (in *Inviter) respond(board, id string, res *sip.Response) error {
	in.mu.Lock()
	p := in.pending[id]
	in.mu.Unlock()
	if p == nil || p.board != board {
		return fmt.Errorf("handoff: no forwarded INVITE %q of %s", id, board)
	}
	if res.StatusCode == 100 {
		return nil // ours went at once
	}
	if in.touch != nil && res.CallID() != nil {
		in.touch(res.CallID().Value())
	}
	if err := p.tx.Respond(res); err != nil {
		in.log.Debug("response to a redirected caller", "code", res.StatusCode, "err", err)
	}
	switch {
	case res.IsSuccess():
		// Kept for the 2xx's retransmissions (the transaction passes
		// them on in its Accepted state).
		time.AfterFunc(pendingAfter2xx, func() { in.forget(id) })
		p.finished()
	case !res.IsProvisional():
		in.forget(id) // the transaction absorbs the caller's ACK
		p.finished()
	}
	return nil
}

func (in *Inviter) forget(id string) {
	in.mu.Lock()
	delete(in.pending, id)
	in.mu.Unlock()
}

// Inviting is the call manager as the board serves forwarded new INVITEs:
// *call.Manager satisfies it.
type Inviting interface {
	HandleInvite(req *sip.Request, tx sip.ServerTransaction)
}

// ServeInvites adds the board's InvitePath and CancelPath routes: a new
// INVITE the cloud forwarded becomes a call whose caller's leg starts on
// the cloud (a relay opened there, our SDP and Contact at the cloud);
// every response goes back to the cloud over pl.
func (b *Board) ServeInvites(rt Router, calls Inviting, pl PeerLink) {
	var mu sync.Mutex
	live := map[string]*pushTx{} // by peer name and ID
	rt.Route("POST "+InvitePath, func(w http.ResponseWriter, req *http.Request, from peer.Peer) {
		var fi ForwardedInvite
		if err := json.NewDecoder(io.LimitReader(req.Body, 2*maxSIP)).Decode(&fi); err != nil {
			writeJSON(w, http.StatusBadRequest, errorReply{"invite: " + err.Error()})
			return
		}
		sreq, err := forwardedInvite(fi)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, errorReply{err.Error()})
			return
		}
		key := from.Name + "\x00" + fi.ID
		t := newPushTx(b, fi.ID, func(ctx context.Context, pr PushedResponse) error {
			return pl.Request(ctx, from, http.MethodPost, ResponsePath, pr, nil)
		}, func() { mu.Lock(); delete(live, key); mu.Unlock() })
		mu.Lock()
		live[key] = t
		mu.Unlock()
		b.log.Info("new call through the cloud", "src", fi.Source, "call_id", sreq.CallID().Value())
		go calls.HandleInvite(sreq, t)
		w.WriteHeader(http.StatusAccepted)
	})
	rt.Route("POST "+CancelPath, func(w http.ResponseWriter, req *http.Request, from peer.Peer) {
		var fc ForwardedCancel
		if err := json.NewDecoder(io.LimitReader(req.Body, 1<<10)).Decode(&fc); err != nil {
			writeJSON(w, http.StatusBadRequest, errorReply{"cancel: " + err.Error()})
			return
		}
		mu.Lock()
		t := live[from.Name+"\x00"+fc.ID]
		mu.Unlock()
		if t == nil {
			writeJSON(w, http.StatusNotFound, errorReply{"no such forwarded INVITE"})
			return
		}
		t.cancelled()
		w.WriteHeader(http.StatusNoContent)
	})
}

// forwardedInvite reads a ForwardedInvite: a complete new INVITE, its
// source and transport those the cloud saw.
func forwardedInvite(fi ForwardedInvite) (*sip.Request, error) {
	if fi.ID == "" || len(fi.ID) > 64 || len(fi.SIP) > maxSIP {
		return nil, fmt.Errorf("handoff: forwarded INVITE without an id or too long")
	}
	if _, err := netip.ParseAddrPort(fi.Source); err != nil {
		return nil, fmt.Errorf("handoff: forwarded INVITE source %q: %w", fi.Source, err)
	}
	msg, err := sip.ParseMessage([]byte(fi.SIP))
	if err != nil {
		return nil, fmt.Errorf("handoff: forwarded INVITE: %w", err)
	}
	req, ok := msg.(*sip.Request)
	if !ok || req.Method != sip.INVITE || req.CallID() == nil || req.CSeq() == nil || req.From() == nil ||
		req.To() == nil || req.Via() == nil || sipmsg.Tag(req.To().Params) != "" {
		return nil, fmt.Errorf("handoff: not a complete new INVITE")
	}
	if code, reason := sipmsg.Validate(req); code != 0 {
		return nil, fmt.Errorf("handoff: forwarded INVITE: %d %s", code, reason)
	}
	switch fi.Transport {
	case "UDP", "TCP", "TLS", "udp", "tcp", "tls":
	default:
		return nil, fmt.Errorf("handoff: forwarded INVITE transport %q", fi.Transport)
	}
	req.SetSource(fi.Source)
	req.SetTransport(fi.Transport)
	return req, nil
}

// OpenCloudLeg opens a cloud relay for the caller's leg of a call that came
// in through the cloud (call.CloudLegOpener), kept like a handed-off leg's:
// a hand-back frees it, as does the end of the call.
func (b *Board) OpenCloudLeg(ctx context.Context, callID string, board, party netip.AddrPort) (call.Target, error) {
	b.mu.Lock()
	cl := b.cloud
	b.mu.Unlock()
	if cl == nil {
		if b.cfg.Cloud == nil {
			return call.Target{}, ErrNoCloud
		}
		var err error
		if cl, err = b.cfg.Cloud(); err != nil {
			return call.Target{}, err
		}
	}
	req := RelayRequest{CallID: callID, Board: board.String()}
	if party.IsValid() {
		req.Party = party.String()
	}
	g, err := cl.Allocate(ctx, req)
	if err != nil {
		return call.Target{}, err
	}
	t, err := target(g)
	if err != nil {
		_ = cl.Free(ctx, g.ID)
		return call.Target{}, err
	}
	k := legKey(call.LegRef{CallID: callID, Leg: "a"})
	b.mu.Lock()
	if b.cloud == nil {
		b.cloud = cl
	}
	b.moved[k] = g.ID
	b.early[k] = time.Now()
	b.mu.Unlock()
	return t, nil
}

// pushTx is the server transaction of a forwarded new INVITE on the board:
// its responses go back to the cloud in order (one sender), a CANCEL the
// cloud forwards reaches the call's OnCancel.
type pushTx struct {
	b    *Board
	id   string
	push func(context.Context, PushedResponse) error
	gone func()

	q         chan *sip.Response
	done      chan struct{}
	doneOnce  sync.Once
	finalOnce sync.Once

	mu       sync.Mutex
	onCancel sip.FnTxCancel
	isCancel bool
}

// pushLinger is how long a pushTx lives after its final response: 2xx
// retransmissions (Resend) still go through it.
var pushLinger = 32 * time.Second // 64*T1

func newPushTx(b *Board, id string, push func(context.Context, PushedResponse) error, gone func()) *pushTx {
	t := &pushTx{b: b, id: id, push: push, gone: gone, q: make(chan *sip.Response, 32), done: make(chan struct{})}
	go t.send()
	time.AfterFunc(pendingMax, t.Terminate)
	return t
}

// send pushes the queued responses in order until the transaction ends.
func (t *pushTx) send() {
	defer t.gone()
	for {
		select {
		case res := <-t.q:
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := t.push(ctx, PushedResponse{ID: t.id, SIP: res.String()})
			cancel()
			if err != nil {
				t.b.log.Info("pushing a response to the cloud failed", "code", res.StatusCode, "err", err)
			}
		case <-t.done:
			return
		}
	}
}

// Respond queues res for the cloud; a final response ends the transaction
// after pushLinger (a 2xx may be resent until then).
func (t *pushTx) Respond(res *sip.Response) error {
	select {
	case t.q <- res:
	case <-t.done:
		return fmt.Errorf("handoff: forwarded INVITE %s ended", t.id)
	default:
		return fmt.Errorf("handoff: response queue of forwarded INVITE %s full", t.id)
	}
	if !res.IsProvisional() {
		t.finalOnce.Do(func() { time.AfterFunc(pushLinger, t.Terminate) })
	}
	return nil
}

// Resend is a retransmission of our 2xx (call.CloudLegOpener).
func (t *pushTx) Resend(res *sip.Response) { _ = t.Respond(res) }

// OpenCloudLeg is the board's (call.CloudLegOpener).
func (t *pushTx) OpenCloudLeg(ctx context.Context, callID string, board, party netip.AddrPort) (call.Target, error) {
	return t.b.OpenCloudLeg(ctx, callID, board, party)
}

// cancelled runs the call's OnCancel (once).
func (t *pushTx) cancelled() {
	t.mu.Lock()
	f := t.onCancel
	already := t.isCancel
	t.isCancel = true
	t.mu.Unlock()
	if f != nil && !already {
		f(nil)
	}
}

func (t *pushTx) OnCancel(f sip.FnTxCancel) bool {
	t.mu.Lock()
	t.onCancel = f
	was := t.isCancel
	t.mu.Unlock()
	if was {
		f(nil)
	}
	return true
}

func (t *pushTx) Acks() <-chan *sip.Request          { return nil }
func (t *pushTx) OnTerminate(sip.FnTxTerminate) bool { return false }
func (t *pushTx) Done() <-chan struct{}              { return t.done }
func (t *pushTx) Err() error                         { return nil }

// Terminate ends the transaction once its queued responses are pushed
// (a challenge's 407 is queued just before HandleInvite terminates).
func (t *pushTx) Terminate() {
	t.doneOnce.Do(func() {
		go func() {
			// Let the sender drain what is queued, bounded.
			deadline := time.Now().Add(10 * time.Second)
			for len(t.q) > 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			close(t.done)
		}()
	})
}

var _ call.CloudLegOpener = (*pushTx)(nil)
