package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hushbox/audio"
	"hushbox/pbx/accounts"
	"hushbox/pbx/endpoint"
	"hushbox/pbx/handoff"
	"hushbox/pbx/peer"
	"hushbox/pbx/store"
)

// startRolePBX is startPeerPBX (peer_e2e_test.go) in a given role.
func startRolePBX(t *testing.T, role Role) *peerPBX {
	t.Helper()
	dir, err := os.MkdirTemp("", "hbhandoff")
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
	cfg := Config{DataDir: dir, SIPAddr: p.addr, RTPPorts: fmt.Sprintf("%d-%d", p.rtpLo, p.rtpHi), Role: role,
		Realm: testRealm, MediaIP: "127.0.0.1", MediaTimeout: 30 * time.Second, RingTimeout: 20 * time.Second,
		Digest: "SHA-256,MD5", WebAddr: "127.0.0.1:0", PeerAddr: "127.0.0.1:0",
		Log: slog.New(slog.NewTextHandler(p.logs, &slog.HandlerOptions{Level: slog.LevelDebug})), Out: p.out}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	go func() { p.done <- Run(ctx, cfg) }()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("%s daemon output:\n%s\n%s daemon log:\n%s", role, p.out.String(), role, p.logs.String())
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

// handoffBed is a board paired with a cloud, and the cloud's relays.
type handoffBed struct {
	board, cloud *peerPBX
	relays       func() *handoff.Relays
	replicas     func() *handoff.Replicas
	wan          *atomic.Value // the party (SIP host:port) that counts as WAN
}

// startHandoffBed starts a board and a cloud on 127.0.0.1 and pairs them.
// Only the SIP address stored in wan counts as a WAN party.
func startHandoffBed(t *testing.T, ctx context.Context) *handoffBed {
	t.Helper()
	bed := &handoffBed{wan: &atomic.Value{}}
	bed.wan.Store("")
	var mu sync.Mutex
	var rs *handoff.Relays
	var reps *handoff.Replicas
	oldWAN, oldHook, oldTick, oldCheck := handoffIsWAN, handoffCloudHook, handoffTick, handoffReplicateCheck
	handoffIsWAN = func(party string) bool { return party == bed.wan.Load().(string) }
	handoffCloudHook = func(r *handoff.Relays, rp *handoff.Replicas) { mu.Lock(); rs, reps = r, rp; mu.Unlock() }
	handoffTick, handoffReplicateCheck = 50*time.Millisecond, 50*time.Millisecond
	t.Cleanup(func() {
		handoffIsWAN, handoffCloudHook, handoffTick, handoffReplicateCheck = oldWAN, oldHook, oldTick, oldCheck
	})
	bed.relays = func() *handoff.Relays { mu.Lock(); defer mu.Unlock(); return rs }
	bed.replicas = func() *handoff.Replicas { mu.Lock(); defer mu.Unlock(); return reps }
	bed.cloud = startRolePBX(t, RoleCloud)
	bed.board = startRolePBX(t, RoleBoard)
	code, err := bed.cloud.peerCtl().Code(ctx, peer.CodeCommand{Name: "board"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bed.board.peerCtl().Pair(ctx, peer.PairCommand{Address: bed.cloud.webAddr, Code: code.Code, Name: "cloud"}); err != nil {
		t.Fatalf("pairing board and cloud: %v", err)
	}
	if bed.relays() == nil {
		t.Fatal("the cloud runs no hand-off relays")
	}
	return bed
}

// startEndpoint runs a pbx/endpoint phone registered at p.
func startEndpoint(t *testing.T, ctx context.Context, p *pbx, ext string, dev audio.Device, answer bool) *endpoint.Endpoint {
	t.Helper()
	ep, err := endpoint.New(endpoint.Config{Server: p.addr, User: ext, Password: testPasswords[ext],
		Listen: "127.0.0.1:0", Audio: dev, AutoAnswer: answer, JitterFrames: 3})
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = ep.Run(rctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	phoneEvent(t, ctx, ep, endpoint.EventRegistered)
	return ep
}

func (b *handoffBed) ctl(t *testing.T) *handoff.ControlClient {
	t.Helper()
	c, err := handoff.DialControl(b.board.dir, "control.token")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// relayCounts sums the cloud relays' packets each way.
func (b *handoffBed) relayCounts() (n int, partyToBoard, boardToParty uint64) {
	for _, r := range b.relays().List() {
		n++
		partyToBoard += r.PartyToBoard
		boardToParty += r.BoardToParty
	}
	return
}

// framesFlow waits until both phones have received n more frames.
func framesFlow(t *testing.T, ctx context.Context, what string, n uint64, eps ...*endpoint.Endpoint) {
	t.Helper()
	base := make([]uint64, len(eps))
	for i, ep := range eps {
		base[i] = ep.Status().FramesReceived
	}
	waitUntil(t, ctx, what, func() bool {
		for i, ep := range eps {
			if ep.Status().FramesReceived < base[i]+n {
				return false
			}
		}
		return true
	})
}

// A remote (WAN) party calls a local phone through the board; a hand-off
// moves its media through the cloud (audio flows both ways through the
// cloud relay), a hand-back returns it, a second hand-off and a BYE the
// party sends to the cloud end the call cleanly on the board.
func TestE2EHandoffToCloudAndBack(t *testing.T) {
	ctx := testCtx(t, 120*time.Second)
	bed := startHandoffBed(t, ctx)
	remote := startEndpoint(t, ctx, bed.board.pbx, "101", &toneDevice{}, false)
	local := startEndpoint(t, ctx, bed.board.pbx, "102", &toneDevice{}, true)
	bed.wan.Store(remote.SIPAddr())
	if err := remote.Dial(ctx, "102"); err != nil {
		t.Fatal(err)
	}
	phoneEvent(t, ctx, remote, endpoint.EventInCall)
	framesFlow(t, ctx, "audio both ways on the board", 25, remote, local)
	ctl := bed.ctl(t)

	// The cloud is warm: it holds the board's registrations and dialogs.
	waitUntil(t, ctx, "the board's state replicated to the cloud", func() bool {
		rs := bed.replicas().List()
		if len(rs) != 1 || len(rs[0].Registrations) != 2 || len(rs[0].Dialogs) != 2 {
			return false
		}
		for _, d := range rs[0].Dialogs {
			if d.CallID == "" || d.LocalTag == "" || d.RemoteTag == "" || d.State != "answered" || !strings.Contains(d.SDP, "m=audio") {
				return false
			}
		}
		return true
	})

	// Hand-off: the remote party's leg only (the local phone is not WAN).
	res, err := ctl.Move(ctx, "cloud")
	if err != nil {
		t.Fatal(err)
	}
	if res.Moved != 1 || res.Failed != 0 || len(res.Results) != 1 || res.Results[0].Leg != "a" {
		t.Fatalf("hand-off: %+v, want the caller's leg moved", res)
	}
	calls, err := bed.board.admin().Calls(ctx)
	if err != nil || len(calls) != 1 || calls[0].Where != "cloud" {
		t.Fatalf("calls after the hand-off: %+v %v, want one on the cloud", calls, err)
	}
	waitUntil(t, ctx, "media through the cloud relay both ways", func() bool {
		n, up, down := bed.relayCounts()
		return n == 1 && up >= 50 && down >= 50
	})
	framesFlow(t, ctx, "audio both ways through the cloud", 50, remote, local)
	_, up, down := bed.relayCounts()
	t.Logf("hand-off switch %d ms; cloud relay: %d packets party to board, %d board to party", res.Results[0].MS, up, down)

	// Hand-back: media returns to the board; the cloud relay goes on
	// relaying for a moment (what the party sent before it switched) and
	// is then freed.
	if res, err = ctl.Move(ctx, "board"); err != nil || res.Moved != 1 {
		t.Fatalf("hand-back: %+v %v", res, err)
	}
	waitUntil(t, ctx, "the cloud relay freed after the hand-back", func() bool {
		n, _, _ := bed.relayCounts()
		return n == 0
	})
	calls, _ = bed.board.admin().Calls(ctx)
	if len(calls) != 1 || calls[0].Where != "board" {
		t.Fatalf("calls after the hand-back: %+v", calls)
	}
	framesFlow(t, ctx, "audio both ways on the board again", 50, remote, local)

	// Second hand-off; the party hangs up with a BYE it sends to the cloud.
	if res, err = ctl.Move(ctx, "cloud"); err != nil || res.Moved != 1 {
		t.Fatalf("second hand-off: %+v %v", res, err)
	}
	framesFlow(t, ctx, "audio through the cloud again", 25, remote, local)
	remote.Hangup()
	phoneEvent(t, ctx, local, endpoint.EventEnded)
	waitUntil(t, ctx, "the call gone on the board", func() bool {
		calls, err := bed.board.admin().Calls(ctx)
		return err == nil && len(calls) == 0
	})
	waitUntil(t, ctx, "the cloud relay freed", func() bool { n, _, _ := bed.relayCounts(); return n == 0 })
	if !regexp.MustCompile(`forward|hand-off relay open`).MatchString(bed.cloud.logs.String()) {
		t.Error("the cloud logged no relay")
	}
	st, err := ctl.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Log) != 3 || st.Log[0].To != "cloud" || st.Log[1].To != "board" || !st.Log[0].OK || st.Log[0].Trigger != handoff.TriggerCLI {
		t.Fatalf("hand-off log: %+v, want cloud, board, cloud (newest first)", st.Log)
	}
}

// A party that refuses the hand-off re-INVITE keeps its call on the
// board, media and all; the cloud relay it was given is freed.
func TestE2EHandoffRefusedKeepsTheCall(t *testing.T) {
	ctx := testCtx(t, 90*time.Second)
	bed := startHandoffBed(t, ctx)
	local := startEndpoint(t, ctx, bed.board.pbx, "102", &toneDevice{}, true)
	alice := newPhone(t, bed.board.pbx, "101")
	alice.mustRegister(ctx)
	bed.wan.Store(alice.addr)
	oc := alice.call(ctx, "102", buildSDP(alice.rtpPort(), []int{0}, "sendrecv"), []int{0})
	if res := oc.waitFinal(ctx); res.StatusCode != 200 {
		t.Fatalf("call answered %d", res.StatusCode)
	}
	// From now on the party answers every re-INVITE 488.
	alice.mu.Lock()
	alice.codecs = []string{"G729"}
	alice.mu.Unlock()
	res, err := bed.ctl(t).Move(ctx, "cloud")
	if err != nil {
		t.Fatal(err)
	}
	if res.Moved != 0 || res.Failed != 1 {
		t.Fatalf("hand-off to a refusing party: %+v, want 1 failed", res)
	}
	if n, _, _ := bed.relayCounts(); n != 0 {
		t.Fatalf("%d cloud relays kept after a refused hand-off, want 0", n)
	}
	calls, err := bed.board.admin().Calls(ctx)
	if err != nil || len(calls) != 1 || calls[0].Where != "board" || calls[0].State != "answered" {
		t.Fatalf("calls after a refused hand-off: %+v %v, want the call answered on the board", calls, err)
	}
	// Audio still reaches the local phone through the board.
	base := local.Status().FramesReceived
	alice.sendRTP(oc.d.remoteSDP().media(), 0, 50, toneFrame)
	waitUntil(t, ctx, "the party's audio at the local phone", func() bool { return local.Status().FramesReceived >= base+40 })
	st, err := bed.ctl(t).Status(ctx)
	if err != nil || len(st.Log) != 1 || st.Log[0].OK || st.Log[0].Error == "" {
		t.Fatalf("hand-off log: %+v %v, want one failed entry", st.Log, err)
	}
	if r := oc.d.bye(ctx); r.StatusCode != 200 {
		t.Fatalf("BYE: %d", r.StatusCode)
	}
}

// Sustained pressure hands the WAN calls off; pressure back at normal
// hands them back.
func TestE2EHandoffOnPressure(t *testing.T) {
	var level atomic.Int32
	oldP, oldH, oldL := handoffPressure, handoffHighFor, handoffLowFor
	handoffPressure = func() int { return int(level.Load()) }
	handoffHighFor, handoffLowFor = 200*time.Millisecond, 300*time.Millisecond
	t.Cleanup(func() { handoffPressure, handoffHighFor, handoffLowFor = oldP, oldH, oldL })
	ctx := testCtx(t, 90*time.Second)
	bed := startHandoffBed(t, ctx)
	remote := startEndpoint(t, ctx, bed.board.pbx, "101", &toneDevice{}, false)
	local := startEndpoint(t, ctx, bed.board.pbx, "102", &toneDevice{}, true)
	bed.wan.Store(remote.SIPAddr())
	if err := remote.Dial(ctx, "102"); err != nil {
		t.Fatal(err)
	}
	phoneEvent(t, ctx, remote, endpoint.EventInCall)
	where := func(want string) func() bool {
		return func() bool {
			calls, err := bed.board.admin().Calls(ctx)
			return err == nil && len(calls) == 1 && calls[0].Where == want
		}
	}
	level.Store(3)
	waitUntil(t, ctx, "the call handed to the cloud under pressure", where("cloud"))
	framesFlow(t, ctx, "audio through the cloud", 25, remote, local)
	level.Store(0)
	waitUntil(t, ctx, "the call handed back once the pressure is gone", where("board"))
	framesFlow(t, ctx, "audio on the board again", 25, remote, local)
	st, err := bed.ctl(t).Status(ctx)
	if err != nil || len(st.Log) != 2 || st.Log[0].Trigger != handoff.TriggerPressure || st.Log[0].To != "board" {
		t.Fatalf("hand-off log: %+v %v", st.Log, err)
	}
	remote.Hangup()
	phoneEvent(t, ctx, local, endpoint.EventEnded)
}
