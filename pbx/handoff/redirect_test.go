package handoff

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"hushbox/pbx/call"
	"hushbox/pbx/peer"
	"hushbox/pbx/sipmsg"
)

// newInvite is a caller's new INVITE from src to number, as the cloud or
// the board gets it; toTag makes it in-dialog.
func newInvite(t testing.TB, method, number, src, toTag string) *sip.Request {
	t.Helper()
	to := "To: <sip:" + number + "@board>"
	if toTag != "" {
		to += ";tag=" + toTag
	}
	raw := string(method) + " sip:" + number + "@198.51.100.1:5060;hbr=tok1 SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + src + ";branch=z9hG4bKinv1\r\n" +
		"From: <sip:101@board>;tag=caller\r\n" + to + "\r\n" +
		"Call-ID: new-1\r\nCSeq: 1 " + method + "\r\nMax-Forwards: 70\r\n" +
		"Contact: <sip:101@" + src + ">\r\nContent-Length: 0\r\n\r\n"
	r := parseReq(t, raw)
	r.SetSource(src)
	return r
}

func TestShouldRedirect(t *testing.T) {
	isWAN := DefaultIsWAN
	for _, tc := range []struct {
		name        string
		req         *sip.Request
		where       string
		haveContact bool
		want        bool
	}{
		{"new WAN INVITE while handed off", newInvite(t, "INVITE", "102", "203.0.113.9:5060", ""), ToCloud, true, true},
		{"LAN party", newInvite(t, "INVITE", "102", "192.168.1.20:5060", ""), ToCloud, true, false},
		{"loopback party", newInvite(t, "INVITE", "102", "127.0.0.1:5060", ""), ToCloud, true, false},
		{"not handed off", newInvite(t, "INVITE", "102", "203.0.113.9:5060", ""), ToBoard, true, false},
		{"cloud takes no redirects", newInvite(t, "INVITE", "102", "203.0.113.9:5060", ""), ToCloud, false, false},
		{"in-dialog re-INVITE", newInvite(t, "INVITE", "102", "203.0.113.9:5060", "ours"), ToCloud, true, false},
		{"BYE", newInvite(t, "BYE", "102", "203.0.113.9:5060", "ours"), ToCloud, true, false},
		{"OPTIONS", newInvite(t, "OPTIONS", "102", "203.0.113.9:5060", ""), ToCloud, true, false},
		{"REGISTER", newInvite(t, "REGISTER", "101", "203.0.113.9:5060", ""), ToCloud, true, false},
		{"no request", nil, ToCloud, true, false},
	} {
		if got := ShouldRedirect(tc.req, tc.where, tc.haveContact, isWAN); got != tc.want {
			t.Errorf("%s: ShouldRedirect = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// redirectCloud is a fakeCloud that takes redirected callers.
type redirectCloud struct {
	*fakeCloud
	mu  sync.Mutex
	ons []bool
}

func (c *redirectCloud) Redirect(_ context.Context, on bool) (sip.Uri, error) {
	c.mu.Lock()
	c.ons = append(c.ons, on)
	c.mu.Unlock()
	var u sip.Uri
	err := sip.ParseUri("sip:198.51.100.1:5060;hbr=tok1", &u)
	return u, err
}

// stateTx is a server transaction that keeps its responses and whether it
// was terminated (a stateless answer).
type stateTx struct {
	replyTx
	terminated bool
}

func (t *stateTx) Terminate() { t.terminated = true }

func TestBoardRedirectsWhileHandedOff(t *testing.T) {
	ctx := context.Background()
	rc := &redirectCloud{fakeCloud: &fakeCloud{live: map[string]RelayRequest{}}}
	b := NewBoard(BoardConfig{Calls: &fakeCalls{}, Cloud: func() (Cloud, error) { return rc, nil }})
	r := NewRedirector(b, sipmsg.Signer{Name: "hushbox"})
	wan := func() *sip.Request { return newInvite(t, "INVITE", "102", "203.0.113.9:5060", "") }
	if r.Intercept(wan(), &stateTx{}) {
		t.Fatal("redirected before any hand-off")
	}
	if _, err := b.Move(ctx, ToCloud, TriggerAPI); err != nil {
		t.Fatal(err)
	}
	tx := &stateTx{}
	if !r.Intercept(wan(), tx) {
		t.Fatal("a new WAN INVITE was not redirected while handed off")
	}
	if len(tx.got) != 1 || tx.got[0].StatusCode != 302 || !tx.terminated {
		t.Fatalf("answer %v (terminated %v), want one stateless 302", tx.got, tx.terminated)
	}
	ct := tx.got[0].Contact()
	if ct == nil || ct.Address.User != "102" || ct.Address.Host != "198.51.100.1" || ct.Address.Port != 5060 {
		t.Fatalf("302 Contact %v, want sip:102@198.51.100.1:5060", ct)
	}
	if tok, _ := ct.Address.UriParams.Get(RedirectParam); tok != "tok1" {
		t.Errorf("302 Contact %v without the cloud's token", ct)
	}
	for _, h := range []string{"Expires", "Retry-After"} {
		if tx.got[0].GetHeader(h) != nil {
			t.Errorf("302 carries %s", h)
		}
	}
	if r.Intercept(newInvite(t, "INVITE", "102", "192.168.1.20:5060", ""), &stateTx{}) {
		t.Error("a LAN party's INVITE was redirected")
	}
	if r.Intercept(newInvite(t, "INVITE", "102", "203.0.113.9:5060", "ours"), &stateTx{}) {
		t.Error("an in-dialog re-INVITE was redirected")
	}
	// A retry batch while there asks the cloud nothing more.
	if _, err := b.Move(ctx, ToCloud, TriggerRetry); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Move(ctx, ToBoard, TriggerAPI); err != nil {
		t.Fatal(err)
	}
	if r.Intercept(wan(), &stateTx{}) {
		t.Fatal("redirected after the hand-back")
	}
	rc.mu.Lock()
	ons := rc.ons
	rc.mu.Unlock()
	if len(ons) != 2 || !ons[0] || ons[1] {
		t.Fatalf("the cloud was told %v, want [true false]", ons)
	}

	// A cloud that takes no redirected callers: the board serves them.
	plain := &fakeCloud{live: map[string]RelayRequest{}}
	b2 := NewBoard(BoardConfig{Calls: &fakeCalls{}, Cloud: func() (Cloud, error) { return plain, nil }})
	if _, err := b2.Move(ctx, ToCloud, TriggerAPI); err != nil {
		t.Fatal(err)
	}
	if NewRedirector(b2, sipmsg.Signer{}).Intercept(wan(), &stateTx{}) {
		t.Fatal("redirected to a cloud that takes no redirected callers")
	}
}

func TestBoardsRedirecting(t *testing.T) {
	var br boardsRedirecting
	now := time.Now()
	if br.find("", now) != "" {
		t.Fatal("a board found with none redirecting")
	}
	t1 := br.set("board1", true, now)
	if t1 == "" || br.set("board1", true, now) != t1 {
		t.Fatal("a board's token changed while it redirects")
	}
	if got := br.find(t1, now); got != "board1" {
		t.Fatalf("find(token) = %q", got)
	}
	if got := br.find("", now); got != "board1" {
		t.Fatalf("find without a token, one board = %q", got)
	}
	if got := br.find("forged", now); got != "" {
		t.Fatalf("an unknown token found %q", got)
	}
	t2 := br.set("board2", true, now)
	if got := br.find("", now); got != "" {
		t.Fatalf("find without a token, two boards = %q, want none", got)
	}
	if br.find(t2, now) != "board2" {
		t.Fatal("board2 not found by its token")
	}
	// Off: still taken during the grace, not after.
	br.set("board1", false, now)
	if br.find(t1, now.Add(RedirectGrace/2)) != "board1" {
		t.Error("board1 forgotten within its grace")
	}
	if br.find(t1, now.Add(RedirectGrace+time.Second)) != "" {
		t.Error("board1 still taken after its grace")
	}
	if br.set("board3", false, now) != "" {
		t.Error("a board that never redirected got a token when turned off")
	}
}

// posted is what the cloud's Inviter posted to a board.
type posted struct {
	mu   sync.Mutex
	all  []any
	path []string
	to   []string
	fail bool
}

func (p *posted) post(_ context.Context, name, path string, in any) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail {
		return peer.ErrNoPeer
	}
	p.all, p.path, p.to = append(p.all, in), append(p.path, path), append(p.to, name)
	return nil
}

func (p *posted) count() int { p.mu.Lock(); defer p.mu.Unlock(); return len(p.all) }

// cancelTx is a replyTx whose OnCancel callback the test can fire.
type cancelTx struct {
	replyTx
	mu       sync.Mutex
	onCancel sip.FnTxCancel
	done     chan struct{}
}

func newCancelTx() *cancelTx { return &cancelTx{done: make(chan struct{})} }

func (t *cancelTx) OnCancel(f sip.FnTxCancel) bool {
	t.mu.Lock()
	t.onCancel = f
	t.mu.Unlock()
	return true
}
func (t *cancelTx) Done() <-chan struct{} { return t.done }
func (t *cancelTx) responses() []*sip.Response {
	t.replyTx.mu.Lock()
	defer t.replyTx.mu.Unlock()
	return append([]*sip.Response(nil), t.got...)
}

// intercept runs in.Intercept as the SIP handler would and reports, once
// it returned, whether it took the request.
func intercept(in *Inviter, req *sip.Request, tx sip.ServerTransaction) <-chan bool {
	out := make(chan bool, 1)
	go func() { out <- in.Intercept(req, tx) }()
	return out
}

// waitFor waits (bounded) until cond holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5 s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestInviterForwardsNewInvites(t *testing.T) {
	p := &posted{}
	in := NewInviter(p.post, nil, sipmsg.Signer{Name: "hushbox"}, "sip:hushbox@198.51.100.1:5060", nil)
	req := newInvite(t, "INVITE", "102", "203.0.113.9:5060", "")
	if in.Intercept(req, newCancelTx()) {
		t.Fatal("a new INVITE taken with no board redirecting")
	}
	tok := in.boards.set("board1", true, time.Now())
	req.Recipient.UriParams.Add(RedirectParam, tok)
	tx := newCancelTx()
	took := intercept(in, req, tx)
	waitFor(t, "the INVITE forwarded", func() bool { return p.count() == 1 })
	if got := tx.responses(); len(got) != 1 || got[0].StatusCode != 100 {
		t.Fatalf("the caller got %v, want 100 Trying at once", got)
	}
	if p.path[0] != InvitePath || p.to[0] != "board1" {
		t.Fatalf("posted to %v %v", p.path, p.to)
	}
	fi := p.all[0].(ForwardedInvite)
	if fi.Source != "203.0.113.9:5060" || fi.Transport != "UDP" || !strings.Contains(fi.SIP, "Call-ID: new-1") {
		t.Fatalf("forwarded %+v", fi)
	}
	// The board's responses reach the caller; only from that board.
	ringing := sip.NewResponseFromRequest(req, 180, "Ringing", nil)
	if err := in.respond("board2", fi.ID, ringing); err == nil {
		t.Error("another board answered the INVITE")
	}
	if err := in.respond("board1", "nope", ringing); err == nil {
		t.Error("an unknown INVITE answered")
	}
	if err := in.respond("board1", fi.ID, ringing); err != nil {
		t.Fatal(err)
	}
	select {
	case <-took:
		t.Fatal("the SIP handler returned before the final response (sipgo would end the transaction)")
	default:
	}
	if err := in.respond("board1", fi.ID, sip.NewResponseFromRequest(req, 407, "Proxy Authentication Required", nil)); err != nil {
		t.Fatal(err)
	}
	if !<-took {
		t.Fatal("a redirected caller's INVITE was not taken")
	}
	if got := tx.responses(); len(got) != 3 || got[1].StatusCode != 180 || got[2].StatusCode != 407 {
		t.Fatalf("the caller got %v, want 100 180 407", got)
	}
	if err := in.respond("board1", fi.ID, ringing); err == nil {
		t.Error("a response after the final one was taken")
	}
	// The caller cancels a second INVITE: the board is told.
	tx2 := newCancelTx()
	took = intercept(in, req, tx2)
	waitFor(t, "the second INVITE forwarded", func() bool { return p.count() == 2 })
	tx2.mu.Lock()
	onCancel := tx2.onCancel
	tx2.mu.Unlock()
	if onCancel == nil {
		t.Fatal("no OnCancel")
	}
	onCancel(nil)
	<-took
	if p.count() != 3 || p.path[2] != CancelPath || p.all[2].(ForwardedCancel).ID != p.all[1].(ForwardedInvite).ID {
		t.Fatalf("after the CANCEL, posted %v %v", p.path, p.all)
	}
	// A 2xx ends the wait too; the transaction ending does as well.
	tx3 := newCancelTx()
	took = intercept(in, req, tx3)
	waitFor(t, "the third INVITE forwarded", func() bool { return p.count() == 4 })
	if err := in.respond("board1", p.all[3].(ForwardedInvite).ID, sip.NewResponseFromRequest(req, 200, "OK", nil)); err != nil {
		t.Fatal(err)
	}
	<-took
	tx4 := newCancelTx()
	took = intercept(in, req, tx4)
	waitFor(t, "the fourth INVITE forwarded", func() bool { return p.count() == 5 })
	close(tx4.done)
	<-took
	// In-dialog requests are the Forwarder's business.
	if in.Intercept(newInvite(t, "INVITE", "102", "203.0.113.9:5060", "ours"), newCancelTx()) {
		t.Error("an in-dialog INVITE taken")
	}
	// The board unreachable: 503, not silence.
	p.mu.Lock()
	p.fail = true
	p.mu.Unlock()
	tx5 := newCancelTx()
	if !in.Intercept(req, tx5) {
		t.Fatal("not taken with the board down")
	}
	if got := tx5.responses(); len(got) != 2 || got[1].StatusCode != 503 {
		t.Fatalf("board down: the caller got %v, want 100 then 503", got)
	}
}

// fakeLink is the peer link as the board pushes responses on it.
type fakeLink struct {
	mu     sync.Mutex
	pushed []PushedResponse
	got    chan struct{}
}

func (l *fakeLink) Peer(name string) (peer.Peer, bool)    { return peer.Peer{Name: name}, true }
func (l *fakeLink) PeerWithRole(string) (peer.Peer, bool) { return peer.Peer{Name: "cloud"}, true }
func (l *fakeLink) Request(_ context.Context, _ peer.Peer, _, path string, in, _ any) error {
	if path == ResponsePath {
		l.mu.Lock()
		l.pushed = append(l.pushed, in.(PushedResponse))
		l.mu.Unlock()
		l.got <- struct{}{}
	}
	return nil
}

// fakeInviting answers a forwarded INVITE 180 then 200, and records it.
type fakeInviting struct {
	req       chan *sip.Request
	cancelled chan struct{}
	opener    bool // the transaction could open the caller's leg on the cloud
}

func (f *fakeInviting) HandleInvite(req *sip.Request, tx sip.ServerTransaction) {
	tx.OnCancel(func(*sip.Request) { close(f.cancelled) })
	_, f.opener = tx.(call.CloudLegOpener)
	f.req <- req
	_ = tx.Respond(sip.NewResponseFromRequest(req, 180, "Ringing", nil))
	_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
}

func TestServeInvites(t *testing.T) {
	rt := fakeRouter{http.NewServeMux()}
	link := &fakeLink{got: make(chan struct{}, 8)}
	calls := &fakeInviting{req: make(chan *sip.Request, 1), cancelled: make(chan struct{})}
	b := NewBoard(BoardConfig{Calls: &fakeCalls{}})
	b.ServeInvites(rt, calls, link)
	post := func(path string, v any) *httptest.ResponseRecorder {
		body, _ := json.Marshal(v)
		w := httptest.NewRecorder()
		rt.mux.ServeHTTP(w, httptest.NewRequest("POST", path, bytes.NewReader(body)))
		return w
	}
	raw := newInvite(t, "INVITE", "102", "203.0.113.9:5060", "").String()
	for _, tc := range []struct {
		name string
		fi   ForwardedInvite
	}{
		{"no id", ForwardedInvite{Source: "203.0.113.9:5060", Transport: "UDP", SIP: raw}},
		{"bad source", ForwardedInvite{ID: "x", Source: "nowhere", Transport: "UDP", SIP: raw}},
		{"bad transport", ForwardedInvite{ID: "x", Source: "203.0.113.9:5060", Transport: "SCTP", SIP: raw}},
		{"not SIP", ForwardedInvite{ID: "x", Source: "203.0.113.9:5060", Transport: "UDP", SIP: "hello"}},
		{"in-dialog", ForwardedInvite{ID: "x", Source: "203.0.113.9:5060", Transport: "UDP",
			SIP: newInvite(t, "INVITE", "102", "203.0.113.9:5060", "ours").String()}},
		{"a BYE", ForwardedInvite{ID: "x", Source: "203.0.113.9:5060", Transport: "UDP",
			SIP: newInvite(t, "BYE", "102", "203.0.113.9:5060", "").String()}},
	} {
		if w := post(InvitePath, tc.fi); w.Code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", tc.name, w.Code)
		}
	}
	if w := post(InvitePath, ForwardedInvite{ID: "inv1", Source: "203.0.113.77:5099", Transport: "UDP", SIP: raw}); w.Code != http.StatusAccepted {
		t.Fatalf("forwarded INVITE: %d %s", w.Code, w.Body.String())
	}
	req := <-calls.req
	if !calls.opener {
		t.Error("the transaction of a forwarded INVITE opens no cloud leg")
	}
	if req.Source() != "203.0.113.77:5099" || req.Transport() != "UDP" {
		t.Errorf("the call manager sees the caller at %s over %s, want the source the cloud saw", req.Source(), req.Transport())
	}
	<-link.got
	<-link.got
	link.mu.Lock()
	pushed := link.pushed
	link.mu.Unlock()
	if len(pushed) != 2 || pushed[0].ID != "inv1" || !strings.HasPrefix(pushed[0].SIP, "SIP/2.0 180") || !strings.HasPrefix(pushed[1].SIP, "SIP/2.0 200") {
		t.Fatalf("pushed %+v, want 180 then 200 of inv1", pushed)
	}
	if w := post(CancelPath, ForwardedCancel{ID: "inv1"}); w.Code != http.StatusNoContent {
		t.Fatalf("cancel: %d", w.Code)
	}
	<-calls.cancelled
	if w := post(CancelPath, ForwardedCancel{ID: "unknown"}); w.Code != http.StatusNotFound {
		t.Errorf("cancel of an unknown INVITE: %d, want 404", w.Code)
	}
}

// FuzzForwardedInvite: whatever the cloud sends, reading it does not panic
// and what is accepted is a complete new INVITE.
func FuzzForwardedInvite(f *testing.F) {
	f.Add("inv1", "203.0.113.9:5060", "UDP", newInvite(f, "INVITE", "102", "203.0.113.9:5060", "").String())
	f.Add("x", "1.2.3.4:5", "TLS", "INVITE sip:x SIP/2.0\r\nCall-ID: a\r\n\r\n")
	f.Fuzz(func(t *testing.T, id, src, tp, raw string) {
		req, err := forwardedInvite(ForwardedInvite{ID: id, Source: src, Transport: tp, SIP: raw})
		if err != nil {
			return
		}
		if req.Method != sip.INVITE || sipmsg.Tag(req.To().Params) != "" || req.Source() != src {
			t.Fatalf("accepted %q from %q", raw, src)
		}
	})
}
