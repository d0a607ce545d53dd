package sdp

import (
	"errors"
	"strings"
	"testing"

	"hushbox/pbx/srtp"
)

// Keys in the baresip samples (throw-away keys captured with the samples).
const (
	keyMandatory = "pPniEb0kY84dDdQWhcWu8PZWS19IDbqpwmQyvqqB"
	keyOptional  = "VPFltU09gfnAtGWXONrWXB2UpnpRKewDA6k5H8wM"
)

func mustCrypto(t testing.TB, tag int, s srtp.Suite) srtp.Crypto {
	t.Helper()
	c, err := srtp.NewCrypto(tag, s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// parseText parses a sample after replacing old with new in it.
func parseText(t testing.TB, file, old, new string) *Session {
	t.Helper()
	body := strings.Replace(string(sample(t, file)), old, new, 1)
	s, err := Parse([]byte(body))
	if err != nil {
		t.Fatalf("Parse(%s edited): %v", file, err)
	}
	return s
}

func TestParseSDES(t *testing.T) {
	tests := []struct {
		file      string
		secure    bool
		mandatory bool
		key       string
	}{
		{"baresip_srtp_mandatory.sdp", true, true, keyMandatory},
		{"baresip_srtp_optional.sdp", true, false, keyOptional},
		{"baresip_offer.sdp", false, false, ""},
		{"linphone_offer.sdp", false, false, ""},
		{"hand_webrtc_offer.sdp", false, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			a := mustParse(t, tt.file).Audio
			if a.Secure() != tt.secure || a.Mandatory() != tt.mandatory {
				t.Errorf("Secure %v Mandatory %v, want %v %v", a.Secure(), a.Mandatory(), tt.secure, tt.mandatory)
			}
			if tt.key == "" {
				return
			}
			if len(a.SDES) != 1 || a.SDES[0].Tag != 1 || a.SDES[0].Suite != srtp.AES128CMSHA1_80 ||
				!strings.Contains(a.SDES[0].Value(), tt.key) {
				t.Errorf("SDES %v", a.SDES)
			}
			if out := a.String(); strings.Contains(out, tt.key) || !strings.Contains(out, "AES_CM_128_HMAC_SHA1_80") {
				t.Errorf("String %q", out)
			}
		})
	}
	// Unusable a=crypto lines are kept raw but not in SDES: such an SRTP
	// offer is not Secure.
	a := parseText(t, "baresip_srtp_mandatory.sdp", "AES_CM_128_HMAC_SHA1_80", "F8_128_HMAC_SHA1_80").Audio
	if len(a.Crypto) != 1 || len(a.SDES) != 0 || a.Secure() || !a.Mandatory() {
		t.Errorf("unsupported suite: crypto %d sdes %d secure %v", len(a.Crypto), len(a.SDES), a.Secure())
	}
	var nilMedia *Media
	if nilMedia.Secure() || nilMedia.Mandatory() {
		t.Error("nil media is secure")
	}
}

func TestAnswerSecurity(t *testing.T) {
	prev := mustCrypto(t, 7, srtp.AES128CMSHA1_80)
	tests := []struct {
		name    string
		offer   *Session
		reuse   []srtp.Crypto
		profile string
		keyed   bool
		err     error
	}{
		{name: "baresip srtp-mand", offer: mustParse(t, "baresip_srtp_mandatory.sdp"), profile: ProfileSRTP, keyed: true},
		{name: "baresip srtp (best effort)", offer: mustParse(t, "baresip_srtp_optional.sdp"), profile: ProfileRTP, keyed: true},
		{name: "plain", offer: mustParse(t, "baresip_offer.sdp"), profile: ProfileRTP},
		{name: "AVPF plain", offer: parseText(t, "baresip_offer.sdp", "RTP/AVP", "RTP/AVPF"), profile: ProfileRTP},
		{name: "SAVPF with SDES", offer: parseText(t, "baresip_srtp_mandatory.sdp", "RTP/SAVP", "RTP/SAVPF"), profile: ProfileSRTP, keyed: true},
		{name: "reuse hushbox's key", offer: mustParse(t, "baresip_srtp_mandatory.sdp"), reuse: []srtp.Crypto{prev}, profile: ProfileSRTP, keyed: true},
		{name: "SAVP without usable key", offer: parseText(t, "baresip_srtp_mandatory.sdp", "AES_CM_128_HMAC_SHA1_80", "F8_128_HMAC_SHA1_80"), err: ErrUnsupportedTransport},
		{name: "DTLS-SRTP", offer: mustParse(t, "hand_webrtc_offer.sdp"), err: ErrUnsupportedTransport},
		{name: "no session", offer: nil, err: ErrNoAudio},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sec, err := AnswerSecurity(tt.offer, tt.reuse...)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("error %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if sec.Profile != tt.profile || sec.Secure() != tt.keyed {
				t.Fatalf("got %v, want %s keyed %v", sec, tt.profile, tt.keyed)
			}
			if !tt.keyed {
				return
			}
			offered := tt.offer.Audio.SDES[0]
			k := sec.Crypto[0]
			if len(sec.Crypto) != 1 || k.Tag != offered.Tag || k.Suite != offered.Suite || k.Equal(offered) {
				t.Errorf("answer key %v for offered %v", k, offered)
			}
			if len(tt.reuse) > 0 && !k.Equal(tt.reuse[0]) {
				t.Error("hushbox's previous key not reused")
			}
		})
	}
}

