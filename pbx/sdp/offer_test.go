package sdp

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestBuildOffer(t *testing.T) {
	tests := []struct {
		name   string
		file   string
		relay  netip.Addr
		mlines []string // every m= line, in order
		want   []string // lines that must be present
		absent []string // substrings that must not appear
		err    error
	}{
		{name: "baresip keeps G.711 and DTMF in caller order", file: "baresip_offer.sdp", relay: relay4,
			mlines: []string{"m=audio 30000 RTP/AVP 0 8 101"},
			want: []string{"c=IN IP4 203.0.113.7", "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000",
				"a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-15", "a=ptime:20", "a=sendrecv"},
			absent: []string{"192.0.2.2", "opus", "G722", "ssrc", "label", "rtcp-rsize", "minptime", "tool"}},
		{name: "SDES keys stay on their hop", file: "baresip_srtp_optional.sdp", relay: relay4,
			mlines: []string{"m=audio 30000 RTP/AVP 0 8 101"}, absent: []string{"crypto", "inline"}},
		{name: "mandatory SRTP refused", file: "baresip_srtp_mandatory.sdp", relay: relay4, err: ErrUnsupportedTransport},
		{name: "DTLS-SRTP refused", file: "hand_webrtc_offer.sdp", relay: relay4, err: ErrUnsupportedTransport},
		{name: "no G.711", file: "hand_no_g711.sdp", relay: relay4, err: ErrNoCommonCodec},
		{name: "audio rejected", file: "hand_answer_rejected.sdp", relay: relay4, err: ErrNoAudio},
		{name: "PCMU only gets PCMA added", file: "sipp_uac_offer.sdp", relay: relay4,
			mlines: []string{"m=audio 30000 RTP/AVP 0 8"},
			want:   []string{"a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000", "a=ptime:20"},
			absent: []string{"telephone-event"}},
		{name: "PCMA only gets PCMU added after it", file: "hand_pcma_only.sdp", relay: relay4,
			mlines: []string{"m=audio 30000 RTP/AVP 8 0 101"},
			want:   []string{"a=fmtp:101 0-11,16"}},
		{name: "linphone: 8 kHz telephone-event chosen, IPv6 caller", file: "linphone_offer.sdp", relay: relay4,
			mlines: []string{"m=audio 30000 RTP/AVP 0 8 101"},
			want:   []string{"a=rtpmap:101 telephone-event/8000", "a=sendrecv", "a=ptime:20"},
			absent: []string{"fd00::2", "rtcp-fb", "rtcp-xr", "G729", "/48000", "/16000", "IP6"}},
		{name: "hold re-INVITE copies sendonly", file: "linphone_hold.sdp", relay: relay4,
			mlines: []string{"m=audio 30000 RTP/AVP 0 8 101"}, want: []string{"a=sendonly"}, absent: []string{"a=sendrecv"}},
		{name: "resume re-INVITE", file: "linphone_resume.sdp", relay: relay4,
			mlines: []string{"m=audio 30000 RTP/AVP 0 8 101"}, want: []string{"a=sendrecv"}},
		{name: "c=0.0.0.0 hold becomes sendonly at the relay address", file: "hand_old_hold.sdp", relay: relay4,
			mlines: []string{"m=audio 30000 RTP/AVP 0 8 101"},
			want:   []string{"c=IN IP4 203.0.113.7", "a=sendonly", "a=fmtp:101 0-16"}, absent: []string{"0.0.0.0"}},
		{name: "video rejected after audio", file: "baresip_offer_video.sdp", relay: relay4,
			mlines: []string{"m=audio 30000 RTP/AVP 0 8 101", "m=video 0 RTP/AVP 96"},
			absent: []string{"VP8", "framerate", "13148"}},
		{name: "video first, media-level c=, kept attributes", file: "hand_video_first.sdp", relay: relay4,
			mlines: []string{"m=video 0 RTP/AVP 99", "m=audio 30000 RTP/AVP 8 0 97"},
			want: []string{"a=rtpmap:8 PCMA/8000", "a=rtpmap:0 PCMU/8000", "a=rtpmap:97 telephone-event/8000",
				"a=fmtp:97 0-11,16", "a=ptime:30", "a=maxptime:60", "a=hushbox-kx:1 x25519 c2lnbmVkLXNoYXJl"},
			absent: []string{"rtcp-mux", "ice-ufrag", "53020", "192.0.2.1", "a=rtcp"}},
		{name: "IPv6 relay", file: "baresip_offer_ipv6.sdp", relay: relay6,
			mlines: []string{"m=audio 30000 RTP/AVP 0 8 101"},
			want:   []string{"c=IN IP6 2001:db8::7"}},
		{name: "IPv4-mapped relay address written as IPv4", file: "baresip_offer_ipv6.sdp",
			relay:  netip.MustParseAddr("::ffff:203.0.113.7"),
			mlines: []string{"m=audio 30000 RTP/AVP 0 8 101"},
			want:   []string{"c=IN IP4 203.0.113.7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := mustParse(t, tt.file)
			body, m, err := BuildOffer(in, NewOrigin(tt.relay), tt.relay, 30000)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("BuildOffer error %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("BuildOffer: %v", err)
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
			// The callee must be able to parse it, and see what we say we offered.
			back, err := Parse(body)
			if err != nil {
				t.Fatalf("offer does not parse: %v\n%s", err, body)
			}
			if len(back.Streams) != len(in.Streams) || back.AudioIndex != in.AudioIndex {
				t.Errorf("offer has %d streams (audio %d), caller had %d (audio %d)",
					len(back.Streams), back.AudioIndex, len(in.Streams), in.AudioIndex)
			}
			if codecList(back.Audio.Codecs) != codecList(m.Codecs) || back.Audio.Direction != m.Direction ||
				back.Audio.Addr != m.Addr || back.Audio.Port != m.Port {
				t.Errorf("returned media %v, body says %v", m, back.Audio)
			}
		})
	}
}

func TestBuildOfferBadInput(t *testing.T) {
	in := mustParse(t, "baresip_offer.sdp")
	tests := []struct {
		name string
		in   *Session
		addr netip.Addr
		port int
		want error
	}{
		{"nil session", nil, relay4, 30000, ErrNoAudio},
		{"no audio", &Session{}, relay4, 30000, ErrNoAudio},
		{"zero relay address", in, netip.Addr{}, 30000, ErrMalformed},
		{"unspecified relay address", in, netip.IPv4Unspecified(), 30000, ErrMalformed},
		{"port 0", in, relay4, 0, ErrMalformed},
		{"port too big", in, relay4, 65536, ErrMalformed},
		{"bad direction", &Session{Audio: &Media{Proto: "RTP/AVP", Port: 1, Codecs: []Codec{{Name: "PCMU", Rate: 8000}}, Direction: "a=x"}},
			relay4, 30000, ErrMalformed},
		{"line injection in extra", &Session{Audio: &Media{Proto: "RTP/AVP", Port: 1, Codecs: []Codec{{Name: "PCMU", Rate: 8000}},
			Extra: []string{"hushbox-x:1\r\nm=video 1 RTP/AVP 0"}}}, relay4, 30000, ErrMalformed},
		{"line injection in fmtp", &Session{Audio: &Media{Proto: "RTP/AVP", Port: 1, Codecs: []Codec{{Name: "PCMU", Rate: 8000},
			{PT: 101, Name: "telephone-event", Rate: 8000, Fmtp: "0-15\r\na=evil"}}}}, relay4, 30000, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, _, err := BuildOffer(tt.in, Origin{}, tt.addr, tt.port)
			if !errors.Is(err, tt.want) {
				t.Errorf("BuildOffer = %q, %v; want %v", body, err, tt.want)
			}
		})
	}
}

