package handoff

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/emiago/sipgo/sip"

	"hushbox/pbx/peer"
	"hushbox/pbx/sipmsg"
)

const byeFromParty = "BYE sip:hushbox@198.51.100.1:5060 SIP/2.0\r\n" +
	"Via: SIP/2.0/UDP 203.0.113.9:5060;branch=z9hG4bKabc\r\n" +
	"From: <sip:101@board>;tag=party\r\nTo: <sip:102@board>;tag=ours\r\n" +
	"Call-ID: dialog-1\r\nCSeq: 3 BYE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"

// replyTx is a server transaction that keeps what it is asked to send.
type replyTx struct {
	sip.ServerTransaction
	mu  sync.Mutex
	got []*sip.Response
}

func (t *replyTx) Respond(r *sip.Response) error {
	t.mu.Lock()
	t.got = append(t.got, r)
	t.mu.Unlock()
	return nil
}

func parseReq(t testing.TB, raw string) *sip.Request {
	t.Helper()
	m, err := sip.ParseMessage([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	return m.(*sip.Request)
}

func TestForwarderForwardsHandedOffDialogsOnly(t *testing.T) {
	rs := NewRelays(newTestRelay(t), netip.MustParseAddr("127.0.0.1"), "sip:hushbox@127.0.0.1:5060", nil)
	defer rs.Close()
	if _, err := rs.Allocate("board1", RelayRequest{CallID: "dialog-1", Board: "127.0.0.1:4000"}); err != nil {
		t.Fatal(err)
	}
	var sentTo string
	var sent []byte
	fail := false
	send := func(_ context.Context, owner string, raw []byte) ([]byte, error) {
		if fail {
			return nil, errors.New("peer link down")
		}
		sentTo, sent = owner, raw
		res := sip.NewResponseFromRequest(parseReq(t, string(raw)), 200, "OK", nil)
		return []byte(res.String()), nil
	}
	f := NewForwarder(rs, send, sipmsg.Signer{Name: "hushbox"}, nil)

	tx := &replyTx{}
	if !f.Intercept(parseReq(t, byeFromParty), tx) {
		t.Fatal("a BYE of a handed-off dialog was not forwarded")
	}
	if sentTo != "board1" || !bytes.Contains(sent, []byte("Call-ID: dialog-1")) {
		t.Fatalf("forwarded to %q: %q", sentTo, sent)
	}
	if len(tx.got) != 1 || tx.got[0].StatusCode != 200 || tx.got[0].CallID().Value() != "dialog-1" {
		t.Fatalf("the party got %v, want the board's 200", tx.got)
	}
	// Another dialog is the cloud's own business.
	other := strings.Replace(byeFromParty, "dialog-1", "dialog-2", 1)
	if f.Intercept(parseReq(t, other), &replyTx{}) {
		t.Fatal("a dialog the cloud does not relay was forwarded")
	}
	// The board unreachable: the party gets 503, not silence.
	fail = true
	tx = &replyTx{}
	f.Intercept(parseReq(t, byeFromParty), tx)
	if len(tx.got) != 1 || tx.got[0].StatusCode != 503 {
		t.Fatalf("board down: the party got %v, want 503", tx.got)
	}
}

// fakeRouter is the peer endpoint's router with a fixed peer.
type fakeRouter struct{ mux *http.ServeMux }

func (r fakeRouter) Route(pattern string, h peer.PeerHandler) {
	r.mux.HandleFunc(pattern, func(w http.ResponseWriter, req *http.Request) { h(w, req, peer.Peer{Name: "cloud"}) })
}

type fakeForwarded struct{ got []string }

func (f *fakeForwarded) HandleForwarded(_ context.Context, req *sip.Request) *sip.Response {
	f.got = append(f.got, req.Method.String())
	if req.IsAck() {
		return nil
	}
	return sip.NewResponseFromRequest(req, 200, "OK", nil)
}

func TestServeSIP(t *testing.T) {
	rt := fakeRouter{http.NewServeMux()}
	calls := &fakeForwarded{}
	ServeSIP(rt, calls)
	post := func(body string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		rt.mux.ServeHTTP(w, httptest.NewRequest("POST", SIPPath, strings.NewReader(body)))
		return w
	}
	for _, tc := range []struct {
		name, body string
		code       int
		want       string
	}{
		{"BYE", byeFromParty, 200, "SIP/2.0 200 OK"},
		{"ACK", strings.NewReplacer("BYE sip", "ACK sip", "3 BYE", "3 ACK").Replace(byeFromParty), 204, ""},
		{"garbage", "hello", 400, ""},
		{"a response", "SIP/2.0 200 OK\r\nCall-ID: x\r\n\r\n", 400, ""},
		{"too long", strings.Repeat("x", maxSIP+10), 400, ""},
	} {
		w := post(tc.body)
		if w.Code != tc.code || !strings.Contains(w.Body.String(), tc.want) {
			t.Errorf("%s: %d %q, want %d with %q", tc.name, w.Code, w.Body.String(), tc.code, tc.want)
		}
	}
	if strings.Join(calls.got, " ") != "BYE ACK" {
		t.Fatalf("the B2BUA got %v", calls.got)
	}
}

// FuzzServeSIP: whatever a peer posts, the board answers without panicking.
func FuzzServeSIP(f *testing.F) {
	f.Add([]byte(byeFromParty))
	f.Add([]byte("INVITE sip:x SIP/2.0\r\nCall-ID: a\r\n\r\n"))
	rt := fakeRouter{http.NewServeMux()}
	ServeSIP(rt, &fakeForwarded{})
	f.Fuzz(func(t *testing.T, body []byte) {
		w := httptest.NewRecorder()
		rt.mux.ServeHTTP(w, httptest.NewRequest("POST", SIPPath, bytes.NewReader(body)))
	})
}