func TestBuildOfferWith(t *testing.T) {
	gcm := mustCrypto(t, 1, srtp.AEADAES128GCM)
	cm := mustCrypto(t, 2, srtp.AES128CMSHA1_80)
	short := cm
	short.Key = short.Key[:20]
	dup := mustCrypto(t, 1, srtp.AES128CMSHA1_80)
	tests := []struct {
		name   string
		file   string
		sec    Security
		mline  string
		crypto []srtp.Crypto // a=crypto lines the offer must carry, in order
		err    error
	}{
		{name: "SRTP caller, plain callee: the relay converts", file: "baresip_srtp_mandatory.sdp",
			mline: "m=audio 30000 RTP/AVP 0 8 101"},
		{name: "plain caller, SRTP callee", file: "baresip_offer.sdp",
			sec:   Security{Profile: ProfileSRTP, Crypto: []srtp.Crypto{gcm, cm}},
			mline: "m=audio 30000 RTP/SAVP 0 8 101", crypto: []srtp.Crypto{gcm, cm}},
		{name: "SRTP both legs, own keys", file: "baresip_srtp_mandatory.sdp",
			sec:   Security{Profile: ProfileSRTP, Crypto: []srtp.Crypto{cm}},
			mline: "m=audio 30000 RTP/SAVP 0 8 101", crypto: []srtp.Crypto{cm}},
		{name: "best effort: a=crypto on RTP/AVP", file: "baresip_srtp_optional.sdp",
			sec:   Security{Crypto: []srtp.Crypto{cm}},
			mline: "m=audio 30000 RTP/AVP 0 8 101", crypto: []srtp.Crypto{cm}},
		{name: "SAVPF written as SAVP", file: "linphone_offer.sdp",
			sec:   Security{Profile: "RTP/SAVPF", Crypto: []srtp.Crypto{cm}},
			mline: "m=audio 30000 RTP/SAVP 0 8 101", crypto: []srtp.Crypto{cm}},
		{name: "SAVP without keys", file: "baresip_offer.sdp", sec: Security{Profile: ProfileSRTP},
			err: ErrUnsupportedTransport},
		{name: "DTLS profile", file: "baresip_offer.sdp", sec: Security{Profile: "UDP/TLS/RTP/SAVPF", Crypto: []srtp.Crypto{cm}},
			err: ErrUnsupportedTransport},
		{name: "bad key", file: "baresip_offer.sdp", sec: Security{Profile: ProfileSRTP, Crypto: []srtp.Crypto{short}},
			err: ErrMalformed},
		{name: "tag twice", file: "baresip_offer.sdp", sec: Security{Profile: ProfileSRTP, Crypto: []srtp.Crypto{gcm, dup}},
			err: ErrMalformed},
		{name: "DTLS caller still refused", file: "hand_webrtc_offer.sdp", sec: Security{Profile: ProfileSRTP, Crypto: []srtp.Crypto{cm}},
			err: ErrUnsupportedTransport},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := mustParse(t, tt.file)
			body, m, err := BuildOfferWith(in, NewOrigin(relay4), relay4, 30000, tt.sec)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("error %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ls := lines(t, body)
			if got := mLines(ls); len(got) != 1 || got[0] != tt.mline {
				t.Errorf("m= lines %q, want %q", got, tt.mline)
			}
			for _, k := range []string{keyMandatory, keyOptional} {
				if strings.Contains(string(body), k) {
					t.Errorf("the caller's key reached the callee:\n%s", body)
				}
			}
			back, err := Parse(body)
			if err != nil {
				t.Fatalf("offer does not parse: %v", err)
			}
			if len(back.Audio.SDES) != len(tt.crypto) || len(back.Audio.Crypto) != len(tt.crypto) {
				t.Fatalf("offer has %d a=crypto, want %d:\n%s", len(back.Audio.Crypto), len(tt.crypto), body)
			}
			for i, c := range tt.crypto {
				if got := back.Audio.SDES[i]; got.Tag != c.Tag || !got.Equal(c) {
					t.Errorf("a=crypto %d is %v, want %v", i, got, c)
				}
			}
			if len(m.SDES) != len(tt.crypto) || m.Proto != strings.Fields(tt.mline)[2] {
				t.Errorf("returned media %v", m)
			}
		})
	}
}

