package daemon

import (
	"bytes"
	"context"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"hushbox/audio/g711"
	"hushbox/pbx/control"
	"hushbox/pbx/store"
)

// Offers the tests' phones make.
var (
	ptsAll  = []int{0, 8, 101}
	ptsAlaw = []int{8, 101}
)

// regsOf returns the registrations of ext.
func regsOf(regs []control.Registration, ext string) []control.Registration {
	var out []control.Registration
	for _, r := range regs {
		if r.Extension == ext {
			out = append(out, r)
		}
	}
	return out
}

var nonceRE = regexp.MustCompile(`nonce="[^"]*"`)

// challengeShape is a response's status and headers with what may differ
// between two requests blanked out: the echoed request headers' values and
// the nonce.
func challengeShape(res *sip.Response) string {
	parts := []string{strconv.Itoa(res.StatusCode) + " " + res.Reason}
	for _, h := range res.Headers() {
		v := h.Value()
		switch strings.ToLower(h.Name()) {
		case "via", "from", "to", "call-id", "cseq":
			v = "(echo)"
		}
		parts = append(parts, h.Name()+": "+nonceRE.ReplaceAllString(v, `nonce="-"`))
	}
	return strings.Join(parts, "\n")
}

func TestE2ERegister(t *testing.T) {
	ctx := testCtx(t, 30*time.Second)
	p := startPBX(t, pbxOptions{})

	t.Run("right password", func(t *testing.T) {
		ph := newPhone(t, p, "101")
		ch, res := ph.register(ctx, ph.password, 3600)
		if ch == nil || ch.StatusCode != 401 {
			t.Fatalf("first REGISTER not challenged: %v", res.StatusCode)
		}
		if res.StatusCode != 200 {
			t.Fatalf("REGISTER: %d %s, want 200", res.StatusCode, res.Reason)
		}
		regs := regsOf(p.registrations(ctx), "101")
		if len(regs) != 1 || !strings.Contains(regs[0].Contact, ":"+strconv.Itoa(ph.port)) {
			t.Fatalf("registrations of 101 = %+v, want the phone's contact on port %d", regs, ph.port)
		}

		// Expires below the minimum: 423 with Min-Expires.
		_, res = ph.register(ctx, ph.password, 30)
		if res.StatusCode != 423 {
			t.Fatalf("Expires: 30 answered %d, want 423", res.StatusCode)
		}
		if h := res.GetHeader("Min-Expires"); h == nil || h.Value() != "60" {
			t.Fatalf("423 without Min-Expires: 60: %v", h)
		}
		if n := len(regsOf(p.registrations(ctx), "101")); n != 1 {
			t.Fatalf("%d registrations of 101 after 423, want the first one only", n)
		}

		// Expires: 0 unregisters.
		_, res = ph.register(ctx, ph.password, 0)
		if res.StatusCode != 200 {
			t.Fatalf("unregister: %d", res.StatusCode)
		}
		if regs := regsOf(p.registrations(ctx), "101"); len(regs) != 0 {
			t.Fatalf("still registered after Expires: 0: %+v", regs)
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		ph := newPhone(t, p, "104")
		_, res := ph.register(ctx, "not-the-password", 3600)
		if res.StatusCode != 403 {
			t.Fatalf("wrong password: %d, want 403", res.StatusCode)
		}
		if regs := regsOf(p.registrations(ctx), "104"); len(regs) != 0 {
			t.Fatalf("refused REGISTER left a binding: %+v", regs)
		}
	})

	t.Run("unknown user looks like a known one", func(t *testing.T) {
		known := newPhone(t, p, "104")
		unknown := newPhone(t, p, "999")
		chK, resK := known.register(ctx, "a-guess-1234", 3600)
		chU, resU := unknown.register(ctx, "a-guess-1234", 3600)
		if chK == nil || chU == nil {
			t.Fatalf("a REGISTER was not challenged: known %d, unknown %d", resK.StatusCode, resU.StatusCode)
		}
		if got, want := challengeShape(chU), challengeShape(chK); got != want {
			t.Fatalf("challenges differ:\nunknown:\n%s\nknown:\n%s", got, want)
		}
		wa := chK.GetHeaders("WWW-Authenticate")
		if len(wa) != 2 || !strings.Contains(wa[0].Value(), "SHA-256") || !strings.Contains(wa[1].Value(), "MD5") {
			t.Fatalf("want a SHA-256 then an MD5 challenge, got %v", wa)
		}
		// With a wrong password both get the same refusal too.
		if resK.StatusCode != 403 || resU.StatusCode != 403 {
			t.Fatalf("wrong password: known %d, unknown %d, want 403 both", resK.StatusCode, resU.StatusCode)
		}
		if got, want := challengeShape(resU), challengeShape(resK); got != want {
			t.Fatalf("refusals differ:\nunknown:\n%s\nknown:\n%s", got, want)
		}
		if regs := regsOf(p.registrations(ctx), "999"); len(regs) != 0 {
			t.Fatalf("unknown user registered: %+v", regs)
		}
	})

	t.Run("two phones on one extension", func(t *testing.T) {
		a, b := newPhone(t, p, "102"), newPhone(t, p, "102")
		a.mustRegister(ctx)
		_, res := b.register(ctx, b.password, 3600)
		if res.StatusCode != 200 {
			t.Fatalf("second phone: %d", res.StatusCode)
		}
		if n := len(res.GetHeaders("Contact")); n != 2 {
			t.Fatalf("200 lists %d contacts, want both phones", n)
		}
		regs := regsOf(p.registrations(ctx), "102")
		if len(regs) != 2 {
			t.Fatalf("registrations of 102 = %+v, want two", regs)
		}
		for _, ph := range []*phone{a, b} {
			found := false
			for _, r := range regs {
				found = found || strings.HasSuffix(r.Contact, ":"+strconv.Itoa(ph.port))
			}
			if !found {
				t.Errorf("phone on port %d not listed in %+v", ph.port, regs)
			}
		}
		// Both in one REGISTER as well.
		c := newPhone(t, p, "103")
		extra := c.contactURI()
		extra.Port = 9 // a second contact of the same phone
		_, res = c.register(ctx, c.password, 3600, c.contactURI(), extra)
		if res.StatusCode != 200 || len(regsOf(p.registrations(ctx), "103")) != 2 {
			t.Fatalf("two contacts in one REGISTER: %d, %+v", res.StatusCode, regsOf(p.registrations(ctx), "103"))
		}
	})
}

// checkRelaySDP checks that an SDP body points media at the relay, not at
// a phone.
func checkRelaySDP(t *testing.T, p *pbx, what string, body []byte, notPort int) sdpInfo {
	t.Helper()
	s, err := parseSDP(body)
	if err != nil {
		t.Fatalf("%s: %v\n%s", what, err, body)
	}
	if s.addr != netip.MustParseAddr("127.0.0.1") || !p.inRange(s.port) || s.port == notPort {
		t.Fatalf("%s points media at %v, want 127.0.0.1 and a relay port in %d-%d (not the phone's %d)",
			what, s.media(), p.rtpLo, p.rtpHi, notPort)
	}
	return s
}

func payloadOf(tag byte) func(int) []byte {
	return func(i int) []byte {
		b := bytes.Repeat([]byte{tag}, 160)
		b[0] = byte(i)
		return b
	}
}

// answeredCall places a call from caller to callee's extension, which
// answers automatically; it returns both sides.
func answeredCall(t *testing.T, ctx context.Context, p *pbx, caller, callee *phone, pts []int) (*outCall, *inCall) {
	t.Helper()
	oc := caller.call(ctx, callee.ext, buildSDP(caller.rtpPort(), pts, "sendrecv"), pts)
	if oc.challenge == nil {
		t.Fatalf("INVITE not challenged: %d", oc.final.StatusCode)
	}
	if res := oc.waitFinal(ctx); res.StatusCode != 200 {
		t.Fatalf("call answered %d %s, want 200", res.StatusCode, res.Reason)
	}
	ic := callee.waitCall(ctx)
	return oc, ic
}

// relayBothWays sends n packets each way and checks each side got them.
func relayBothWays(t *testing.T, ctx context.Context, caller, callee *phone, oc *outCall, ic *inCall, n int) {
	t.Helper()
	c0, e0 := caller.rtpCount.Load(), callee.rtpCount.Load()
	caller.sendRTP(oc.d.remoteSDP().media(), 0, n, payloadOf(0x11))
	callee.sendRTP(ic.offer.media(), 0, n, payloadOf(0x22))
	waitUntil(t, ctx, "RTP through the relay", func() bool {
		return caller.rtpCount.Load()-c0 >= int64(n) && callee.rtpCount.Load()-e0 >= int64(n)
	})
	if got := caller.rtpCount.Load() - c0; got != int64(n) {
		t.Errorf("caller received %d packets, want %d", got, n)
	}
	if got := callee.rtpCount.Load() - e0; got != int64(n) {
		t.Errorf("callee received %d packets, want %d", got, n)
	}
}

func TestE2EBasicCall(t *testing.T) {
	ctx := testCtx(t, 40*time.Second)
	p := startPBX(t, pbxOptions{})
	caller, callee := newPhone(t, p, "101"), newPhone(t, p, "102")
	caller.mustRegister(ctx)
	callee.mustRegister(ctx)

	t.Run("caller hangs up", func(t *testing.T) {
		// The callee rings until the caller has heard it ringing: sipgo
		// handles each message on its own goroutine, so a 180 right before
		// the 200 may be overtaken.
		callee.setMode(ringOnly)
		defer callee.setMode(autoAnswer)
		oc := caller.call(ctx, "102", buildSDP(caller.rtpPort(), ptsAll, "sendrecv"), ptsAll)
		if oc.challenge == nil || oc.challenge.StatusCode != 407 {
			t.Fatalf("INVITE not challenged with 407: %v", oc.codes)
		}
		if n := len(oc.challenge.GetHeaders("Proxy-Authenticate")); n != 2 {
			t.Fatalf("407 carries %d Proxy-Authenticate, want SHA-256 and MD5", n)
		}
		ic := callee.waitCall(ctx)
		oc.waitCode(ctx, 180)
		ic.respond(ctx, 200)
		res := oc.waitFinal(ctx)
		if res.StatusCode != 200 {
			t.Fatalf("call answered %d, want 200", res.StatusCode)
		}
		checkRelaySDP(t, p, "offer to the callee", ic.req.Body(), caller.rtpPort())
		ans := checkRelaySDP(t, p, "answer to the caller", res.Body(), callee.rtpPort())
		if ans.port == ic.offer.port {
			t.Fatalf("both legs use relay port %d", ans.port)
		}
		if ct := res.GetHeader("Content-Type"); ct == nil || ct.Value() != "application/sdp" {
			t.Errorf("200 Content-Type %v", ct)
		}
		waitUntil(t, ctx, "ACK at the callee", func() bool { return len(ic.d.acks) > 0 })

		relayBothWays(t, ctx, caller, callee, oc, ic, 50)
		for _, pk := range callee.received() {
			if pk.PayloadType != 0 || len(pk.Payload) != 160 || pk.Payload[1] != 0x11 {
				t.Fatalf("callee got PT %d payload %x..., want the caller's PCMU untouched", pk.PayloadType, pk.Payload[:4])
			}
		}

		if r := oc.d.bye(ctx); r.StatusCode != 200 {
			t.Fatalf("BYE answered %d", r.StatusCode)
		}
		ic.d.waitBye(ctx)
		cdr := p.waitCDR(ctx, oc.callID())
		if cdr.Disposition != store.DispAnswered || cdr.From != "101" || cdr.To != "102" ||
			cdr.Hangup != store.HangupCaller || cdr.SIPCode != 200 || cdr.Answer.IsZero() || cdr.Codec != "PCMU" {
			t.Fatalf("CDR %+v, want ANSWERED 101->102 hung up by the caller, PCMU", cdr)
		}
		waitUntil(t, ctx, "relay ports freed", p.relayPortsFree)
	})

	t.Run("callee hangs up", func(t *testing.T) {
		oc, ic := answeredCall(t, ctx, p, caller, callee, ptsAll)
		relayBothWays(t, ctx, caller, callee, oc, ic, 10)
		if r := ic.d.bye(ctx); r.StatusCode != 200 {
			t.Fatalf("BYE from callee answered %d", r.StatusCode)
		}
		oc.d.waitBye(ctx)
		cdr := p.waitCDR(ctx, oc.callID())
		if cdr.Disposition != store.DispAnswered || cdr.Hangup != store.HangupCallee {
			t.Fatalf("CDR %+v, want ANSWERED hung up by the callee", cdr)
		}
	})
}

func TestE2EForking(t *testing.T) {
	ctx := testCtx(t, 30*time.Second)
	p := startPBX(t, pbxOptions{})
	caller := newPhone(t, p, "101")
	desk, mobile := newPhone(t, p, "102"), newPhone(t, p, "102")
	caller.mustRegister(ctx)
	for _, ph := range []*phone{desk, mobile} {
		ph.setMode(ringOnly)
		ph.mustRegister(ctx)
	}
	oc := caller.call(ctx, "102", buildSDP(caller.rtpPort(), ptsAll, "sendrecv"), ptsAll)
	icDesk, icMobile := desk.waitCall(ctx), mobile.waitCall(ctx)
	oc.waitCode(ctx, 180)

	icMobile.respond(ctx, 200)
	if res := oc.waitFinal(ctx); res.StatusCode != 200 {
		t.Fatalf("call answered %d, want 200", res.StatusCode)
	}
	icDesk.waitCancel(ctx)
	waitWire(t, ctx, desk, icDesk.d.callID, cancelSeen)
	if icDesk.final.Load() != 0 {
		t.Fatalf("the cancelled phone answered %d itself", icDesk.final.Load())
	}
	relayBothWays(t, ctx, caller, mobile, oc, icMobile, 10)
	if got := desk.rtpCount.Load(); got != 0 {
		t.Errorf("the phone that lost got %d RTP packets", got)
	}
	oc.d.bye(ctx)
	icMobile.d.waitBye(ctx)
	if icDesk.d.gotBye() {
		t.Error("the cancelled phone got a BYE")
	}
	cdr := p.waitCDR(ctx, oc.callID())
	if cdr.Disposition != store.DispAnswered {
		t.Fatalf("CDR %+v, want ANSWERED", cdr)
	}
}

func TestE2EFailures(t *testing.T) {
	ctx := testCtx(t, 30*time.Second)
	p := startPBX(t, pbxOptions{})
	caller, callee := newPhone(t, p, "101"), newPhone(t, p, "102")
	caller.mustRegister(ctx)
	callee.setMode(busy)
	callee.mustRegister(ctx)
	offer := buildSDP(caller.rtpPort(), ptsAll, "sendrecv")

	t.Run("busy", func(t *testing.T) {
		oc := caller.call(ctx, "102", offer, ptsAll)
		if res := oc.waitFinal(ctx); res.StatusCode != 486 {
			t.Fatalf("busy callee: caller got %d, want 486", res.StatusCode)
		}
		if cdr := p.waitCDR(ctx, oc.callID()); cdr.Disposition != store.DispBusy {
			t.Fatalf("CDR %+v, want BUSY", cdr)
		}
	})
	t.Run("not registered", func(t *testing.T) {
		oc := caller.call(ctx, "103", offer, ptsAll)
		if res := oc.waitFinal(ctx); res.StatusCode != 480 {
			t.Fatalf("unregistered callee: %d, want 480", res.StatusCode)
		}
	})
	t.Run("unknown number", func(t *testing.T) {
		oc := caller.call(ctx, "555", offer, ptsAll)
		if res := oc.waitFinal(ctx); res.StatusCode != 404 {
			t.Fatalf("unknown number: %d, want 404", res.StatusCode)
		}
	})
	t.Run("no common codec", func(t *testing.T) {
		oc := caller.call(ctx, "102", buildSDP(caller.rtpPort(), []int{18}, "sendrecv"), []int{18})
		if res := oc.waitFinal(ctx); res.StatusCode != 488 {
			t.Fatalf("G.729 only: %d, want 488", res.StatusCode)
		}
	})
	t.Run("garbage SDP", func(t *testing.T) {
		oc := caller.call(ctx, "102", []byte("this is not an SDP body\r\n"), nil)
		if res := oc.waitFinal(ctx); res.StatusCode != 400 {
			t.Fatalf("garbage SDP: %d, want 400", res.StatusCode)
		}
	})
	t.Run("no SDP", func(t *testing.T) {
		oc := caller.call(ctx, "102", nil, nil)
		if res := oc.waitFinal(ctx); res.StatusCode != 488 {
			t.Fatalf("INVITE without SDP: %d, want 488", res.StatusCode)
		}
	})
	waitUntil(t, ctx, "relay ports freed", p.relayPortsFree)
}

func TestE2ECancel(t *testing.T) {
	ctx := testCtx(t, 30*time.Second)
	p := startPBX(t, pbxOptions{})
	caller, callee := newPhone(t, p, "101"), newPhone(t, p, "102")
	caller.mustRegister(ctx)
	callee.setMode(ringOnly)
	callee.mustRegister(ctx)

	oc := caller.call(ctx, "102", buildSDP(caller.rtpPort(), ptsAll, "sendrecv"), ptsAll)
	ic := callee.waitCall(ctx)
	oc.waitCode(ctx, 180)
	if res := oc.cancel(ctx); res.StatusCode != 200 {
		t.Fatalf("CANCEL answered %d, want 200", res.StatusCode)
	}
	if res := oc.waitFinal(ctx); res.StatusCode != 487 {
		t.Fatalf("cancelled INVITE answered %d, want 487", res.StatusCode)
	}
	ic.waitCancel(ctx)
	waitWire(t, ctx, callee, ic.d.callID, cancelSeen)
	// RFC 3261 8.2.6.2: every response to the INVITE carries the same To tag.
	ringing, terminated := toTags(caller, oc.callID(), "180"), toTags(caller, oc.callID(), "487")
	if len(ringing) == 0 || len(terminated) == 0 || ringing[0] != terminated[0] {
		t.Errorf("To tag of 180 %q and of 487 %q differ", ringing, terminated)
	}
	cdr := p.waitCDR(ctx, oc.callID())
	if cdr.Disposition != store.DispCancelled || cdr.Hangup != store.HangupCaller {
		t.Fatalf("CDR %+v, want CANCELLED by the caller", cdr)
	}
	waitUntil(t, ctx, "relay ports freed", p.relayPortsFree)
}

func TestE2EHoldResume(t *testing.T) {
	ctx := testCtx(t, 30*time.Second)
	p := startPBX(t, pbxOptions{})
	caller, callee := newPhone(t, p, "101"), newPhone(t, p, "102")
	caller.mustRegister(ctx)
	callee.mustRegister(ctx)
	oc, ic := answeredCall(t, ctx, p, caller, callee, ptsAll)

	for _, step := range []struct{ offer, answer string }{{"sendonly", "recvonly"}, {"sendrecv", "sendrecv"}} {
		res := oc.d.reinviteDir(ctx, step.offer)
		if res.StatusCode != 200 {
			t.Fatalf("re-INVITE %s answered %d", step.offer, res.StatusCode)
		}
		var got sdpInfo
		select {
		case got = <-ic.d.reinvite:
		case <-ctx.Done():
			t.Fatalf("callee got no re-INVITE for %s", step.offer)
		}
		if got.dir != step.offer {
			t.Fatalf("callee's re-INVITE offers a=%s, want a=%s", got.dir, step.offer)
		}
		checkRelaySDP(t, p, "re-INVITE to the callee", buildSDP(got.port, got.pts, got.dir), caller.rtpPort())
		ans := checkRelaySDP(t, p, "re-INVITE answer", res.Body(), callee.rtpPort())
		if ans.dir != step.answer {
			t.Fatalf("caller's re-INVITE %s answered a=%s, want a=%s", step.offer, ans.dir, step.answer)
		}
	}
	relayBothWays(t, ctx, caller, callee, oc, ic, 10)
	oc.d.bye(ctx)
	ic.d.waitBye(ctx)
}

func TestE2EShutdownEndsCalls(t *testing.T) {
	ctx := testCtx(t, 30*time.Second)
	p := startPBX(t, pbxOptions{})
	caller, callee := newPhone(t, p, "101"), newPhone(t, p, "102")
	caller.mustRegister(ctx)
	callee.mustRegister(ctx)
	oc, ic := answeredCall(t, ctx, p, caller, callee, ptsAll)
	waitUntil(t, ctx, "ACK at the callee", func() bool { return len(ic.d.acks) > 0 })

	stopped := make(chan error, 1)
	go func() { stopped <- p.stop() }()
	oc.d.waitBye(ctx)
	ic.d.waitBye(ctx)
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("daemon did not stop")
	}
	if !strings.Contains(p.out.String(), "hushbox: stopped") {
		t.Errorf("no \"stopped\" line in:\n%s", p.out.String())
	}
	// The CDR was written before the store closed.
	db, err := store.Open(p.dir + "/" + DBName)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cdrs, err := db.CDRs(store.CDRQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cdrs) != 1 || cdrs[0].CallID != oc.callID() || cdrs[0].Hangup != store.HangupShutdown {
		t.Fatalf("CDRs after shutdown: %+v, want the call hung up by shutdown", cdrs)
	}
}

