package daemon

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"hushbox/pbx/sdp"
	"hushbox/pbx/srtp"
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

// A caller that offers SRTP hears nothing in the clear, even from a callee
// that sends RTP before it answers (the relay has the caller's address from
// the INVITE, its keys only from the answer); after the answer the caller
// decrypts the callee's audio with the key of the 200 OK.
func TestE2ESRTPCallerNothingClearBeforeAnswer(t *testing.T) {
	ctx := testCtx(t, 30*time.Second)
	p := startPBX(t, pbxOptions{})
	caller, callee := newPhone(t, p, "101"), newPhone(t, p, "102")
	caller.mustRegister(ctx)
	callee.setMode(ringOnly)
	callee.mustRegister(ctx)

	callerKey, err := srtp.NewCrypto(1, srtp.AES128CMSHA1_80)
	if err != nil {
		t.Fatal(err)
	}
	offer := strings.Replace(string(buildSDP(caller.rtpPort(), []int{0}, "sendrecv")), "RTP/AVP", "RTP/SAVP", 1) +
		"a=crypto:" + callerKey.Value() + "\r\n"
	oc := caller.call(ctx, "102", []byte(offer), []int{0})
	ic := callee.waitCall(ctx)
	if ic.offerErr != nil {
		t.Fatalf("callee's offer: %v", ic.offerErr)
	}
	voice := bytes.Repeat([]byte{0x5a, 0x13, 0xc7, 0x2e}, 40) // 160 octets
	const early = 10
	callee.sendRTP(ic.offer.media(), 0, early, func(int) []byte { return voice })
	// The relay forwards the early packets (under keys nobody holds) or
	// drops them; wait for its count, then for anything in flight.
	waitUntil(t, ctx, "relay read the early packets", func() bool {
		calls, err := p.admin().Calls(ctx)
		return err == nil && len(calls) == 1 && calls[0].PacketsBtoA >= early
	})
	time.Sleep(200 * time.Millisecond)
	for _, pkt := range caller.received() {
		if bytes.Contains(pkt.Payload, voice[:32]) {
			t.Fatalf("the SRTP caller received the callee's early audio in the clear (%d octets)", len(pkt.Payload))
		}
	}
	before := len(caller.received())

	ic.respond(ctx, 200)
	res := oc.waitFinal(ctx)
	if res.StatusCode != 200 {
		t.Fatalf("call answered %d", res.StatusCode)
	}
	oc.confirm(res)
	ans, err := sdp.Parse(res.Body())
	if err != nil || ans.Audio == nil || len(ans.Audio.SDES) != 1 {
		t.Fatalf("answer to an SRTP offer: %v, %+v", err, ans)
	}
	dec, err := srtp.NewDecrypter(ans.Audio.SDES[0])
	if err != nil {
		t.Fatal(err)
	}
	callee.sendRTP(ic.offer.media(), 0, 5, func(int) []byte { return voice })
	waitUntil(t, ctx, "the callee's audio at the caller", func() bool { return len(caller.received()) >= before+5 })
	heard := 0
	for _, pkt := range caller.received()[before:] {
		raw, err := pkt.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, voice[:32]) {
			t.Fatal("the SRTP caller received audio in the clear after the answer")
		}
		plain, err := dec.DecryptRTP(raw)
		if err != nil {
			continue // a leftover early packet under the throw-away keys
		}
		if bytes.HasSuffix(plain, voice) {
			heard++
		}
	}
	if heard < 5 {
		t.Fatalf("the caller decrypted %d of 5 of the callee's packets with the answer's key", heard)
	}
}
