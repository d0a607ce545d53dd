package endpoint

import (
	"context"
	"crypto/subtle"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// registrar is a minimal digest-authenticating registrar on sipgo, in
// process, that grants a short lifetime so refreshes come quickly.
type registrar struct {
	addr     string
	password string
	grant    int // seconds granted

	mu       sync.Mutex
	accepted []int // Expires of each authenticated REGISTER, in order
	refused  int
	got      chan struct{}
}

func startRegistrar(t *testing.T, password string, grant int) *registrar {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &registrar{addr: conn.LocalAddr().String(), password: password, grant: grant, got: make(chan struct{}, 64)}
	ua, err := sipgo.NewUA(sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	chal := &digest.Challenge{Realm: "test", Nonce: "n0nce", Algorithm: "MD5", QOP: []string{"auth"}}
	srv.OnRegister(func(req *sip.Request, tx sip.ServerTransaction) {
		h := req.GetHeader("Authorization")
		if h == nil {
			res := sip.NewResponseFromRequest(req, 401, "Unauthorized", nil)
			res.AppendHeader(sip.NewHeader("WWW-Authenticate", chal.String()))
			_ = tx.Respond(res)
			return
		}
		cred, err := digest.ParseCredentials(h.Value())
		ok := err == nil
		if ok {
			want, err := digest.Digest(chal, digest.Options{Method: "REGISTER", URI: cred.URI, Username: cred.Username,
				Password: r.password, Cnonce: cred.Cnonce, Count: cred.Nc})
			ok = err == nil && subtle.ConstantTimeCompare([]byte(want.Response), []byte(cred.Response)) == 1
		}
		if !ok {
			r.mu.Lock()
			r.refused++
			r.mu.Unlock()
			_ = tx.Respond(sip.NewResponseFromRequest(req, 403, "Forbidden", nil))
			r.got <- struct{}{}
			return
		}
		exp := -1
		if e := req.GetHeader("Expires"); e != nil {
			exp, _ = strconv.Atoi(e.Value())
		}
		r.mu.Lock()
		r.accepted = append(r.accepted, exp)
		r.mu.Unlock()
		res := sip.NewResponseFromRequest(req, 200, "OK", nil)
		if ct := req.Contact(); ct != nil && exp != 0 {
			c := ct.Clone()
			c.Params.Add("expires", strconv.Itoa(r.grant))
			res.AppendHeader(c)
		}
		_ = tx.Respond(res)
		r.got <- struct{}{}
	})
	go func() { _ = srv.ServeUDP(conn) }()
	t.Cleanup(func() { ua.Close(); conn.Close() })
	return r
}

func (r *registrar) snapshot() ([]int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int(nil), r.accepted...), r.refused
}

// TestRegisterRefreshUnregister: the endpoint answers the challenge,
// reports registered once, refreshes before the granted lifetime runs out
// and unregisters (Expires: 0) when it stops.
func TestRegisterRefreshUnregister(t *testing.T) {
	reg := startRegistrar(t, "s3cret-pw", 2)
	e, err := New(Config{Server: reg.addr, User: "101", Password: "s3cret-pw", Listen: "127.0.0.1:0", Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	waitEvent(t, e, EventRegistered, bound)
	if !e.Status().Registered {
		t.Error("status not registered")
	}
	// Three registrations in all: the first and two refreshes within the
	// 2 s lifetime each.
	deadline := time.After(bound)
	for n := 0; n < 3; {
		select {
		case <-reg.got:
			n++
		case <-deadline:
			t.Fatal("no refresh")
		}
	}
	select {
	case ev := <-e.Events():
		t.Errorf("extra event %v: a refresh must not report again", ev)
	default:
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	acc, refused := reg.snapshot()
	if refused != 0 || len(acc) < 4 || acc[0] != 300 || acc[len(acc)-1] != 0 {
		t.Errorf("registrations (Expires) %v, refused %d: want 300 each, then 0", acc, refused)
	}
}

func TestRegisterWrongPassword(t *testing.T) {
	reg := startRegistrar(t, "s3cret-pw", 60)
	e, err := New(Config{Server: reg.addr, User: "101", Password: "wrong", Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.Run(ctx)
	ev := waitEvent(t, e, EventRegisterFail, bound)
	if ev.Reason == "" || e.Status().Registered {
		t.Errorf("event %v, status %+v", ev, e.Status())
	}
}
