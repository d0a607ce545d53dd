package sdp

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hushbox/pbx/srtp"
)

// seedSamples adds every testdata body to a fuzz corpus.
func seedSamples(f *testing.F, add func(b []byte)) {
	f.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.sdp"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no samples: %v", err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		add(b)
	}
}

// FuzzParse: Parse never panics, and what it accepts is consistent.
func FuzzParse(f *testing.F) {
	seedSamples(f, func(b []byte) { f.Add(b) })
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nm=audio 1 RTP/AVP 0\r\nc=IN IP6 ::\r\na=rtcp:9\r\n"))
	f.Add([]byte("v=0\no=- 1 1 IN IP4 x\nc=IN IP4 0.0.0.0\nm=audio 0/2 RTP/AVP\nm=audio 5 RTP/AVP 127\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(b)
		if err != nil {
			if s != nil {
				t.Fatal("session returned with an error")
			}
			for _, e := range []error{ErrMalformed, ErrTooLarge, ErrNoAudio} {
				if errors.Is(err, e) {
					return
				}
			}
			t.Fatalf("error %v wraps no sentinel", err)
		}
		if s.Audio == nil || s.AudioIndex < 0 || s.AudioIndex >= len(s.Streams) || s.OtherMedia != len(s.Streams)-1 {
			t.Fatalf("inconsistent session %+v", s)
		}
		if s.Streams[s.AudioIndex].Kind != "audio" || s.Audio.Port != s.Streams[s.AudioIndex].Port {
			t.Fatalf("audio index %d points at %+v", s.AudioIndex, s.Streams[s.AudioIndex])
		}
		if !isDirection(s.Audio.Direction) {
			t.Fatalf("direction %q", s.Audio.Direction)
		}
		for _, c := range s.Audio.Codecs {
			if c.PT > 127 || hasControl(c.Fmtp) || strings.ContainsAny(c.Name, " \t") {
				t.Fatalf("codec %+v", c)
			}
		}
		for _, x := range s.Audio.Extra {
			if hasControl(x) {
				t.Fatalf("extra %q", x)
			}
		}
	})
}

// FuzzBuildOffer: whatever Parse accepts, BuildOffer either refuses with a
// sentinel or writes an offer that parses back with the same m= lines and
// only G.711 (both laws) and telephone-event.
func FuzzBuildOffer(f *testing.F) {
	seedSamples(f, func(b []byte) { f.Add(b) })
	f.Fuzz(func(t *testing.T, b []byte) {
		in, err := Parse(b)
		if err != nil {
			return
		}
		body, m, err := BuildOffer(in, NewOrigin(relay4), relay4, 30000)
		if err != nil {
			if !errors.Is(err, ErrNoCommonCodec) && !errors.Is(err, ErrNoAudio) &&
				!errors.Is(err, ErrUnsupportedTransport) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		out, err := Parse(body)
		if err != nil {
			t.Fatalf("offer does not parse: %v\n%s", err, body)
		}
		if len(out.Streams) != len(in.Streams) || out.AudioIndex != in.AudioIndex {
			t.Fatalf("stream layout changed:\n%s", body)
		}
		var u, a int
		for _, c := range out.Audio.Codecs {
			switch {
			case c.isG711() && c.Name == PCMU:
				u++
			case c.isG711() && c.Name == PCMA:
				a++
			case c.isDTMF():
			default:
				t.Fatalf("offered %+v\n%s", c, body)
			}
		}
		if u != 1 || a != 1 || len(m.Codecs) != len(out.Audio.Codecs) {
			t.Fatalf("offer lacks a law or repeats one:\n%s", body)
		}
	})
}

// FuzzBuildAnswer: any pair Parse accepts gives a sentinel error or an
// answer with the offer's m= lines.
func FuzzBuildAnswer(f *testing.F) {
	var bodies [][]byte
	seedSamples(f, func(b []byte) { bodies = append(bodies, b) })
	for i, o := range bodies {
		f.Add(o, bodies[(i+1)%len(bodies)])
	}
	f.Fuzz(func(t *testing.T, ob, ab []byte) {
		offer, err := Parse(ob)
		if err != nil {
			return
		}
		answer, err := Parse(ab)
		if err != nil {
			return
		}
		body, plan, err := BuildAnswer(offer, answer, NewOrigin(relay6), relay6, 30002)
		if err != nil {
			return
		}
		out, err := Parse(body)
		if err != nil {
			t.Fatalf("answer does not parse: %v\n%s", err, body)
		}
		if len(out.Streams) != len(offer.Streams) || out.AudioIndex != offer.AudioIndex {
			t.Fatalf("stream layout differs from the offer:\n%s", body)
		}
		if !plan.CallerCodec.isG711() || !plan.CalleeCodec.isG711() || plan.Transcode == sameCodec(plan.CallerCodec, plan.CalleeCodec) {
			t.Fatalf("plan %+v", plan)
		}
		if out.Audio.Codecs[0].PT != plan.CallerCodec.PT {
			t.Fatalf("answer codec %+v, plan %+v", out.Audio.Codecs[0], plan)
		}
	})
}

// FuzzSecureCall: any offer/answer pair Parse accepts goes through the SRTP
// path of the B2BUA (AnswerSecurity, BuildOfferWith, BuildAnswerWith)
// without panic, fails only with sentinels, and an SRTP leg's answer carries
// exactly hushbox's key.
func FuzzSecureCall(f *testing.F) {
	var bodies [][]byte
	seedSamples(f, func(b []byte) { bodies = append(bodies, b) })
	for i, o := range bodies {
		f.Add(o, bodies[(i+3)%len(bodies)])
	}
	sentinel := func(t *testing.T, err error) {
		for _, s := range []error{ErrNoCommonCodec, ErrNoAudio, ErrUnsupportedTransport, ErrMalformed} {
			if errors.Is(err, s) {
				return
			}
		}
		t.Fatalf("error %v wraps no sentinel", err)
	}
	secB := Security{Profile: ProfileSRTP, Crypto: srtp.DefaultOffer()}
	f.Fuzz(func(t *testing.T, ob, ab []byte) {
		offer, err := Parse(ob)
		if err != nil {
			return
		}
		answer, err := Parse(ab)
		if err != nil {
			return
		}
		secA, err := AnswerSecurity(offer)
		if err != nil {
			sentinel(t, err)
			return
		}
		if _, _, err := BuildOfferWith(offer, NewOrigin(relay4), relay4, 30002, secB); err != nil {
			sentinel(t, err)
		}
		for _, callee := range []Security{secB, {Crypto: secB.Crypto[1:]}, {}} {
			body, plan, err := BuildAnswerWith(offer, answer, NewOrigin(relay4), relay4, 30000, secA, callee)
			if err != nil {
				sentinel(t, err)
				continue
			}
			out, err := Parse(body)
			if err != nil {
				t.Fatalf("answer does not parse: %v\n%s", err, body)
			}
			if (plan.CallerSRTP != nil) != secA.Secure() {
				t.Fatalf("caller SRTP %v with answer security %v", plan.CallerSRTP, secA)
			}
			if plan.CallerSRTP != nil && (len(out.Audio.SDES) != 1 || !out.Audio.SDES[0].Equal(secA.Crypto[0])) {
				t.Fatalf("answer keys %v, want hushbox's %v", out.Audio.SDES, secA.Crypto[0])
			}
			if plan.CalleeSRTP != nil {
				if _, ok := srtp.Select(callee.Crypto, plan.CalleeSRTP.Remote); !ok {
					t.Fatalf("callee keys %v not among those offered", plan.CalleeSRTP)
				}
			}
		}
	})
}