// A hand-built Session (not from Parse) with no Streams still gives one audio m= line.
func TestBuildOfferWithoutStreams(t *testing.T) {
	in := &Session{Audio: &Media{Proto: "RTP/AVP", Addr: relay4, Port: 4000,
		Codecs: []Codec{{PT: 8, Name: "pcma", Rate: 8000, Channels: 1}}}}
	body, m, err := BuildOffer(in, Origin{SessionID: 7, Version: 9}, relay4, 30000)
	if err != nil {
		t.Fatal(err)
	}
	ls := lines(t, body)
	if got := mLines(ls); len(got) != 1 || got[0] != "m=audio 30000 RTP/AVP 8 0" {
		t.Errorf("m= lines %q", got)
	}
	if !has(ls, "o=- 7 9 IN IP4 203.0.113.7") || !has(ls, "a=sendrecv") || m.Direction != SendRecv {
		t.Errorf("body:\n%s", body)
	}
}

// When the static payload type of the added law is taken, a dynamic one is used.
func TestBuildOfferPayloadTypeClash(t *testing.T) {
	in := &Session{Audio: &Media{Proto: "RTP/AVP", Port: 4000, Codecs: []Codec{
		{PT: 0, Name: "PCMU", Rate: 8000, Channels: 1},
		{PT: 8, Name: "telephone-event", Rate: 8000, Channels: 1},
	}}}
	body, m, err := BuildOffer(in, Origin{}, relay4, 30000)
	if err != nil {
		t.Fatal(err)
	}
	if got := codecList(m.Codecs); got != "0:PCMU/8000 96:PCMA/8000 8:telephone-event/8000" {
		t.Errorf("codecs %s\n%s", got, body)
	}
}