func TestE2ETranscode(t *testing.T) {
	ctx := testCtx(t, 30*time.Second)
	p := startPBX(t, pbxOptions{})
	caller, callee := newPhone(t, p, "101"), newPhone(t, p, "102")
	callee.setCodecs("PCMU")
	caller.mustRegister(ctx)
	callee.mustRegister(ctx)
	oc, ic := answeredCall(t, ctx, p, caller, callee, ptsAlaw)
	if ans := oc.d.remoteSDP(); len(ans.pts) == 0 || ans.names[ans.pts[0]] != "PCMA" {
		t.Fatalf("caller's answer formats %v %v, want PCMA", ans.pts, ans.names)
	}

	const n = 20
	sent := make([][]byte, n)
	for i := range sent {
		sent[i] = make([]byte, 160)
		for j := range sent[i] {
			sent[i][j] = byte(i*31 + j*7) // every A-law code shows up
		}
	}
	caller.sendRTP(oc.d.remoteSDP().media(), 8, n, func(i int) []byte { return sent[i] })
	waitUntil(t, ctx, "transcoded RTP at the callee", func() bool { return callee.rtpCount.Load() >= n })
	got := callee.received()
	if len(got) != n {
		t.Fatalf("callee got %d packets, want %d", len(got), n)
	}
	for i, pk := range got {
		if pk.PayloadType != 0 {
			t.Fatalf("packet %d has PT %d, want 0 (PCMU)", i, pk.PayloadType)
		}
		idx := int(pk.SequenceNumber) - 1000
		if idx < 0 || idx >= n {
			t.Fatalf("packet %d: unexpected sequence number %d", i, pk.SequenceNumber)
		}
		want := make([]byte, 160)
		for j, a := range sent[idx] {
			want[j] = g711.AlawToUlaw(a)
		}
		if !bytes.Equal(pk.Payload, want) {
			t.Fatalf("packet %d payload is not the A-law -> mu-law conversion of what was sent", idx)
		}
	}
	// And back: mu-law from the callee reaches the caller as A-law.
	callee.sendRTP(ic.offer.media(), 0, n, func(i int) []byte { return bytes.Repeat([]byte{0xff}, 160) })
	waitUntil(t, ctx, "transcoded RTP at the caller", func() bool { return caller.rtpCount.Load() >= n })
	for _, pk := range caller.received() {
		if pk.PayloadType != 8 || pk.Payload[0] != g711.UlawToAlaw(0xff) {
			t.Fatalf("caller got PT %d payload %x, want PCMA %x", pk.PayloadType, pk.Payload[0], g711.UlawToAlaw(0xff))
		}
	}
	oc.d.bye(ctx)
	ic.d.waitBye(ctx)
	if cdr := p.waitCDR(ctx, oc.callID()); cdr.Codec != "PCMA/PCMU" {
		t.Errorf("CDR codec %q, want PCMA/PCMU", cdr.Codec)
	}
}

