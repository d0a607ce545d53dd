package sdp

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func TestParseSamples(t *testing.T) {
	tests := []struct {
		file       string
		addr       string
		port       int
		proto      string
		codecs     string
		dir        string
		ptime      int
		crypto     int
		extra      []string
		audioIndex int
		other      int
		rtcp       string // "" = none
	}{
		{file: "baresip_offer.sdp", addr: "192.0.2.2", port: 7648, proto: "RTP/AVP",
			codecs: "0:PCMU/8000 8:PCMA/8000 9:G722/8000 96:opus/48000 101:telephone-event/8000",
			dir:    SendRecv, ptime: 20},
		{file: "baresip_offer_ipv6.sdp", addr: "fd00::2", port: 25508, proto: "RTP/AVP",
			codecs: "0:PCMU/8000 8:PCMA/8000 9:G722/8000 96:opus/48000 101:telephone-event/8000",
			dir:    SendRecv, ptime: 20},
		{file: "baresip_offer_video.sdp", addr: "192.0.2.2", port: 22086, proto: "RTP/AVP",
			codecs: "0:PCMU/8000 8:PCMA/8000 9:G722/8000 96:opus/48000 101:telephone-event/8000",
			dir:    SendRecv, ptime: 20, other: 1},
		{file: "baresip_srtp_mandatory.sdp", addr: "192.0.2.2", port: 17646, proto: "RTP/SAVP",
			codecs: "0:PCMU/8000 8:PCMA/8000 9:G722/8000 96:opus/48000 101:telephone-event/8000",
			dir:    SendRecv, ptime: 20, crypto: 1},
		{file: "linphone_offer.sdp", addr: "fd00::2", port: 7078, proto: "RTP/AVP",
			codecs: "96:opus/48000 97:speex/16000 98:speex/8000 0:PCMU/8000 8:PCMA/8000 18:G729/8000 " +
				"99:telephone-event/48000 100:telephone-event/16000 101:telephone-event/8000",
			dir: SendRecv},
		{file: "linphone_hold.sdp", addr: "fd00::2", port: 7078, proto: "RTP/AVP",
			codecs: "96:opus/48000 97:speex/16000 98:speex/8000 0:PCMU/8000 8:PCMA/8000 18:G729/8000 " +
				"99:telephone-event/48000 100:telephone-event/16000 101:telephone-event/8000",
			dir: SendOnly},
		{file: "sipp_uac_offer.sdp", addr: "127.0.0.1", port: 6004, proto: "RTP/AVP",
			codecs: "0:PCMU/8000", dir: SendRecv},
		{file: "sipp_answer_hold.sdp", addr: "127.0.0.1", port: 6004, proto: "RTP/AVP",
			codecs: "0:PCMU/8000 101:telephone-event/8000", dir: RecvOnly},
		{file: "hand_old_hold.sdp", addr: "0.0.0.0", port: 17270, proto: "RTP/AVP",
			codecs: "0:PCMU/8000 101:telephone-event/8000", dir: SendOnly, ptime: 20},
		{file: "hand_video_first.sdp", addr: "192.0.2.11", port: 49170, proto: "RTP/AVP",
			codecs: "8:PCMA/8000 97:telephone-event/8000", dir: SendRecv, ptime: 30,
			extra:      []string{"maxptime:60", "hushbox-kx:1 x25519 c2lnbmVkLXNoYXJl"},
			audioIndex: 1, other: 1, rtcp: "192.0.2.12:53020"},
		{file: "hand_answer_rejected.sdp", addr: "192.168.5.11", port: 0, proto: "RTP/AVP",
			codecs: "0:PCMU/8000", dir: SendRecv},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			s := mustParse(t, tt.file)
			a := s.Audio
			if a.Addr.String() != tt.addr || a.Port != tt.port || a.Proto != tt.proto {
				t.Errorf("audio at %s port %d %s, want %s port %d %s", a.Addr, a.Port, a.Proto, tt.addr, tt.port, tt.proto)
			}
			if got := codecList(a.Codecs); got != tt.codecs {
				t.Errorf("codecs\n got %s\nwant %s", got, tt.codecs)
			}
			if a.Direction != tt.dir || a.PTime != tt.ptime {
				t.Errorf("direction %s ptime %d, want %s %d", a.Direction, a.PTime, tt.dir, tt.ptime)
			}
			if len(a.Crypto) != tt.crypto {
				t.Errorf("%d crypto lines, want %d", len(a.Crypto), tt.crypto)
			}
			if !reflect.DeepEqual(a.Extra, tt.extra) {
				t.Errorf("extra %q, want %q", a.Extra, tt.extra)
			}
			if s.AudioIndex != tt.audioIndex || s.OtherMedia != tt.other || len(s.Streams) != tt.other+1 {
				t.Errorf("audio index %d, other %d, %d streams; want %d, %d", s.AudioIndex, s.OtherMedia, len(s.Streams), tt.audioIndex, tt.other)
			}
			var rtcp string
			if a.RTCP.IsValid() {
				rtcp = a.RTCP.String()
			}
			if rtcp != tt.rtcp {
				t.Errorf("rtcp %q, want %q", rtcp, tt.rtcp)
			}
		})
	}
}

