package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"hushbox/audio/g711"
	"hushbox/pbx/accounts"
	"hushbox/pbx/control"
	"hushbox/pbx/peer"
	"hushbox/pbx/store"
	"hushbox/pbx/tlscert"
)

// peerPBX is a test daemon with SIP TLS, the web page and the peer
// endpoint, all on 127.0.0.1.
type peerPBX struct {
	*pbx
	webAddr  string // host:port of the web page (pairing)
	peerAddr string // host:port of the mutual-TLS peer endpoint
}

// startPeerPBX is startPBX (harness_test.go) with the web page and
// peering on.
func startPeerPBX(t *testing.T) *peerPBX {
	t.Helper()
	dir, err := os.MkdirTemp("", "hbpeer")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	db, err := store.Open(filepath.Join(dir, DBName))
	if err != nil {
		t.Fatal(err)
	}
	for _, num := range []string{"101", "102"} {
		if _, err := accounts.Add(db, testRealm, num, "Ext "+num, testPasswords[num]); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	p := &pbx{t: t, dir: dir, port: freeSIPPort(t), logs: &syncBuffer{}, done: make(chan error, 1),
		out: &readyWriter{ready: make(chan struct{})}}
	p.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(p.port))
	p.rtpLo = freeRTPRange(t, 20)
	p.rtpHi = p.rtpLo + 19
	p.freeAtStart = freePorts(p.rtpLo, p.rtpHi)
	p.tlsAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(freeSIPPort(t)))
	cfg := Config{DataDir: dir, SIPAddr: p.addr, SIPTLSAddr: p.tlsAddr, RTPPorts: fmt.Sprintf("%d-%d", p.rtpLo, p.rtpHi),
		Realm: testRealm, MediaIP: "127.0.0.1", MediaTimeout: 30 * time.Second, RingTimeout: 20 * time.Second,
		Digest: "SHA-256,MD5", WebAddr: "127.0.0.1:0", PeerAddr: "127.0.0.1:0",
		Log: slog.New(slog.NewTextHandler(p.logs, &slog.HandlerOptions{Level: slog.LevelDebug})), Out: p.out}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	go func() { p.done <- Run(ctx, cfg) }()
	t.Cleanup(func() {
		p.stop()
		p.mu.Lock()
		for _, ph := range p.phones {
			ph.close()
		}
		p.mu.Unlock()
		if t.Failed() {
			t.Logf("daemon output:\n%s\ndaemon log:\n%s", p.out.String(), p.logs.String())
		}
	})
	select {
	case <-p.out.ready:
	case err := <-p.done:
		p.done <- err
		t.Fatalf("daemon did not start: %v\n%s", err, p.logs.String())
	case <-time.After(10 * time.Second):
		t.Fatal("daemon not ready after 10 s")
	}
	pp := &peerPBX{pbx: p}
	if m := regexp.MustCompile(`web page on https://(\S+)/`).FindStringSubmatch(p.out.String()); m != nil {
		pp.webAddr = m[1]
	}
	if m := regexp.MustCompile(`peers \(mutual TLS\) on (\S+)`).FindStringSubmatch(p.out.String()); m != nil {
		pp.peerAddr = m[1]
	}
	if pp.webAddr == "" || pp.peerAddr == "" {
		t.Fatalf("web or peer address not printed:\n%s", p.out.String())
	}
	return pp
}

// peerCtl is the daemon's `hushbox peer` API.
func (p *peerPBX) peerCtl() *peer.ControlClient {
	p.t.Helper()
	c, err := peer.DialControl(p.dir, control.TokenName)
	if err != nil {
		p.t.Fatal(err)
	}
	return c
}