func TestE2EMediaTimeout(t *testing.T) {
	ctx := testCtx(t, 30*time.Second)
	p := startPBX(t, pbxOptions{mediaTimeout: 2 * time.Second})
	caller, callee := newPhone(t, p, "101"), newPhone(t, p, "102")
	caller.mustRegister(ctx)
	callee.mustRegister(ctx)
	oc, ic := answeredCall(t, ctx, p, caller, callee, ptsAll)
	oc.d.waitBye(ctx)
	ic.d.waitBye(ctx)
	cdr := p.waitCDR(ctx, oc.callID())
	if cdr.Disposition != store.DispAnswered || cdr.Hangup != store.HangupMediaTimeout {
		t.Fatalf("CDR %+v, want ANSWERED ended by media timeout", cdr)
	}
	waitUntil(t, ctx, "relay ports freed", p.relayPortsFree)
}

// wireStep matches one SIP message: its direction, the start of its
// start line and its CSeq method.
type wireStep struct {
	out    bool
	start  string
	method string
}

// cancelSeen is what a phone whose ringing INVITE is cancelled exchanges:
// CANCEL in, 200 for it, 487 for the INVITE, and the PBX's ACK of the 487.
var cancelSeen = []wireStep{{false, "CANCEL ", "CANCEL"}, {true, "SIP/2.0 200", "CANCEL"},
	{true, "SIP/2.0 487", "INVITE"}, {false, "ACK ", "ACK"}}

