package endpoint

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// startRedirector runs a SIP server on 127.0.0.1 that answers every
// INVITE with a 3xx whose Contact is contact(its own address) ("" for
// none), as a PBX handed off to its cloud peer does; it counts the
// INVITEs.
func startRedirector(t *testing.T, code int, contact func(self string) string) (string, *atomic.Int32) {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	self := conn.LocalAddr().String()
	ua, err := sipgo.NewUA(sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		n.Add(1)
		res := sip.NewResponseFromRequest(req, code, "Moved Temporarily", nil)
		if ct := contact(self); ct != "" {
			res.AppendHeader(sip.NewHeader("Contact", ct))
		}
		_ = tx.Respond(res)
	})
	srv.OnAck(func(*sip.Request, sip.ServerTransaction) {})
	done := make(chan struct{})
	go func() { _ = srv.ServeUDP(conn); close(done) }()
	t.Cleanup(func() { conn.Close(); ua.Close(); <-done })
	return self, &n
}

// TestFollowsRedirect: a 302 from the server sends the INVITE to the
// Contact it names (Request-URI and destination); the call is set up
// there, audio flows, and the BYE goes there too, not to the server.
func TestFollowsRedirect(t *testing.T) {
	devA := &memDevice{src: speechLike(1)}
	devB := &memDevice{}
	cb, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, invites := startRedirector(t, 302, func(string) string { return "<sip:102@" + cb.LocalAddr().String() + ";hbr=tok>" })
	ca, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Config{User: "101", SIPConn: ca, Server: srv, NoRegister: true, Audio: devA, JitterFrames: 3, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(Config{User: "102", SIPConn: cb, Server: ca.LocalAddr().String(), NoRegister: true, Audio: devB, AutoAnswer: true,
		JitterFrames: 3, Logger: testLogger()})
	if err != nil {
		a.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	callAndTalk(t, a, b, devA, devB)
	if got := invites.Load(); got != 1 {
		t.Errorf("the redirecting server got %d INVITEs, want 1", got)
	}
	r, lag := bestCorr(devA.src, devB.recording(), 8000)
	t.Logf("callee's recording after the redirect: correlation %.4f at lag %d", r, lag)
	if r < 0.9 {
		t.Errorf("correlation %.4f, want >= 0.9", r)
	}
}

// TestRedirectWithoutContactEnds: a 3xx without a Contact (nothing to
// follow) ends the call with that answer; redirects are followed a
// bounded number of times (a server redirecting to itself).
func TestRedirectWithoutContactEnds(t *testing.T) {
	for _, tc := range []struct {
		name        string
		contact     func(self string) string
		wantInvites int32
	}{
		{"no contact", func(string) string { return "" }, 1},
		{"loop", func(self string) string { return "<sip:102@" + self + ">" }, 1 + maxRedirects},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, invites := startRedirector(t, 302, tc.contact)
			ca, err := net.ListenPacket("udp4", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			a, err := New(Config{User: "101", SIPConn: ca, Server: srv, NoRegister: true, Audio: &memDevice{}, Logger: testLogger()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { a.Close() })
			if err := a.Dial(context.Background(), "102"); err != nil {
				t.Fatal(err)
			}
			ev := waitEvent(t, a, EventEnded, bound)
			if !strings.HasPrefix(ev.Reason, "302") {
				t.Errorf("end reason %q, want the 302", ev.Reason)
			}
			if got := invites.Load(); got != tc.wantInvites {
				t.Errorf("%d INVITEs, want %d", got, tc.wantInvites)
			}
		})
	}
}