// Two boxes paired through their API: both pin each other, heartbeats
// flow both ways over mutual TLS, an unpaired certificate is refused, and
// the trunks pairing made carry a scrambled call.
func TestE2EPairing(t *testing.T) {
	old := peerHeartbeat
	peerHeartbeat = 200 * time.Millisecond
	t.Cleanup(func() { peerHeartbeat = old })
	ctx := testCtx(t, 90*time.Second)
	a, b := startPeerPBX(t), startPeerPBX(t)

	// A wrong code first: refused, and it voids A's code.
	code, err := a.peerCtl().Code(ctx, peer.CodeCommand{Name: "branch", Trunk: true, Prefix: "9"})
	if err != nil {
		t.Fatal(err)
	}
	wrong, _ := peer.NewCode()
	if _, err := b.peerCtl().Pair(ctx, peer.PairCommand{Address: a.webAddr, Code: wrong.String(), Name: "hq"}); err == nil || !strings.Contains(err.Error(), "wrong pairing code") {
		t.Fatalf("pairing with a wrong code: %v, want refused as wrong", err)
	}
	if _, err := b.peerCtl().Pair(ctx, peer.PairCommand{Address: a.webAddr, Code: code.Code, Name: "hq"}); err == nil || !strings.Contains(err.Error(), "no pairing code") {
		t.Fatalf("the right code after a wrong attempt: %v, want refused (code void)", err)
	}

	code, err = a.peerCtl().Code(ctx, peer.CodeCommand{Name: "branch", Trunk: true, Prefix: "9"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.peerCtl().Pair(ctx, peer.PairCommand{Address: a.webAddr, Code: code.Code, Name: "hq", Trunk: true, Prefix: "8"})
	if err != nil {
		t.Fatalf("pairing: %v\nA:\n%s", err, a.logs.String())
	}
	idA, _ := a.admin().Identity(ctx)
	idB, _ := b.admin().Identity(ctx)
	if got.Identity.String() != idA || got.Address != a.peerAddr || got.Trunk != "hq" {
		t.Fatalf("B's peer %+v; want A's identity %s at %s with trunk hq", got, idA, a.peerAddr)
	}

	seen := func(p *peerPBX, name, id string) bool {
		ps, err := p.peerCtl().Peers(ctx)
		if err != nil || len(ps) != 1 {
			return false
		}
		s := ps[0]
		return s.Name == name && s.Identity.String() == id && !s.LastSeen.IsZero() && !s.Inbound.IsZero() && s.RTT > 0 && s.LastError == ""
	}
	waitUntil(t, ctx, "heartbeats both ways", func() bool { return seen(a, "branch", idB) && seen(b, "hq", idA) })

	// A third certificate, not paired, is refused by A's peer endpoint.
	third, _, err := tlscert.Ensure(t.TempDir(), "web", []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	psA, _ := b.peerCtl().Peers(ctx)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: peer.ClientTLS(third, psA[0].CertFP)}, Timeout: 5 * time.Second}
	if res, err := hc.Get("https://" + a.peerAddr + peer.HeartbeatPath); err == nil {
		res.Body.Close()
		t.Fatalf("an unpaired certificate got %d from the peer endpoint", res.StatusCode)
	}

	// The trunks pairing made carry a scrambled call from A's 101 to B's 102.
	alice, bob := newPhone(t, a.pbx, "101"), newPhone(t, b.pbx, "102")
	alice.mustRegister(ctx)
	bob.mustRegister(ctx)
	oc := alice.call(ctx, "9102", buildSDP(alice.rtpPort(), []int{0}, "sendrecv"), []int{0})
	if res := oc.waitFinal(ctx); res.StatusCode != 200 {
		t.Fatalf("call over the paired trunk answered %d %s", res.StatusCode, res.Reason)
	}
	ic := bob.waitCall(ctx)
	const n = 100
	alice.sendRTP(oc.d.remoteSDP().media(), 0, n, toneFrame)
	waitUntil(t, ctx, "speech at B's phone", func() bool { return bob.rtpCount.Load() >= n })
	var sent []int16
	for i := range n {
		pcm := make([]int16, 160)
		g711.DecodeUlawFrame(pcm, toneFrame(i))
		sent = append(sent, pcm...)
	}
	if c := normCorr(sent, decodeAll(bob.received())); c < 0.9 {
		t.Fatalf("B's phone hears audio correlating %.3f with A's, want > 0.9", c)
	}
	callsA, err := a.admin().Calls(ctx)
	if err != nil || len(callsA) != 1 || callsA[0].Trunk != "branch" || callsA[0].ScrambledFrames < n || callsA[0].SAS == "" {
		t.Fatalf("calls at A: %+v %v; want one scrambled call on trunk branch", callsA, err)
	}
	if r := oc.d.bye(ctx); r.StatusCode != 200 {
		t.Fatalf("BYE: %d", r.StatusCode)
	}
	ic.d.waitBye(ctx)

	// A forgets B: the peer and its trunk go, and B's heartbeats are refused.
	if err := a.peerCtl().Remove(ctx, "branch"); err != nil {
		t.Fatal(err)
	}
	ts, err := a.admin().Trunks(ctx)
	if err != nil || len(ts) != 0 {
		t.Fatalf("trunks at A after removing the peer: %+v %v", ts, err)
	}
	waitUntil(t, ctx, "B sees A refuse", func() bool {
		ps, err := b.peerCtl().Peers(ctx)
		return err == nil && len(ps) == 1 && strings.Contains(ps[0].LastError, "heartbeat")
	})
}