// TestBuildOfferKeepsRefusingSRTP: the old entry point cannot answer SRTP,
// so it must not ring the callee for an SRTP caller.
func TestBuildOfferKeepsRefusingSRTP(t *testing.T) {
	_, _, err := BuildOffer(mustParse(t, "baresip_srtp_mandatory.sdp"), NewOrigin(relay4), relay4, 30000)
	if !errors.Is(err, ErrUnsupportedTransport) {
		t.Errorf("BuildOffer of an RTP/SAVP offer: %v", err)
	}
}

func TestBuildAnswerWith(t *testing.T) {
	mand := mustParse(t, "baresip_srtp_mandatory.sdp")
	opt := mustParse(t, "baresip_srtp_optional.sdp")
	plain := mustParse(t, "baresip_offer.sdp")
	sipp := mustParse(t, "sipp_uas_answer.sdp")
	baresipKey := mand.Audio.SDES[0]
	optKey := opt.Audio.SDES[0]
	ourA := mustCrypto(t, 1, srtp.AES128CMSHA1_80) // hushbox's answer key to the caller
	ourB := mustCrypto(t, 1, srtp.AES128CMSHA1_80) // hushbox's offered key to the callee
	gcmB := mustCrypto(t, 2, srtp.AEADAES128GCM)
	otherTag := ourA
	otherTag.Tag = 5

	tests := []struct {
		name           string
		offer, answer  *Session
		caller, callee Security
		mline          string
		answerKey      *srtp.Crypto // the a=crypto the caller must get, nil for none
		callerKeys     *srtp.Keys
		calleeKeys     *srtp.Keys
		err            error
	}{
		{name: "baresip srtp-mand caller, plain callee",
			offer: mand, answer: sipp, caller: Security{Crypto: []srtp.Crypto{ourA}},
			mline: "m=audio 30002 RTP/SAVP 0", answerKey: &ourA,
			callerKeys: &srtp.Keys{Remote: baresipKey, Local: ourA}},
		{name: "plain caller, baresip srtp-mand callee",
			offer: plain, answer: mand, callee: Security{Profile: ProfileSRTP, Crypto: []srtp.Crypto{gcmB, ourB}},
			mline:      "m=audio 30002 RTP/AVP 0 101",
			calleeKeys: &srtp.Keys{Remote: baresipKey, Local: ourB}},
		{name: "SRTP on both legs, different keys",
			offer: mand, answer: opt,
			caller: Security{Crypto: []srtp.Crypto{ourA}}, callee: Security{Profile: ProfileSRTP, Crypto: []srtp.Crypto{ourB}},
			mline: "m=audio 30002 RTP/SAVP 0 101", answerKey: &ourA,
			callerKeys: &srtp.Keys{Remote: baresipKey, Local: ourA},
			calleeKeys: &srtp.Keys{Remote: optKey, Local: ourB}},
		{name: "best effort offer answered plain",
			offer: plain, answer: sipp, callee: Security{Crypto: []srtp.Crypto{ourB}},
			mline: "m=audio 30002 RTP/AVP 0"},
		{name: "best effort offer answered with a key",
			offer: opt, answer: opt, caller: Security{Crypto: []srtp.Crypto{ourA}}, callee: Security{Crypto: []srtp.Crypto{ourB}},
			mline: "m=audio 30002 RTP/AVP 0 101", answerKey: &ourA,
			callerKeys: &srtp.Keys{Remote: optKey, Local: ourA},
			calleeKeys: &srtp.Keys{Remote: optKey, Local: ourB}},
		{name: "best effort caller answered plain by choice",
			offer: opt, answer: sipp, mline: "m=audio 30002 RTP/AVP 0"},
		{name: "SRTP offered, callee answered plain", offer: plain, answer: sipp,
			callee: Security{Profile: ProfileSRTP, Crypto: []srtp.Crypto{ourB}}, err: ErrUnsupportedTransport},
		{name: "callee accepted a tag hushbox did not offer", offer: plain, answer: mand,
			callee: Security{Profile: ProfileSRTP, Crypto: []srtp.Crypto{gcmB}}, err: ErrUnsupportedTransport},
		{name: "callee answered SRTP to a plain offer", offer: plain, answer: mand, err: ErrUnsupportedTransport},
		{name: "SRTP caller without hushbox key", offer: mand, answer: sipp, err: ErrUnsupportedTransport},
		{name: "hushbox key under a tag the caller did not offer", offer: mand, answer: sipp,
			caller: Security{Crypto: []srtp.Crypto{otherTag}}, err: ErrUnsupportedTransport},
		{name: "two answer keys", offer: mand, answer: sipp,
			caller: Security{Crypto: []srtp.Crypto{ourA, otherTag}}, err: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, plan, err := BuildAnswerWith(tt.offer, tt.answer, NewOrigin(relay4), relay4, 30002, tt.caller, tt.callee)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("error %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ls := lines(t, body)
			if got := mLines(ls); len(got) != 1 || got[0] != tt.mline {
				t.Errorf("m= lines %q, want %q\n%s", got, tt.mline, body)
			}
			for _, k := range []string{keyMandatory, keyOptional} {
				if strings.Contains(string(body), k) {
					t.Errorf("a party's own key is echoed in the answer:\n%s", body)
				}
			}
			back, err := Parse(body)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.answerKey == nil && len(back.Audio.Crypto) != 0:
				t.Errorf("unexpected a=crypto in\n%s", body)
			case tt.answerKey != nil && (len(back.Audio.SDES) != 1 || !back.Audio.SDES[0].Equal(*tt.answerKey) ||
				back.Audio.SDES[0].Tag != tt.answerKey.Tag):
				t.Errorf("answer a=crypto %v, want %v", back.Audio.SDES, *tt.answerKey)
			}
			checkKeys(t, "caller", plan.CallerSRTP, tt.callerKeys)
			checkKeys(t, "callee", plan.CalleeSRTP, tt.calleeKeys)
		})
	}
}

