package daemon

import (
	"strings"
	"testing"
	"time"

	"hushbox/pbx/endpoint"
)

// While the board is handed off (a drill), a remote (WAN) party that dials
// a board extension is redirected to the cloud with a 302: pbx/endpoint
// follows it, the cloud forwards the INVITE to the board, the board's
// challenge reaches the party through the cloud and the call is set up
// with the party's leg on the cloud; audio flows both ways through the
// cloud relay, a hand-back brings the call to the board and the party's
// BYE ends it on both sides. A LAN party dialling during the drill is
// served by the board directly.
func TestE2ERedirectNewWANCallDuringHandoff(t *testing.T) {
	ctx := testCtx(t, 120*time.Second)
	bed := startHandoffBed(t, ctx)
	remote := startEndpoint(t, ctx, bed.board.pbx, "101", &toneDevice{}, false)
	local := startEndpoint(t, ctx, bed.board.pbx, "102", &toneDevice{}, true)
	bed.wan.Store(remote.SIPAddr())
	ctl := bed.ctl(t)

	// The drill: no call yet, the board is handed off.
	res, err := ctl.Move(ctx, "cloud")
	if err != nil || res.Moved != 0 || res.Failed != 0 {
		t.Fatalf("drill with no call: %+v %v", res, err)
	}
	st, err := ctl.Status(ctx)
	if err != nil || st.Where != "cloud" || !st.Forced {
		t.Fatalf("status after the drill: %+v %v, want forced to the cloud", st, err)
	}

	// The remote party dials: 302 to the cloud, INVITE there, challenge
	// from the board through the cloud, answered; the call is up.
	if err := remote.Dial(ctx, "102"); err != nil {
		t.Fatal(err)
	}
	phoneEvent(t, ctx, remote, endpoint.EventInCall)
	phoneEvent(t, ctx, local, endpoint.EventInCall)
	for _, want := range []struct {
		who  *peerPBX
		what string
	}{
		{bed.board, "new WAN call redirected to the cloud"},
		{bed.cloud, "redirected caller's INVITE forwarded to the board"},
		{bed.board, "new call through the cloud"},
		{bed.board, "forwarded call starts on the cloud"},
	} {
		if !strings.Contains(want.who.logs.String(), want.what) {
			t.Errorf("no %q in the log", want.what)
		}
	}
	// Two INVITEs came through the cloud: the first got the board's
	// challenge (through the cloud), the second carried the credentials.
	if n := strings.Count(bed.board.logs.String(), "new call through the cloud"); n != 2 {
		t.Errorf("%d INVITEs forwarded by the cloud, want 2 (challenged, then with credentials)", n)
	}
	calls, err := bed.board.admin().Calls(ctx)
	if err != nil || len(calls) != 1 || calls[0].Where != "cloud" || calls[0].State != "answered" {
		t.Fatalf("calls: %+v %v, want one answered on the cloud", calls, err)
	}
	// The challenge was the board's: the CDR-to-be names the party's
	// extension, proved by its password.
	if calls[0].From != "101" {
		t.Errorf("the call is from %q, want 101", calls[0].From)
	}
	waitUntil(t, ctx, "media through the cloud relay both ways", func() bool {
		n, up, down := bed.relayCounts()
		return n == 1 && up >= 50 && down >= 50
	})
	framesFlow(t, ctx, "audio both ways through the cloud", 50, remote, local)
	_, up, down := bed.relayCounts()
	t.Logf("redirected call: cloud relay %d packets party to board, %d board to party", up, down)

	// Hand-back: the call moves to the board like any handed-off call.
	if res, err = ctl.Move(ctx, "board"); err != nil || res.Moved != 1 || res.Failed != 0 {
		t.Fatalf("hand-back: %+v %v", res, err)
	}
	waitUntil(t, ctx, "the cloud relay freed", func() bool { n, _, _ := bed.relayCounts(); return n == 0 })
	calls, _ = bed.board.admin().Calls(ctx)
	if len(calls) != 1 || calls[0].Where != "board" {
		t.Fatalf("calls after the hand-back: %+v", calls)
	}
	framesFlow(t, ctx, "audio both ways on the board", 50, remote, local)
	remote.Hangup()
	if ev := phoneEvent(t, ctx, remote, endpoint.EventEnded); ev.Reason != "hung up" {
		t.Errorf("remote's end reason %q", ev.Reason)
	}
	if ev := phoneEvent(t, ctx, local, endpoint.EventEnded); ev.Reason != "remote hung up" {
		t.Errorf("local's end reason %q", ev.Reason)
	}
	waitUntil(t, ctx, "the call gone on the board", func() bool {
		calls, err := bed.board.admin().Calls(ctx)
		return err == nil && len(calls) == 0
	})

	// Drill again: a LAN party's INVITE is served by the board itself.
	if res, err = ctl.Move(ctx, "cloud"); err != nil {
		t.Fatalf("second drill: %+v %v", res, err)
	}
	alice := newPhone(t, bed.board.pbx, "101")
	alice.mustRegister(ctx)
	oc := alice.call(ctx, "102", buildSDP(alice.rtpPort(), []int{0}, "sendrecv"), []int{0})
	if oc.challenge == nil {
		t.Fatalf("the LAN party's INVITE answered %d, want the board's challenge", oc.final.StatusCode)
	}
	if r := oc.waitFinal(ctx); r.StatusCode != 200 {
		t.Fatalf("the LAN party's call answered %d (saw %v), want 200 from the board", r.StatusCode, oc.codes)
	}
	phoneEvent(t, ctx, local, endpoint.EventInCall)
	calls, _ = bed.board.admin().Calls(ctx)
	if len(calls) != 1 || calls[0].Where != "board" {
		t.Fatalf("the LAN party's call: %+v, want it on the board", calls)
	}
	if n, _, _ := bed.relayCounts(); n != 0 {
		t.Errorf("%d cloud relays for a LAN call, want 0", n)
	}
	if r := oc.d.bye(ctx); r.StatusCode != 200 {
		t.Fatalf("BYE: %d", r.StatusCode)
	}
	phoneEvent(t, ctx, local, endpoint.EventEnded)
	if _, err := ctl.Move(ctx, "board"); err != nil {
		t.Fatal(err)
	}
}