func TestParseDetails(t *testing.T) {
	s := mustParse(t, "baresip_offer.sdp")
	if s.Origin.Username != "-" || s.Origin.SessionID != 1574622860 || s.Origin.Version != 260707300 ||
		s.Origin.Addr != netip.MustParseAddr("192.0.2.2") {
		t.Errorf("origin %+v", s.Origin)
	}
	if te := s.Audio.Codecs[4]; te.Fmtp != "0-15" || te.Channels != 1 {
		t.Errorf("telephone-event %+v, want fmtp 0-15 mono", te)
	}
	if opus := s.Audio.Codecs[3]; opus.Channels != 2 || opus.Fmtp != "stereo=1;sprop-stereo=1" {
		t.Errorf("opus %+v", opus)
	}
	// Static payload type without rtpmap keeps its fmtp.
	l := mustParse(t, "linphone_offer.sdp")
	if g729 := l.Audio.Codecs[5]; g729.Name != "G729" || g729.Fmtp != "annexb=yes" {
		t.Errorf("G.729 %+v", g729)
	}
	// A host name in o= is not an error; the address is left zero.
	v := mustParse(t, "hand_video_first.sdp")
	if v.Origin.Addr.IsValid() || v.Origin.Username != "alice" {
		t.Errorf("origin %+v", v.Origin)
	}
	if v.Streams[0].Kind != "video" || v.Streams[0].Port != 51372 || strings.Join(v.Streams[0].Formats, " ") != "99" {
		t.Errorf("video stream %+v", v.Streams[0])
	}
}

func TestParseLineEndings(t *testing.T) {
	crlf := sample(t, "baresip_offer_video.sdp")
	want, err := Parse(crlf)
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		"LF only":         strings.ReplaceAll(string(crlf), "\r\n", "\n"),
		"no final EOL":    strings.TrimSuffix(string(crlf), "\r\n"),
		"trailing blanks": string(crlf) + "\r\n\r\n",
	} {
		got, err := Parse([]byte(body))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %+v, want %+v", name, got, want)
		}
	}
}

func TestParseHoldMapping(t *testing.T) {
	base := "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
	tests := []struct{ attr, want string }{
		{"", SendOnly},
		{"a=sendrecv\r\n", SendOnly},
		{"a=sendonly\r\n", SendOnly},
		{"a=recvonly\r\n", Inactive},
		{"a=inactive\r\n", Inactive},
	}
	for _, tt := range tests {
		s, err := Parse([]byte(base + tt.attr))
		if err != nil {
			t.Fatalf("%q: %v", tt.attr, err)
		}
		if s.Audio.Direction != tt.want {
			t.Errorf("c=0.0.0.0 with %q: direction %s, want %s", tt.attr, s.Audio.Direction, tt.want)
		}
	}
	// Session-level direction applies unless the media overrides it.
	s, err := Parse([]byte("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\na=inactive\r\nm=audio 4000 RTP/AVP 0\r\n"))
	if err != nil || s.Audio.Direction != Inactive {
		t.Errorf("session-level inactive: %v %+v", err, s)
	}
}

