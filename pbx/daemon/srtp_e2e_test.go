package daemon

import (
	"testing"
	"time"
)

// An extension that must use SRTP cannot call over plain UDP signalling
// with a plain offer: 488, and nothing rings.
func TestE2ERequireSRTP(t *testing.T) {
	ctx := testCtx(t, 20*time.Second)
	p := startPBX(t, pbxOptions{})
	if err := p.admin().SetRequireSRTP(ctx, "101", true); err != nil {
		t.Fatal(err)
	}
	caller, callee := newPhone(t, p, "101"), newPhone(t, p, "102")
	caller.mustRegister(ctx)
	callee.mustRegister(ctx)
	oc := caller.call(ctx, "102", buildSDP(caller.rtpPort(), ptsAll, "sendrecv"), ptsAll)
	if res := oc.waitFinal(ctx); res.StatusCode != 488 {
		t.Fatalf("plain call from an SRTP-only extension answered %d, want 488", res.StatusCode)
	}
	// A callee that requires SRTP and is registered over UDP only cannot
	// be reached: 480, and its phone never rings.
	if err := p.admin().SetRequireSRTP(ctx, "101", false); err != nil {
		t.Fatal(err)
	}
	if err := p.admin().SetRequireSRTP(ctx, "102", true); err != nil {
		t.Fatal(err)
	}
	oc = caller.call(ctx, "102", buildSDP(caller.rtpPort(), ptsAll, "sendrecv"), ptsAll)
	if res := oc.waitFinal(ctx); res.StatusCode != 480 {
		t.Fatalf("call to an SRTP-only extension on UDP answered %d, want 480", res.StatusCode)
	}
	select {
	case <-callee.incoming:
		t.Fatal("the SRTP-only phone rang over plain SIP")
	default:
	}
}
