package sdp

import (
	"errors"
	"strings"
	"testing"
)

func TestBuildAnswer(t *testing.T) {
	pcmu := Codec{PT: 0, Name: PCMU, Rate: 8000, Channels: 1}
	pcma := Codec{PT: 8, Name: PCMA, Rate: 8000, Channels: 1}
	tests := []struct {
		name          string
		offer, answer string // testdata files: caller's offer, callee's answer
		plan          Plan
		mlines        []string
		want          []string
		absent        []string
		err           error
	}{
		{name: "same law, callee without DTMF", offer: "baresip_offer.sdp", answer: "sipp_uas_answer.sdp",
			plan:   Plan{CallerCodec: pcmu, CalleeCodec: pcmu},
			mlines: []string{"m=audio 30002 RTP/AVP 0"},
			want:   []string{"a=rtpmap:0 PCMU/8000", "a=sendrecv", "a=ptime:20", "c=IN IP4 203.0.113.7"},
			absent: []string{"telephone-event", "127.0.0.1", "6000"}},
		{name: "mu-law caller, A-law callee: transcode", offer: "sipp_uac_offer.sdp", answer: "hand_answer_pcma_te96.sdp",
			plan:   Plan{CallerCodec: pcmu, CalleeCodec: pcma, Transcode: true},
			mlines: []string{"m=audio 30002 RTP/AVP 0"},
			absent: []string{"PCMA", "telephone-event"}},
		{name: "A-law caller, mu-law callee: transcode, DTMF both sides", offer: "hand_pcma_only.sdp", answer: "sipp_answer_pcmu_dtmf.sdp",
			plan:   Plan{CallerCodec: pcma, CalleeCodec: pcmu, Transcode: true, CallerDTMF: 101, CalleeDTMF: 101},
			mlines: []string{"m=audio 30002 RTP/AVP 8 101"},
			want:   []string{"a=rtpmap:8 PCMA/8000", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-15"}},
		{name: "caller offered the callee's law: no transcoding, DTMF PT mapped", offer: "baresip_offer.sdp", answer: "hand_answer_pcma_te96.sdp",
			plan:   Plan{CallerCodec: pcma, CalleeCodec: pcma, CallerDTMF: 101, CalleeDTMF: 96},
			mlines: []string{"m=audio 30002 RTP/AVP 8 101"},
			want:   []string{"a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16", "a=ptime:20", "a=maxptime:150"},
			absent: []string{"a=rtpmap:96", "Asterisk", "12468"}},
		{name: "linphone, IPv6 caller", offer: "linphone_offer.sdp", answer: "sipp_answer_pcmu_dtmf.sdp",
			plan:   Plan{CallerCodec: pcmu, CalleeCodec: pcmu, CallerDTMF: 101, CalleeDTMF: 101},
			mlines: []string{"m=audio 30002 RTP/AVP 0 101"}, want: []string{"a=sendrecv"}},
		{name: "hold: callee's recvonly mirrored", offer: "linphone_hold.sdp", answer: "sipp_answer_hold.sdp",
			plan:   Plan{CallerCodec: pcmu, CalleeCodec: pcmu, CallerDTMF: 101, CalleeDTMF: 101},
			mlines: []string{"m=audio 30002 RTP/AVP 0 101"}, want: []string{"a=recvonly"}, absent: []string{"a=sendrecv"}},
		{name: "resume", offer: "linphone_resume.sdp", answer: "sipp_answer_pcmu_dtmf.sdp",
			plan:   Plan{CallerCodec: pcmu, CalleeCodec: pcmu, CallerDTMF: 101, CalleeDTMF: 101},
			mlines: []string{"m=audio 30002 RTP/AVP 0 101"}, want: []string{"a=sendrecv"}},
		{name: "c=0.0.0.0 hold answered sendrecv is limited to recvonly", offer: "hand_old_hold.sdp", answer: "sipp_answer_pcmu_dtmf.sdp",
			plan:   Plan{CallerCodec: pcmu, CalleeCodec: pcmu, CallerDTMF: 101, CalleeDTMF: 101},
			mlines: []string{"m=audio 30002 RTP/AVP 0 101"}, want: []string{"a=recvonly"}},
		{name: "video kept rejected after audio", offer: "baresip_offer_video.sdp", answer: "sipp_uas_answer.sdp",
			plan:   Plan{CallerCodec: pcmu, CalleeCodec: pcmu},
			mlines: []string{"m=audio 30002 RTP/AVP 0", "m=video 0 RTP/AVP 96"}},
		{name: "video kept rejected before audio, caller's DTMF PT", offer: "hand_video_first.sdp", answer: "hand_answer_pcma_te96.sdp",
			plan:   Plan{CallerCodec: pcma, CalleeCodec: pcma, CallerDTMF: 97, CalleeDTMF: 96},
			mlines: []string{"m=video 0 RTP/AVP 99", "m=audio 30002 RTP/AVP 8 97"},
			want:   []string{"a=rtpmap:97 telephone-event/8000", "a=fmtp:97 0-16", "a=maxptime:150"},
			absent: []string{"hushbox-kx"}},
		{name: "callee rejected audio", offer: "baresip_offer.sdp", answer: "hand_answer_rejected.sdp", err: ErrNoCommonCodec},
		{name: "callee answered without G.711", offer: "baresip_offer.sdp", answer: "hand_no_g711.sdp", err: ErrNoCommonCodec},
		{name: "caller without G.711", offer: "hand_no_g711.sdp", answer: "sipp_uas_answer.sdp", err: ErrNoCommonCodec},
		{name: "caller offered SRTP", offer: "baresip_srtp_mandatory.sdp", answer: "sipp_uas_answer.sdp", err: ErrUnsupportedTransport},
		{name: "callee answered SRTP", offer: "baresip_offer.sdp", answer: "baresip_srtp_mandatory.sdp", err: ErrUnsupportedTransport},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			offer, answer := mustParse(t, tt.offer), mustParse(t, tt.answer)
			body, plan, err := BuildAnswer(offer, answer, NewOrigin(relay4), relay4, 30002)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("BuildAnswer error %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("BuildAnswer: %v", err)
			}
			if plan != tt.plan {
				t.Errorf("plan\n got %+v\nwant %+v", plan, tt.plan)
			}
			ls := lines(t, body)
			if got := mLines(ls); strings.Join(got, "|") != strings.Join(tt.mlines, "|") {
				t.Errorf("m= lines %q, want %q\n%s", got, tt.mlines, body)
			}
			for _, w := range tt.want {
				if !has(ls, w) {
					t.Errorf("missing %q in\n%s", w, body)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(string(body), a) {
					t.Errorf("unexpected %q in\n%s", a, body)
				}
			}
			back, err := Parse(body)
			if err != nil {
				t.Fatalf("answer does not parse: %v\n%s", err, body)
			}
			if len(back.Streams) != len(offer.Streams) || back.AudioIndex != offer.AudioIndex {
				t.Errorf("answer has %d m= lines (audio %d), offer %d (audio %d)",
					len(back.Streams), back.AudioIndex, len(offer.Streams), offer.AudioIndex)
			}
			for i := range back.Streams {
				if back.Streams[i].Kind != offer.Streams[i].Kind {
					t.Errorf("m= line %d is %s, offer's is %s", i, back.Streams[i].Kind, offer.Streams[i].Kind)
				}
			}
		})
	}
}

func TestAnswerDirection(t *testing.T) {
	tests := []struct{ offer, callee, want string }{
		{SendRecv, SendRecv, SendRecv},
		{SendRecv, SendOnly, SendOnly},
		{SendRecv, RecvOnly, RecvOnly},
		{SendRecv, Inactive, Inactive},
		{SendOnly, RecvOnly, RecvOnly},
		{SendOnly, SendRecv, RecvOnly},
		{SendOnly, SendOnly, Inactive},
		{RecvOnly, SendOnly, SendOnly},
		{RecvOnly, SendRecv, SendOnly},
		{Inactive, SendRecv, Inactive},
	}
	for _, tt := range tests {
		if got := answerDirection(tt.offer, tt.callee); got != tt.want {
			t.Errorf("offer %s, callee %s: %s, want %s", tt.offer, tt.callee, got, tt.want)
		}
	}
}

// A whole call through the B2BUA: caller's offer -> offer to the callee ->
// the callee's answer (built the way a phone would from our offer) -> answer
// to the caller, which the caller must accept against its own offer.
func TestOfferAnswerRoundTrip(t *testing.T) {
	for _, file := range []string{"baresip_offer.sdp", "baresip_offer_video.sdp", "linphone_offer.sdp",
		"sipp_uac_offer.sdp", "hand_pcma_only.sdp", "hand_video_first.sdp", "hand_old_hold.sdp"} {
		t.Run(file, func(t *testing.T) {
			caller := mustParse(t, file)
			legA, legB := NewOrigin(relay4), NewOrigin(relay4)
			toB, _, err := BuildOffer(caller, legB, relay4, 40000)
			if err != nil {
				t.Fatal(err)
			}
			atB, err := Parse(toB)
			if err != nil {
				t.Fatal(err)
			}
			// The callee answers with the second G.711 law we offered (the one
			// the caller did not put first) and our telephone-event.
			var picked []Codec
			for _, c := range atB.Audio.Codecs[1:] {
				if c.isG711() {
					picked = append(picked, c)
					break
				}
			}
			if te, ok := firstDTMF(atB.Audio.Codecs); ok {
				picked = append(picked, te)
			}
			calleeAns := &Session{Streams: atB.Streams, AudioIndex: atB.AudioIndex, Audio: &Media{
				Proto: "RTP/AVP", Addr: relay4, Port: 50000, Codecs: picked,
				Direction: answerDirection(atB.Audio.Direction, SendRecv)}}
			toA, plan, err := BuildAnswer(caller, calleeAns, legA, relay4, 40002)
			if err != nil {
				t.Fatal(err)
			}
			atA, err := Parse(toA)
			if err != nil {
				t.Fatal(err)
			}
			if len(atA.Streams) != len(caller.Streams) {
				t.Errorf("%d m= lines back to the caller, it offered %d", len(atA.Streams), len(caller.Streams))
			}
			// Every codec of the answer was in the caller's offer with that payload type.
			for _, c := range atA.Audio.Codecs {
				found := false
				for _, o := range caller.Audio.Codecs {
					found = found || (o.PT == c.PT && sameCodec(o, c))
				}
				if !found {
					t.Errorf("answered %d %s, not offered by the caller", c.PT, c.Name)
				}
			}
			if plan.CalleeCodec.Name != picked[0].Name || plan.CallerCodec.PT != atA.Audio.Codecs[0].PT {
				t.Errorf("plan %+v, callee picked %+v, caller gets %+v", plan, picked[0], atA.Audio.Codecs[0])
			}
			if plan.Transcode != !sameCodec(plan.CallerCodec, plan.CalleeCodec) {
				t.Errorf("plan %+v: Transcode wrong", plan)
			}
		})
	}
}

// BenchmarkCallSetup measures one call's SDP work in the B2BUA: parse the
// caller's offer, build the callee's offer, parse the callee's answer, build
// the caller's answer.
func BenchmarkCallSetup(b *testing.B) {
	offer, answer := sample(b, "baresip_offer_video.sdp"), sample(b, "hand_answer_pcma_te96.sdp")
	o := NewOrigin(relay4)
	for b.Loop() {
		in, err := Parse(offer)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := BuildOffer(in, o, relay4, 30000); err != nil {
			b.Fatal(err)
		}
		ans, err := Parse(answer)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := BuildAnswer(in, ans, o, relay4, 30002); err != nil {
			b.Fatal(err)
		}
	}
}
