package peer

import (
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"hushbox/pbx/store"
)

// A shows a code, B pairs with it: each box then holds the other's
// identity, pinned certificate and peer address, with a trunk where asked.
func TestPairBothSidesPin(t *testing.T) {
	ctx := ctxT(t)
	a, b := newBox(t, "office-a", nil), newBox(t, "office-b", nil)
	code, _, err := a.m.IssueCode(Options{Name: "branch", Trunk: true, Prefix: "8"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := b.m.Pair(ctx, a.webAddr, strings.ToLower(code.String()), Options{Name: "hq", Trunk: true, Prefix: "9"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "hq" || p.Identity != a.id || p.CertFP != a.m.CertFP() || p.Address != "127.0.0.1:"+a.peerPort() || p.Trunk != "hq" {
		t.Fatalf("B's peer %+v; want A's identity, certificate and peer address, trunk hq", p)
	}
	bp, ok := a.m.Peer("branch")
	if !ok || bp.Identity != b.id || bp.CertFP != b.m.CertFP() || bp.Address != "127.0.0.1:"+b.peerPort() || bp.Role != RoleBoard {
		t.Fatalf("A's peer %+v %v; want B's identity, certificate and peer address", bp, ok)
	}
	tb, ok := b.trunks.get("hq")
	if !ok || tb.PeerKey != a.id.String() || tb.Address != "127.0.0.1:5061" || tb.Prefix != "9" || tb.Strip != 1 {
		t.Fatalf("B's trunk %+v %v", tb, ok)
	}
	ta, ok := a.trunks.get("branch")
	if !ok || ta.PeerKey != b.id.String() || ta.Prefix != "8" {
		t.Fatalf("A's trunk %+v %v", ta, ok)
	}
	// Persisted: a Manager made on the same store knows the peer.
	again, err := New(Config{Store: a.st, Identity: a.id, Certificate: a.cert, PeerPort: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := again.Peer("branch"); !ok {
		t.Fatal("the peer is not in the store")
	}
	if at := a.m.Attempts(); at.Paired != 1 || at.Failed != 0 {
		t.Fatalf("attempts at A %+v", at)
	}
	// The code is spent.
	if _, err := newBox(t, "c", nil).m.Pair(ctx, a.webAddr, code.String(), Options{}); !errors.Is(err, ErrRefused) {
		t.Fatalf("second use of a code: %v, want ErrRefused", err)
	}
}

// A wrong code is refused, counted, and voids the code on show: the
// right one does not work after it.
func TestPairWrongCodeBurnsCode(t *testing.T) {
	ctx := ctxT(t)
	a, b := newBox(t, "a", nil), newBox(t, "b", nil)
	code, _, err := a.m.IssueCode(Options{})
	if err != nil {
		t.Fatal(err)
	}
	wrong, _ := NewCode()
	for wrong == code {
		wrong, _ = NewCode()
	}
	if _, err := b.m.Pair(ctx, a.webAddr, wrong.String(), Options{}); !errors.Is(err, ErrRefused) {
		t.Fatalf("wrong code: %v, want ErrRefused", err)
	}
	if at := a.m.Attempts(); at.Failed != 1 || at.LastFailSrc != "127.0.0.1" {
		t.Fatalf("attempts %+v, want one failure from 127.0.0.1", at)
	}
	if _, err := b.m.Pair(ctx, a.webAddr, code.String(), Options{}); !errors.Is(err, ErrRefused) {
		t.Fatalf("right code after a wrong try: %v, want ErrRefused", err)
	}
	if len(a.m.Peers()) != 0 || len(b.m.Peers()) != 0 {
		t.Fatal("a refused pairing left a peer behind")
	}
	if _, err := b.m.Pair(ctx, a.webAddr, "ABCD", Options{}); !errors.Is(err, ErrBadCode) {
		t.Fatalf("malformed code: %v, want ErrBadCode before anything is sent", err)
	}
}

func TestPairExpiredCode(t *testing.T) {
	clock := newClock()
	a, b := newBox(t, "a", clock), newBox(t, "b", nil)
	code, _, err := a.m.IssueCode(Options{})
	if err != nil {
		t.Fatal(err)
	}
	clock.add(CodeTTL + time.Second)
	if _, err := b.m.Pair(ctxT(t), a.webAddr, code.String(), Options{}); !errors.Is(err, ErrRefused) {
		t.Fatalf("expired code: %v, want ErrRefused", err)
	}
}

// A man in the middle with its own certificate, relaying to the real box,
// gets nothing: the MAC covers the certificate B saw, so A refuses (and the
// code is spent).
func TestPairMITMRefused(t *testing.T) {
	ctx := ctxT(t)
	a, b := newBox(t, "a", nil), newBox(t, "b", nil)
	code, _, err := a.m.IssueCode(Options{})
	if err != nil {
		t.Fatal(err)
	}
	mitmCert := testCert(t)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{mitmCert}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				up, err := tls.Dial("tcp", a.webAddr, &tls.Config{InsecureSkipVerify: true})
				if err != nil {
					return
				}
				defer up.Close()
				go io.Copy(up, c)
				io.Copy(c, up)
			}()
		}
	}()
	_, err = b.m.Pair(ctx, ln.Addr().String(), code.String(), Options{})
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("pairing through a relay with another certificate: %v, want ErrRefused", err)
	}
	if len(a.m.Peers()) != 0 || len(b.m.Peers()) != 0 {
		t.Fatal("a peer was stored through the relay")
	}
	if a.m.Attempts().Failed != 1 {
		t.Fatal("A did not count the relayed attempt as failed")
	}
}

// An impostor answering for A without the code cannot make B pin it.
func TestPairImpostorRefused(t *testing.T) {
	b := newBox(t, "b", nil)
	imp := newBox(t, "impostor", nil)
	if _, _, err := imp.m.IssueCode(Options{}); err != nil { // its own code, not A's
		t.Fatal(err)
	}
	code, _ := NewCode()
	if _, err := b.m.Pair(ctxT(t), imp.webAddr, code.String(), Options{}); !errors.Is(err, ErrRefused) {
		t.Fatalf("pairing with a box that does not know the code: %v", err)
	}
	if len(b.m.Peers()) != 0 {
		t.Fatal("B pinned an impostor")
	}
}

// Bursts against the pairing endpoint are cut off before any work.
func TestPairEndpointRateLimited(t *testing.T) {
	a := newBox(t, "a", nil)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, Timeout: 5 * time.Second}
	codes := map[int]int{}
	for range sourceBurst + 2 {
		res, err := hc.Post("https://"+a.webAddr+PairPath, "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		codes[res.StatusCode]++
	}
	if codes[http.StatusBadRequest] != sourceBurst || codes[http.StatusTooManyRequests] != 2 {
		t.Fatalf("answers %v, want %d bad requests then 429", codes, sourceBurst)
	}
}

func TestNormalizeAddr(t *testing.T) {
	tests := []struct{ in, want string }{
		{"192.0.2.7", "192.0.2.7:8443"},
		{"box.lan:9443", "box.lan:9443"},
		{"[2001:db8::1]:8443", "[2001:db8::1]:8443"},
		{"[2001:db8::1]", "[2001:db8::1]:8443"},
		{"", ""},
		{"box:0", ""},
		{"box:99999", ""},
		{"bad host:1", ""},
		{"https://box", ""},
	}
	for _, tc := range tests {
		got, err := NormalizeAddr(tc.in)
		if tc.want == "" {
			if err == nil {
				t.Errorf("NormalizeAddr(%q) = %q, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("NormalizeAddr(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// After pairing, heartbeats flow both ways over mutual TLS; a third box's
// certificate fails the handshake; a removed peer is refused.
func TestHeartbeatsMutualTLS(t *testing.T) {
	ctx := ctxT(t)
	a, b := pairedBoxes(t)
	if _, err := b.m.Heartbeat(ctx, "a"); err != nil {
		t.Fatalf("B to A: %v", err)
	}
	if _, err := a.m.Heartbeat(ctx, "b"); err != nil {
		t.Fatalf("A to B: %v", err)
	}
	for _, s := range a.m.Peers() {
		if s.LastSeen.IsZero() || s.Inbound.IsZero() || s.RTT <= 0 || s.LastError != "" {
			t.Fatalf("A's view of B: %+v; want seen both ways with a round-trip time", s)
		}
	}

	// A third box with its own certificate is refused in the handshake.
	c := newBox(t, "c", nil)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: ClientTLS(c.cert, a.m.CertFP())}, Timeout: 5 * time.Second}
	res, err := hc.Get("https://127.0.0.1:" + a.peerPort() + HeartbeatPath)
	if err == nil {
		res.Body.Close()
		t.Fatalf("unpaired client certificate answered %d, want a failed handshake", res.StatusCode)
	}
	// No client certificate at all: refused too.
	raw, err := tls.Dial("tcp", "127.0.0.1:"+a.peerPort(), &tls.Config{InsecureSkipVerify: true})
	if err == nil {
		raw.SetDeadline(time.Now().Add(5 * time.Second))
		_, err = raw.Write([]byte("GET " + HeartbeatPath + " HTTP/1.1\r\nHost: a\r\n\r\n"))
		if err == nil {
			_, err = raw.Read(make([]byte, 1))
		}
		raw.Close()
	}
	if err == nil {
		t.Fatal("a client without a certificate got an answer")
	}
	// B dialling a server whose certificate is not the pinned one fails.
	wrong := Peer{Name: "x", Address: "127.0.0.1:" + c.peerPort(), CertFP: a.m.CertFP()}
	if _, err := beat(ctx, b.m.Client(wrong), wrong); err == nil {
		t.Fatal("B accepted a server that is not the pinned one")
	}

	// A forgets B: B's next heartbeat is refused.
	if err := a.m.RemovePeer(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.m.Heartbeat(ctx, "a"); err == nil {
		t.Fatal("A still answers a removed peer")
	}
	if s := b.m.Peers()[0]; s.LastError == "" {
		t.Fatalf("B's view after refusal %+v, want the error", s)
	}
}

// Pairing the same two boxes again replaces the entries and trunks
// instead of adding a second peer.
func TestPairAgainReplaces(t *testing.T) {
	ctx := ctxT(t)
	a, b := newBox(t, "a", nil), newBox(t, "b", nil)
	code, _, err := a.m.IssueCode(Options{Name: "bee", Trunk: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.m.Pair(ctx, a.webAddr, code.String(), Options{Name: "ay", Trunk: true}); err != nil {
		t.Fatal(err)
	}
	// A taken name is refused up front; without names each box keeps the
	// other under the other's own name.
	if _, _, err := a.m.IssueCode(Options{Name: "bee"}); !errors.Is(err, store.ErrExists) {
		t.Fatalf("code for a taken name: %v, want ErrExists", err)
	}
	code, _, err = a.m.IssueCode(Options{Trunk: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.m.Pair(ctx, a.webAddr, code.String(), Options{Trunk: true}); err != nil {
		t.Fatal(err)
	}
	pa, pb := a.m.Peers(), b.m.Peers()
	if len(pa) != 1 || len(pb) != 1 || pa[0].Name != "b" || pb[0].Name != "a" || pa[0].Trunk != "b" || pb[0].Trunk != "a" {
		t.Fatalf("after pairing twice A has %+v, B has %+v; want one peer each, with its trunk", pa, pb)
	}
	if _, ok := a.trunks.get("bee"); ok {
		t.Fatal("A kept the trunk of the first pairing")
	}
	if _, ok := b.trunks.get("ay"); ok {
		t.Fatal("B kept the trunk of the first pairing")
	}
}