func hasSeq(ms []wireMsg, steps []wireStep) bool {
	i := 0
	for _, m := range ms {
		if i == len(steps) {
			break
		}
		st := steps[i]
		f := strings.Fields(m.header("CSeq"))
		if m.out == st.out && strings.HasPrefix(m.startLine(), st.start) && len(f) == 2 && f[1] == st.method {
			i++
		}
	}
	return i == len(steps)
}

// waitWire waits until the phone's messages of a call include steps in order.
func waitWire(t *testing.T, ctx context.Context, ph *phone, callID string, steps []wireStep) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !hasSeq(ph.wireOf(callID), steps) {
		select {
		case <-ctx.Done():
			t.Fatalf("phone %s never saw %v; it saw:\n%s", ph.ext, steps, wireSummary(ph.wireOf(callID)))
		case <-tick.C:
		}
	}
}

// toTags returns the To tag of every response with the given status the
// phone received for a call.
func toTags(ph *phone, callID string, status string) []string {
	var out []string
	for _, m := range ph.wireOf(callID) {
		if !m.out && strings.HasPrefix(m.startLine(), "SIP/2.0 "+status) {
			_, tag, _ := strings.Cut(m.header("To"), "tag=")
			tag, _, _ = strings.Cut(tag, ";")
			out = append(out, tag)
		}
	}
	return out
}

