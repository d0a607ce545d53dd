package handoff

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"hushbox/pbx/peer"
	"hushbox/pbx/sipmsg"
)

// RedirectPath: the board tells the cloud it starts (or stops) sending new
// WAN callers there with a 302; the cloud answers the Contact to give them.
const RedirectPath = "/peer/handoff/redirect"

// RedirectParam is the URI parameter of the 302's Contact that names the
// board on the cloud (a token the cloud made; not a secret: it only says
// which of the cloud's boards the caller was sent from).
const RedirectParam = "hbr"

// RedirectGrace is how long the cloud still forwards new INVITEs of a
// board after it stopped redirecting: a caller sent there just before the
// hand-back re-sends its INVITE with credentials within a transaction
// lifetime (64*T1).
const RedirectGrace = 32 * time.Second

// RedirectOn is the board's RedirectPath request.
type RedirectOn struct {
	On bool `json:"on"`
}

// RedirectReply is the cloud's answer: the SIP URI (user part left out)
// the board's 302 Contact gives, its RedirectParam included.
type RedirectReply struct {
	Contact string `json:"contact"`
}

// RedirectCloud is a Cloud that takes redirected callers (PeerCloud does);
// an older cloud that does not is never redirected to.
type RedirectCloud interface {
	Cloud
	Redirect(ctx context.Context, on bool) (sip.Uri, error)
}

func (c peerCloud) Redirect(ctx context.Context, on bool) (sip.Uri, error) {
	var r RedirectReply
	if err := c.pl.Request(ctx, c.p, http.MethodPost, RedirectPath, RedirectOn{On: on}, &r); err != nil {
		return sip.Uri{}, err
	}
	if !on {
		return sip.Uri{}, nil
	}
	var u sip.Uri
	if err := sip.ParseUri(r.Contact, &u); err != nil || u.Host == "" {
		return sip.Uri{}, fmt.Errorf("handoff: the cloud's redirect contact %q: %v", r.Contact, err)
	}
	return u, nil
}

// ShouldRedirect is the board's redirect decision for one request: a new
// dialog-creating INVITE (no To tag) from a WAN party (isWAN of its
// signalling source) while the board is handed off (where == ToCloud) and
// the cloud takes redirected callers (haveContact). In-dialog requests,
// other methods and LAN parties are served by the board as ever.
func ShouldRedirect(req *sip.Request, where string, haveContact bool, isWAN func(string) bool) bool {
	if req == nil || req.Method != sip.INVITE || where != ToCloud || !haveContact {
		return false
	}
	if to := req.To(); to == nil || sipmsg.Tag(to.Params) != "" {
		return false
	}
	return isWAN != nil && isWAN(req.Source())
}