func checkKeys(t *testing.T, leg string, got, want *srtp.Keys) {
	t.Helper()
	switch {
	case got == nil && want == nil:
	case got == nil || want == nil:
		t.Errorf("%s keys %v, want %v", leg, got, want)
	case !got.Remote.Equal(want.Remote) || !got.Local.Equal(want.Local):
		t.Errorf("%s keys %v, want %v", leg, *got, *want)
	}
}

// TestSecureCallFlow runs the SDP of a whole SRTP call as the B2BUA would:
// caller offer, offer to the callee, callee answer, answer to the caller,
// then a re-INVITE from the caller that keeps every key.
func TestSecureCallFlow(t *testing.T) {
	offerA := mustParse(t, "baresip_srtp_mandatory.sdp")
	secA, err := AnswerSecurity(offerA)
	if err != nil {
		t.Fatal(err)
	}
	secB := Security{Profile: ProfileSRTP, Crypto: srtp.DefaultOffer()}
	offerB, _, err := BuildOfferWith(offerA, NewOrigin(relay4), relay4, 30002, secB)
	if err != nil {
		t.Fatal(err)
	}
	// The callee (a second baresip) accepts hushbox's second line.
	inB, err := Parse(offerB)
	if err != nil {
		t.Fatal(err)
	}
	calleeKey := mustCrypto(t, inB.Audio.SDES[1].Tag, inB.Audio.SDES[1].Suite)
	answerB := parseText(t, "baresip_srtp_mandatory.sdp",
		"a=crypto:"+offerA.Audio.Crypto[0], "a=crypto:"+calleeKey.Value())
	body, plan, err := BuildAnswerWith(offerA, answerB, NewOrigin(relay4), relay4, 30000, secA, secB)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), "RTP/SAVP") || !strings.Contains(string(body), secA.Crypto[0].Value()) {
		t.Errorf("answer to the caller:\n%s", body)
	}
	checkKeys(t, "caller", plan.CallerSRTP, &srtp.Keys{Remote: offerA.Audio.SDES[0], Local: secA.Crypto[0]})
	checkKeys(t, "callee", plan.CalleeSRTP, &srtp.Keys{Remote: calleeKey, Local: secB.Crypto[1]})

	// Re-INVITE from the caller with the same key: hushbox keeps its own.
	again, err := AnswerSecurity(offerA, secA.Crypto...)
	if err != nil || !again.Crypto[0].Equal(secA.Crypto[0]) {
		t.Errorf("re-INVITE answer key changed: %v", err)
	}
	// Re-INVITE from the callee: hushbox re-offers the caller its answer key.
	reoffer, _, err := BuildOfferWith(answerB, NewOrigin(relay4), relay4, 30000, secA)
	if err != nil || !strings.Contains(string(reoffer), "m=audio 30000 RTP/SAVP") ||
		!strings.Contains(string(reoffer), secA.Crypto[0].Value()) {
		t.Errorf("re-offer to the caller: %v\n%s", err, reoffer)
	}
}