func TestE2EForkRaces(t *testing.T) {
	ctx := testCtx(t, 30*time.Second)
	p := startPBX(t, pbxOptions{})
	caller := newPhone(t, p, "101")
	caller.mustRegister(ctx)
	desk, mobile := newPhone(t, p, "102"), newPhone(t, p, "102")
	desk.mustRegister(ctx)
	mobile.mustRegister(ctx)

	t.Run("both answer at once", func(t *testing.T) {
		desk.setMode(autoAnswer)
		mobile.setMode(autoAnswer)
		oc := caller.call(ctx, "102", buildSDP(caller.rtpPort(), ptsAll, "sendrecv"), ptsAll)
		if res := oc.waitFinal(ctx); res.StatusCode != 200 {
			t.Fatalf("call answered %d", res.StatusCode)
		}
		icDesk, icMobile := desk.waitCall(ctx), mobile.waitCall(ctx)
		// Exactly one phone keeps the call; the other is acknowledged and
		// hung up at once, not left off-hook.
		winner, loser := icDesk, icMobile
		select {
		case <-icDesk.d.byes:
			winner, loser = icMobile, icDesk
		case <-icMobile.d.byes:
		case <-ctx.Done():
			t.Fatal("neither phone was hung up: both think they have the call")
		}
		waitUntil(t, ctx, "ACK of the losing phone's 200", func() bool { return len(loser.d.acks) > 0 })
		if winner.d.gotBye() {
			t.Fatal("both phones were hung up")
		}
		relayBothWays(t, ctx, caller, winner.ph, oc, winner, 10)
		oc.d.bye(ctx)
		winner.d.waitBye(ctx)
	})

	t.Run("one busy, one answers", func(t *testing.T) {
		desk.setMode(busy)
		mobile.setMode(autoAnswer)
		oc := caller.call(ctx, "102", buildSDP(caller.rtpPort(), ptsAll, "sendrecv"), ptsAll)
		if res := oc.waitFinal(ctx); res.StatusCode != 200 {
			t.Fatalf("call answered %d, want 200 from the free phone", res.StatusCode)
		}
		desk.waitCall(ctx)
		ic := mobile.waitCall(ctx)
		oc.d.bye(ctx)
		ic.d.waitBye(ctx)
	})

	t.Run("all busy", func(t *testing.T) {
		desk.setMode(busy)
		mobile.setMode(busy)
		oc := caller.call(ctx, "102", buildSDP(caller.rtpPort(), ptsAll, "sendrecv"), ptsAll)
		if res := oc.waitFinal(ctx); res.StatusCode != 486 {
			t.Fatalf("all phones busy: %d, want 486", res.StatusCode)
		}
		desk.waitCall(ctx)
		mobile.waitCall(ctx)
		if cdr := p.waitCDR(ctx, oc.callID()); cdr.Disposition != store.DispBusy {
			t.Fatalf("CDR %+v, want BUSY", cdr)
		}
	})
	waitUntil(t, ctx, "relay ports freed", p.relayPortsFree)
}