func TestParseErrors(t *testing.T) {
	const head = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
	const audio = "m=audio 4000 RTP/AVP 0 101\r\n"
	tests := []struct {
		name string
		body string
		want error
	}{
		{"empty", "", ErrMalformed},
		{"text", "hello world", ErrMalformed},
		{"binary", "\x00\x01\x02\xff\xfe", ErrMalformed},
		{"http", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", ErrMalformed},
		{"no v=", "o=- 1 1 IN IP4 192.0.2.1\r\n" + audio, ErrMalformed},
		{"version 1", "v=1\r\no=- 1 1 IN IP4 192.0.2.1\r\n" + audio, ErrMalformed},
		{"second v=", head + "v=0\r\n" + audio, ErrMalformed},
		{"no o=", "v=0\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n" + audio, ErrMalformed},
		{"short o=", "v=0\r\no=- 1 IN IP4 192.0.2.1\r\n" + audio, ErrMalformed},
		{"o= id not a number", "v=0\r\no=- x 1 IN IP4 192.0.2.1\r\n" + audio, ErrMalformed},
		{"no m=", head, ErrNoAudio},
		{"video only", head + "m=video 5000 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n", ErrNoAudio},
		{"audio not RTP", head + "m=audio 5000 udp 0\r\n", ErrNoAudio},
		{"c= host name", strings.Replace(head, "c=IN IP4 192.0.2.1", "c=IN IP4 pbx.example.com", 1) + audio, ErrMalformed},
		{"c= IP4 with v6", strings.Replace(head, "c=IN IP4 192.0.2.1", "c=IN IP4 2001:db8::1", 1) + audio, ErrMalformed},
		{"c= IP6 with v4", strings.Replace(head, "c=IN IP4 192.0.2.1", "c=IN IP6 192.0.2.1", 1) + audio, ErrMalformed},
		{"c= multicast", strings.Replace(head, "c=IN IP4 192.0.2.1", "c=IN IP4 224.2.1.1/127", 1) + audio, ErrMalformed},
		{"c= zone", strings.Replace(head, "c=IN IP4 192.0.2.1", "c=IN IP6 fe80::1%eth0", 1) + audio, ErrMalformed},
		{"c= two fields", strings.Replace(head, "c=IN IP4 192.0.2.1", "c=IN 192.0.2.1", 1) + audio, ErrMalformed},
		{"c= ATM", strings.Replace(head, "c=IN IP4 192.0.2.1", "c=ATM NSAP 47.0091", 1) + audio, ErrMalformed},
		{"audio without c=", "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n" + audio, ErrMalformed},
		{"port too big", head + "m=audio 70000 RTP/AVP 0\r\n", ErrMalformed},
		{"port not a number", head + "m=audio abc RTP/AVP 0\r\n", ErrMalformed},
		{"m= too short", head + "m=audio 4000\r\n", ErrMalformed},
		{"no format", head + "m=audio 4000 RTP/AVP\r\n", ErrMalformed},
		{"payload type 200", head + "m=audio 4000 RTP/AVP 0 200\r\n", ErrMalformed},
		{"payload type word", head + "m=audio 4000 RTP/AVP PCMU\r\n", ErrMalformed},
		{"rtpmap no rate", head + audio + "a=rtpmap:101 telephone-event\r\n", ErrMalformed},
		{"rtpmap zero rate", head + audio + "a=rtpmap:101 telephone-event/0\r\n", ErrMalformed},
		{"rtpmap no encoding", head + audio + "a=rtpmap:101\r\n", ErrMalformed},
		{"fmtp bad pt", head + audio + "a=fmtp:x 0-15\r\n", ErrMalformed},
		{"rtcp bad port", head + audio + "a=rtcp:0\r\n", ErrMalformed},
		{"rtcp bad address", head + audio + "a=rtcp:4001 IN IP4 example.com\r\n", ErrMalformed},
		{"not type=value", head + "hello\r\n" + audio, ErrMalformed},
		{"inner CR", head + audio + "a=fmtp:101 0-15\rm=video 1 RTP/AVP 0\r\n", ErrMalformed},
		{"NUL", head + audio + "a=ptime:20\x00\r\n", ErrMalformed},
		{"too many m=", head + strings.Repeat(audio, MaxStreams+1), ErrMalformed},
		{"too many formats", head + "m=audio 4000 RTP/AVP" + strings.Repeat(" 0", maxFormats+1) + "\r\n", ErrMalformed},
		{"too large", head + audio + strings.Repeat("a=x-padding:0123456789\r\n", MaxSize/20), ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse([]byte(tt.body))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Parse = %+v, %v; want %v", s, err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "sdp: ") {
				t.Errorf("error %q lacks the package context", err)
			}
		})
	}
}

// SDES keys must not leak into errors or printed values.
func TestNoKeyInOutput(t *testing.T) {
	body := string(sample(t, "baresip_srtp_optional.sdp"))
	const key = "VPFltU09gfnAtGWXONrWXB2UpnpRKewDA6k5H8wM"
	if !strings.Contains(body, key) {
		t.Fatal("sample lost its key")
	}
	_, err := Parse([]byte(body + "a=fmtp:bad " + key + "\r\n"))
	if err == nil || strings.Contains(err.Error(), key) {
		t.Errorf("error %v quotes the key", err)
	}
	s, err := Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Audio.Crypto) != 1 || !strings.Contains(s.Audio.Crypto[0], key) {
		t.Fatalf("crypto %q not kept", s.Audio.Crypto)
	}
	for _, out := range []string{s.Audio.String(), s.Audio.LogValue().String()} {
		if strings.Contains(out, key) || !strings.Contains(out, "PCMU") {
			t.Errorf("printed media %q", out)
		}
	}
	offer, _, err := BuildOffer(s, NewOrigin(relay4), relay4, 30000)
	if err != nil || strings.Contains(string(offer), key) || strings.Contains(string(offer), "crypto") {
		t.Errorf("offer to the callee carries SDES: %v\n%s", err, offer)
	}
}

func BenchmarkParse(b *testing.B) {
	body := sample(b, "linphone_offer.sdp")
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := Parse(body); err != nil {
			b.Fatal(err)
		}
	}
}
