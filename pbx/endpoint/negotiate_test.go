package endpoint

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"hushbox/crypto/keys"
	"hushbox/pbx/sdp"
)

var lo = netip.MustParseAddr("127.0.0.1")

// TestNegotiate runs offer and answer between two identities (or none) and
// checks the media plans and the keys on both sides.
func TestNegotiate(t *testing.T) {
	idA, idB := testIdentity(t), testIdentity(t)
	for _, tc := range []struct {
		name      string
		a, b      *keys.Identity
		scrambled bool
	}{
		{"both with identities", idA, idB, true},
		{"caller without", nil, idB, false},
		{"callee without", idA, nil, false},
		{"neither", nil, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			off, err := newOffer(tc.a, lo, 4000)
			if err != nil {
				t.Fatal(err)
			}
			defer off.destroy()
			if got := strings.Contains(string(off.body), "a=hushbox-key:"); got != (tc.a != nil) {
				t.Errorf("offer carries a key share: %v", got)
			}
			ans, err := answerOffer(off.body, tc.b, keys.TrustAny, sdp.NewOrigin(lo), lo, 5000)
			if err != nil {
				t.Fatal(err)
			}
			if ans.plan.Remote != netip.MustParseAddrPort("127.0.0.1:4000") || ans.plan.PT != 0 || ans.plan.Alaw || ans.plan.DTMFPT != dtmfPT || !ans.plan.Send {
				t.Errorf("callee's plan %+v", ans.plan)
			}
			plan, ck, err := off.complete(ans.body, keys.TrustAny)
			if err != nil {
				t.Fatal(err)
			}
			if plan.Remote != netip.MustParseAddrPort("127.0.0.1:5000") || plan.PT != 0 || plan.DTMFPT != dtmfPT {
				t.Errorf("caller's plan %+v", plan)
			}
			if (ck != nil) != tc.scrambled || (ans.keys != nil) != tc.scrambled {
				t.Fatalf("keys: caller %v, callee %v; want scrambled %v", ck != nil, ans.keys != nil, tc.scrambled)
			}
			if tc.scrambled {
				if ck.SAS != ans.keys.SAS || ck.ScrambleTx != ans.keys.ScrambleRx || ck.ScrambleRx != ans.keys.ScrambleTx {
					t.Error("the two sides derived different keys")
				}
			}
		})
	}
}

// TestNegotiateRefusesTampering: an answer whose share was altered ends in
// errKeyAgreement at the caller; an offer whose binding was altered is
// answered in clear with the reason.
func TestNegotiateRefusesTampering(t *testing.T) {
	idA, idB := testIdentity(t), testIdentity(t)
	off, err := newOffer(idA, lo, 4000)
	if err != nil {
		t.Fatal(err)
	}
	defer off.destroy()
	ans, err := answerOffer(off.body, idB, keys.TrustAny, sdp.NewOrigin(lo), lo, 5000)
	if err != nil {
		t.Fatal(err)
	}
	// Swap the answer's share for one signed under another binding.
	ex, err := keys.NewExchange(idB, keys.Answer, "another-binding")
	if err != nil {
		t.Fatal(err)
	}
	v, _ := keys.AttributeValue(strings.Split(strings.ReplaceAll(string(ans.body), "a=", ""), "\r\n"))
	forged := strings.Replace(string(ans.body), v, ex.Attribute(), 1)
	if _, _, err := off.complete([]byte(forged), keys.TrustAny); !errors.Is(err, errKeyAgreement) {
		t.Errorf("forged answer: %v, want errKeyAgreement", err)
	}

	off2, err := newOffer(idA, lo, 4000)
	if err != nil {
		t.Fatal(err)
	}
	defer off2.destroy()
	tampered := strings.Replace(string(off2.body), "a=hushbox-call:"+off2.binding, "a=hushbox-call:x"+off2.binding[1:], 1)
	ans2, err := answerOffer([]byte(tampered), idB, keys.TrustAny, sdp.NewOrigin(lo), lo, 5000)
	if err != nil {
		t.Fatal(err)
	}
	if ans2.keys != nil || !errors.Is(ans2.keyErr, keys.ErrBadSignature) || strings.Contains(string(ans2.body), "hushbox-key") {
		t.Errorf("tampered offer: keys %v, keyErr %v", ans2.keys != nil, ans2.keyErr)
	}
	// An untrusted caller: clear, with ErrUntrusted.
	ans3, err := answerOffer(off2.body, idB, func(keys.PublicKey) bool { return false }, sdp.NewOrigin(lo), lo, 5000)
	if err != nil {
		t.Fatal(err)
	}
	if ans3.keys != nil || !errors.Is(ans3.keyErr, keys.ErrUntrusted) {
		t.Errorf("untrusted caller: keys %v, keyErr %v", ans3.keys != nil, ans3.keyErr)
	}
}

// TestAnswerPicksLaw: an offer of A-law only is answered with A-law; one
// without G.711 is refused.
func TestAnswerPicksLaw(t *testing.T) {
	body := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 8 96\r\na=rtpmap:96 telephone-event/8000\r\na=sendonly\r\n"
	ans, err := answerOffer([]byte(body), nil, nil, sdp.NewOrigin(lo), lo, 5000)
	if err != nil {
		t.Fatal(err)
	}
	if ans.plan.PT != 8 || !ans.plan.Alaw || ans.plan.DTMFPT != 96 || ans.plan.Send {
		t.Errorf("plan %+v: want PCMA, events on 96, not sending to a sendonly offer", ans.plan)
	}
	if !strings.Contains(string(ans.body), "a=recvonly") {
		t.Errorf("answer to sendonly is not recvonly:\n%s", ans.body)
	}
	g722 := strings.Replace(strings.Replace(body, "RTP/AVP 8 96", "RTP/AVP 9", 1), "a=rtpmap:96 telephone-event/8000\r\n", "", 1)
	if _, err := answerOffer([]byte(g722), nil, nil, sdp.NewOrigin(lo), lo, 5000); err == nil {
		t.Error("offer without G.711 accepted")
	}
}

// FuzzNegotiate feeds outside SDP to both sides of the negotiation: the
// callee's answerOffer and the caller's complete. Neither may panic, and
// whatever they accept yields a usable plan.
func FuzzNegotiate(f *testing.F) {
	idA, idB := testIdentity(f), testIdentity(f)
	off, err := newOffer(idA, lo, 4000)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(off.body)
	if ans, err := answerOffer(off.body, idB, keys.TrustAny, sdp.NewOrigin(lo), lo, 5000); err == nil {
		f.Add(ans.body)
	}
	f.Add([]byte("v=0\r\nc=IN IP4 0.0.0.0\r\nm=audio 1 RTP/AVP 0\r\na=hushbox-key:1 a b c\r\na=hushbox-call:\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		if ans, err := answerOffer(body, idB, keys.TrustAny, sdp.NewOrigin(lo), lo, 5000); err == nil {
			if len(ans.body) == 0 || (ans.plan.Send && !ans.plan.Remote.IsValid()) {
				t.Fatalf("accepted offer gave plan %+v", ans.plan)
			}
			if ans.keys != nil {
				ans.keys.Wipe()
			}
		}
		o, err := newOffer(idA, lo, 4000)
		if err != nil {
			t.Fatal(err)
		}
		defer o.destroy()
		if plan, ck, err := o.complete(body, keys.TrustAny); err == nil {
			if plan.Send && !plan.Remote.IsValid() {
				t.Fatalf("accepted answer gave plan %+v", plan)
			}
			if ck != nil {
				ck.Wipe()
			}
		}
	})
}