func TestE2ERingTimeout(t *testing.T) {
	ctx := testCtx(t, 30*time.Second)
	p := startPBX(t, pbxOptions{ringTimeout: time.Second})
	caller, callee := newPhone(t, p, "101"), newPhone(t, p, "102")
	caller.mustRegister(ctx)
	callee.setMode(ringOnly)
	callee.mustRegister(ctx)
	oc := caller.call(ctx, "102", buildSDP(caller.rtpPort(), ptsAll, "sendrecv"), ptsAll)
	ic := callee.waitCall(ctx)
	if res := oc.waitFinal(ctx); res.StatusCode != 480 {
		t.Fatalf("unanswered call: %d, want 480", res.StatusCode)
	}
	ic.waitCancel(ctx)
	waitWire(t, ctx, callee, ic.d.callID, cancelSeen)
	cdr := p.waitCDR(ctx, oc.callID())
	if cdr.Disposition != store.DispNoAnswer || cdr.Hangup != store.HangupTimeout {
		t.Fatalf("CDR %+v, want NO ANSWER by timeout", cdr)
	}
	waitUntil(t, ctx, "relay ports freed", p.relayPortsFree)
}

func TestE2EShutdownWhileRinging(t *testing.T) {
	ctx := testCtx(t, 30*time.Second)
	p := startPBX(t, pbxOptions{})
	caller, callee := newPhone(t, p, "101"), newPhone(t, p, "102")
	caller.mustRegister(ctx)
	callee.setMode(ringOnly)
	callee.mustRegister(ctx)
	oc := caller.call(ctx, "102", buildSDP(caller.rtpPort(), ptsAll, "sendrecv"), ptsAll)
	ic := callee.waitCall(ctx)
	oc.waitCode(ctx, 180)
	stopped := make(chan error, 1)
	go func() { stopped <- p.stop() }()
	if res := oc.waitFinal(ctx); res.StatusCode != 503 {
		t.Fatalf("ringing call at shutdown: %d, want 503", res.StatusCode)
	}
	ic.waitCancel(ctx)
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatal("daemon did not stop")
	}
}

