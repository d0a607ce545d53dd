package call

import (
	"net/netip"
	"strings"
	"testing"

	"hushbox/pbx/sdp"
)

func TestPointSDP(t *testing.T) {
	const ours = "v=0\r\no=hushbox 123 5 IN IP4 192.168.1.2\r\ns=-\r\nc=IN IP4 192.168.1.2\r\nt=0 0\r\n" +
		"m=audio 20000 RTP/SAVP 0 101\r\na=rtcp:20001\r\na=rtpmap:0 PCMU/8000\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:KEYKEYKEY\r\na=sendrecv\r\n" +
		"m=video 0 RTP/AVP 96\r\n"
	for _, tc := range []struct {
		name string
		at   string
		want []string // lines that must be there
		not  []string
	}{
		{"to the cloud", "198.51.100.7:30002",
			[]string{"o=hushbox 123 6 IN IP4 198.51.100.7", "c=IN IP4 198.51.100.7", "m=audio 30002 RTP/SAVP 0 101",
				"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:KEYKEYKEY", "m=video 0 RTP/AVP 96"},
			[]string{"a=rtcp:20001", "192.168.1.2"}},
		{"IPv6", "[2001:db8::5]:30004",
			[]string{"c=IN IP6 2001:db8::5", "m=audio 30004 RTP/SAVP 0 101"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := pointSDP([]byte(ours), netip.MustParseAddrPort(tc.at))
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(got), w+"\r\n") {
					t.Errorf("missing %q in\n%s", w, got)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(string(got), n) {
					t.Errorf("%q still in\n%s", n, got)
				}
			}
			s, err := sdp.Parse(got)
			if err != nil || s.Audio == nil || mediaAddr(s.Audio) != netip.MustParseAddrPort(tc.at) {
				t.Fatalf("the result parses to %+v %v, want audio at %s", s, err, tc.at)
			}
		})
	}
	if _, err := pointSDP(nil, netip.MustParseAddrPort("1.2.3.4:5")); err == nil {
		t.Error("empty SDP: no error")
	}
	if _, err := pointSDP([]byte("v=0\r\nm=video 4 RTP/AVP 96\r\n"), netip.MustParseAddrPort("1.2.3.4:5")); err == nil {
		t.Error("SDP without audio: no error")
	}
}

// FuzzPointSDP: whatever the body, pointSDP does not panic, and what it
// returns has the audio at the address asked for when it parses.
func FuzzPointSDP(f *testing.F) {
	f.Add([]byte("v=0\r\no=a 1 1 IN IP4 1.1.1.1\r\ns=-\r\nc=IN IP4 1.1.1.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"))
	f.Add([]byte("m=audio 0 RTP/AVP 0\r\nm=audio 5 RTP/AVP 8\r\nc=IN IP6 ::1\r\n"))
	at := netip.MustParseAddrPort("198.51.100.7:30002")
	f.Fuzz(func(t *testing.T, body []byte) {
		out, err := pointSDP(body, at)
		if err != nil {
			return
		}
		if !strings.Contains(string(out), "m=audio 30002 ") {
			t.Fatalf("audio port not set:\n%s", out)
		}
	})
}