// setRedirect turns the board's redirects on (towards the cloud cl) or
// off; the caller holds b.run. Failures are logged: without a redirect
// new WAN calls are served by the board as before.
func (b *Board) setRedirect(ctx context.Context, cl Cloud, on bool) {
	rc, ok := cl.(RedirectCloud)
	if !ok {
		return
	}
	b.mu.Lock()
	had := b.redirect != nil
	if !on {
		b.redirect = nil // no more 302s from now on
	}
	b.mu.Unlock()
	if on == had {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	u, err := rc.Redirect(rctx, on)
	if err != nil {
		b.log.Warn("cloud redirect", "on", on, "err", err)
		return
	}
	if on {
		b.mu.Lock()
		b.redirect = &u
		b.mu.Unlock()
	}
	b.log.Info("new WAN calls redirected to the cloud", "on", on, "contact", u.String())
}

// RedirectContact is the Contact of a 302 for req, and whether req is to
// be redirected (ShouldRedirect with the board's state).
func (b *Board) RedirectContact(req *sip.Request) (*sip.ContactHeader, bool) {
	b.mu.Lock()
	where, u := b.where, b.redirect
	b.mu.Unlock()
	if !ShouldRedirect(req, where, u != nil, b.cfg.IsWAN) {
		return nil, false
	}
	to := *u.Clone()
	to.User = req.Recipient.User
	return &sip.ContactHeader{Address: to, Params: sip.NewParams()}, true
}

// Redirector answers new WAN INVITEs with a 302 to the cloud while the
// board is handed off; it runs before the B2BUA, after the guard.
type Redirector struct {
	board  *Board
	signer sipmsg.Signer
}

// NewRedirector makes the board's redirect.
func NewRedirector(b *Board, signer sipmsg.Signer) *Redirector {
	return &Redirector{board: b, signer: signer}
}

// Intercept answers req with a 302 when the board redirects it, and
// reports whether it did. Stateless, like the digest challenge: no call
// state, no transaction kept (a retransmitted INVITE gets another 302).
// It comes before authentication: the 302 tells nothing but the cloud's
// address, which the hand-off re-INVITEs give every handed-off party.
func (r *Redirector) Intercept(req *sip.Request, tx sip.ServerTransaction) bool {
	if r == nil || r.board == nil {
		return false
	}
	ct, ok := r.board.RedirectContact(req)
	if !ok {
		return false
	}
	res := r.signer.Response(req, 302, "Moved Temporarily", nil)
	res.AppendHeader(ct)
	_ = tx.Respond(res)
	if st, ok := tx.(interface{ Terminate() }); ok {
		st.Terminate()
	}
	r.board.log.Debug("new WAN call redirected to the cloud", "src", req.Source(), "to", ct.Address.String())
	return true
}

// redirecting is a board whose new WAN callers the cloud takes.
type redirecting struct {
	board string
	until time.Time // zero: on; else the end of its grace
}

// boardsRedirecting is the cloud's list of redirecting boards, by token.
type boardsRedirecting struct {
	mu      sync.Mutex
	byToken map[string]*redirecting
}

// set turns board's redirect on or off and returns its token.
func (br *boardsRedirecting) set(board string, on bool, now time.Time) string {
	br.mu.Lock()
	defer br.mu.Unlock()
	if br.byToken == nil {
		br.byToken = map[string]*redirecting{}
	}
	tok := ""
	for t, r := range br.byToken {
		if r.board == board {
			tok = t
		}
		if !r.until.IsZero() && now.After(r.until) {
			delete(br.byToken, t)
		}
	}
	if tok == "" || br.byToken[tok] == nil {
		if !on {
			return ""
		}
		var b [8]byte
		_, _ = rand.Read(b[:])
		tok = hex.EncodeToString(b[:])
	}
	r := &redirecting{board: board}
	if !on {
		r.until = now.Add(RedirectGrace)
	}
	br.byToken[tok] = r
	return tok
}

// find is the board a new INVITE to the cloud belongs to: the one its
// token names, else the only board redirecting ("" for none).
func (br *boardsRedirecting) find(token string, now time.Time) string {
	br.mu.Lock()
	defer br.mu.Unlock()
	live := func(r *redirecting) bool { return r != nil && (r.until.IsZero() || now.Before(r.until)) }
	if token != "" {
		if r := br.byToken[token]; live(r) {
			return r.board
		}
		return ""
	}
	var boards []string
	for _, r := range br.byToken {
		if live(r) {
			boards = append(boards, r.board)
		}
	}
	sort.Strings(boards)
	if len(boards) == 1 {
		return boards[0]
	}
	return ""
}

// serveRedirect adds the cloud's RedirectPath route: sipURI is the cloud's
// SIP URI.
func (in *Inviter) serveRedirect(rt Router) {
	rt.Route("POST "+RedirectPath, func(w http.ResponseWriter, req *http.Request, from peer.Peer) {
		var on RedirectOn
		if err := json.NewDecoder(io.LimitReader(req.Body, 1<<10)).Decode(&on); err != nil && !errors.Is(err, io.EOF) {
			writeJSON(w, http.StatusBadRequest, errorReply{"redirect: " + err.Error()})
			return
		}
		tok := in.boards.set(from.Name, on.On, time.Now())
		var u sip.Uri
		if err := sip.ParseUri(in.sip, &u); err != nil {
			writeJSON(w, http.StatusInternalServerError, errorReply{"the cloud's SIP URI: " + err.Error()})
			return
		}
		u.User = ""
		if u.UriParams == nil {
			u.UriParams = sip.NewParams()
		}
		if tok != "" {
			u.UriParams.Add(RedirectParam, tok)
		}
		in.log.Info("board redirects new WAN calls here", "board", from.Name, "on", on.On)
		writeJSON(w, http.StatusOK, RedirectReply{Contact: u.String()})
	})
}