func TestE2EInDialogEdgeCases(t *testing.T) {
	ctx := testCtx(t, 30*time.Second)
	p := startPBX(t, pbxOptions{})
	caller, callee := newPhone(t, p, "101"), newPhone(t, p, "102")
	caller.mustRegister(ctx)
	callee.mustRegister(ctx)

	t.Run("hold from the callee", func(t *testing.T) {
		oc, ic := answeredCall(t, ctx, p, caller, callee, ptsAll)
		res := ic.d.reinviteDir(ctx, "sendonly")
		if res.StatusCode != 200 {
			t.Fatalf("callee's re-INVITE answered %d", res.StatusCode)
		}
		var got sdpInfo
		select {
		case got = <-oc.d.reinvite:
		case <-ctx.Done():
			t.Fatal("caller got no re-INVITE")
		}
		if got.dir != "sendonly" || got.port != oc.d.remoteSDP().port {
			t.Fatalf("caller's re-INVITE: a=%s port %d, want a=sendonly on relay port %d", got.dir, got.port, oc.d.remoteSDP().port)
		}
		if ans, _ := parseSDP(res.Body()); ans.dir != "recvonly" {
			t.Fatalf("callee's hold answered a=%s, want a=recvonly", ans.dir)
		}
		oc.d.bye(ctx)
		ic.d.waitBye(ctx)
	})

	t.Run("session refresh without SDP", func(t *testing.T) {
		oc, ic := answeredCall(t, ctx, p, caller, callee, ptsAll)
		before := oc.d.remoteSDP()
		res := oc.d.reinviteBody(ctx, nil)
		if res.StatusCode != 200 {
			t.Fatalf("offerless re-INVITE answered %d", res.StatusCode)
		}
		offer := checkRelaySDP(t, p, "offer in the 200 to an offerless re-INVITE", res.Body(), callee.rtpPort())
		if offer.port != before.port {
			t.Fatalf("relay port moved from %d to %d", before.port, offer.port)
		}
		relayBothWays(t, ctx, caller, callee, oc, ic, 10)
		oc.d.bye(ctx)
		ic.d.waitBye(ctx)
	})

	t.Run("INFO relayed", func(t *testing.T) {
		oc, ic := answeredCall(t, ctx, p, caller, callee, ptsAll)
		body := "Signal=5\r\nDuration=160\r\n"
		info := oc.d.request(sip.INFO, nil)
		info.AppendHeader(sip.NewHeader("Content-Type", "application/dtmf-relay"))
		info.SetBody([]byte(body))
		res, err := caller.cli.Do(ctx, info)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("INFO: %v %v", res, err)
		}
		select {
		case got := <-ic.d.infos:
			if string(got.Body()) != body || got.ContentType() == nil || got.ContentType().Value() != "application/dtmf-relay" {
				t.Fatalf("callee got INFO %q (%v), want %q as application/dtmf-relay", got.Body(), got.ContentType(), body)
			}
		case <-ctx.Done():
			t.Fatal("INFO not relayed to the callee")
		}
		oc.d.bye(ctx)
		ic.d.waitBye(ctx)
	})

	t.Run("BYE for no call", func(t *testing.T) {
		oc, ic := answeredCall(t, ctx, p, caller, callee, ptsAll)
		stray := newDialog(caller)
		stray.callID, stray.localTag, stray.remoteTag = oc.d.callID, oc.d.localTag, "not-a-tag"
		stray.localURI, stray.remoteURI, stray.remoteTarget = oc.d.localURI, oc.d.remoteURI, oc.d.remoteTarget
		stray.cseq = 100
		if res := stray.bye(ctx); res.StatusCode != 481 {
			t.Fatalf("BYE with a wrong tag: %d, want 481", res.StatusCode)
		}
		if ic.d.gotBye() {
			t.Fatal("a BYE with a wrong tag hung up the call")
		}
		if res := oc.d.bye(ctx); res.StatusCode != 200 {
			t.Fatalf("BYE: %d", res.StatusCode)
		}
		ic.d.waitBye(ctx)
		p.waitCDR(ctx, oc.callID()) // the call is over
		if res := oc.d.bye(ctx); res.StatusCode != 481 {
			t.Fatalf("second BYE: %d, want 481", res.StatusCode)
		}
	})

	t.Run("INVITE with a wrong password", func(t *testing.T) {
		intruder := newPhone(t, p, "101")
		intruder.password = "not-the-password"
		oc := intruder.call(ctx, "102", buildSDP(intruder.rtpPort(), ptsAll, "sendrecv"), ptsAll)
		if res := oc.waitFinal(ctx); res.StatusCode != 403 {
			t.Fatalf("wrong password: %d, want 403", res.StatusCode)
		}
	})
}

// A caller may give up before the callee's phone said anything: the PBX
// must still cancel the fork once the phone answers provisionally.
func TestE2ECancelBeforeRinging(t *testing.T) {
	ctx := testCtx(t, 30*time.Second)
	p := startPBX(t, pbxOptions{})
	caller, callee := newPhone(t, p, "101"), newPhone(t, p, "102")
	caller.mustRegister(ctx)
	callee.setMode(silent)
	callee.mustRegister(ctx)
	oc := caller.call(ctx, "102", buildSDP(caller.rtpPort(), ptsAll, "sendrecv"), ptsAll)
	ic := callee.waitCall(ctx)
	oc.waitCode(ctx, 100)
	if res := oc.cancel(ctx); res.StatusCode != 200 {
		t.Fatalf("CANCEL answered %d", res.StatusCode)
	}
	if res := oc.waitFinal(ctx); res.StatusCode != 487 {
		t.Fatalf("cancelled INVITE answered %d, want 487", res.StatusCode)
	}
	ic.waitCancel(ctx)
	waitWire(t, ctx, callee, ic.d.callID, cancelSeen)
	waitUntil(t, ctx, "relay ports freed", p.relayPortsFree)
}

// Calls run side by side, each with its own relay ports, until the relay
// range is full; then a new call is refused with 503, and the range is
// whole again once the calls end.
func TestE2EConcurrentCallsAndFullRelay(t *testing.T) {
	ctx := testCtx(t, 30*time.Second)
	p := startPBX(t, pbxOptions{})
	caller, callee := newPhone(t, p, "101"), newPhone(t, p, "102")
	caller.mustRegister(ctx)
	callee.mustRegister(ctx)
	// 20 relay ports are 10 RTP/RTCP pairs: 5 calls of two legs each.
	const capacity = 5
	type pair struct {
		oc *outCall
		ic *inCall
	}
	var calls []pair
	ports := map[int]bool{}
	for range capacity {
		oc, ic := answeredCall(t, ctx, p, caller, callee, ptsAll)
		for _, port := range []int{oc.d.remoteSDP().port, ic.offer.port} {
			if ports[port] {
				t.Fatalf("relay port %d used by two calls", port)
			}
			ports[port] = true
		}
		calls = append(calls, pair{oc, ic})
	}
	oc := caller.call(ctx, "102", buildSDP(caller.rtpPort(), ptsAll, "sendrecv"), ptsAll)
	if res := oc.waitFinal(ctx); res.StatusCode != 503 {
		t.Fatalf("call with the relay full: %d, want 503", res.StatusCode)
	}
	// Media still flows on the newest call.
	last := calls[len(calls)-1]
	c0 := callee.rtpCount.Load()
	caller.sendRTP(last.oc.d.remoteSDP().media(), 0, 10, payloadOf(0x33))
	waitUntil(t, ctx, "RTP of the last call", func() bool { return callee.rtpCount.Load()-c0 >= 10 })
	for _, c := range calls {
		if r := c.oc.d.bye(ctx); r.StatusCode != 200 {
			t.Fatalf("BYE: %d", r.StatusCode)
		}
		c.ic.d.waitBye(ctx)
	}
	waitUntil(t, ctx, "relay ports freed", p.relayPortsFree)
	// And the range serves calls again.
	oc2, ic2 := answeredCall(t, ctx, p, caller, callee, ptsAll)
	oc2.d.bye(ctx)
	ic2.d.waitBye(ctx)
}
