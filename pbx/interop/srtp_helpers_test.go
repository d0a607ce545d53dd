package interop

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"testing"

	"hushbox/audio/g711"
)

func TestSRTPAuthTagLen(t *testing.T) {
	tests := []struct {
		suite string
		want  int
		ok    bool
	}{
		{"AES_CM_128_HMAC_SHA1_80", 10, true},
		{"AES_CM_128_HMAC_SHA1_32", 4, true},
		{"AES_256_CM_HMAC_SHA1_80", 10, true},
		{"AEAD_AES_128_GCM", 16, true},
		{"AEAD_AES_256_GCM", 16, true},
		{"aes_cm_128_hmac_sha1_80", 0, false}, // suite names are case sensitive
		{"", 0, false},
	}
	for _, tc := range tests {
		got, ok := srtpAuthTagLen(tc.suite)
		if got != tc.want || ok != tc.ok {
			t.Errorf("srtpAuthTagLen(%q) = %d, %v; want %d, %v", tc.suite, got, ok, tc.want, tc.ok)
		}
	}
}

func TestBaresipSRTPSuite(t *testing.T) {
	tests := map[string]string{
		"stream: audio: starting mediaenc 'srtp-mand' (wait_secure=0)\nsrtp: audio: SRTP is Enabled (cryptosuite=AES_CM_128_HMAC_SHA1_80)\n": "AES_CM_128_HMAC_SHA1_80",
		"srtp: audio: SRTP is Enabled (cryptosuite=AEAD_AES_256_GCM)":                                                                        "AEAD_AES_256_GCM",
		"call: connecting to 'sip:102@127.0.0.1'..\n":                                                                                        "",
		"": "",
	}
	for in, want := range tests {
		if got := baresipSRTPSuite(in); got != want {
			t.Errorf("baresipSRTPSuite(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDaemonSRTPSuites(t *testing.T) {
	log := `time=2026-01-01T00:00:00Z level=INFO msg=call call_id=x from=101 to=102 contacts=1
time=2026-01-01T00:00:01Z level=INFO msg="media: leg SRTP" leg=a port=40002 srtp="SRTP in AES_CM_128_HMAC_SHA1_80, out AES_CM_128_HMAC_SHA1_80"
time=2026-01-01T00:00:01Z level=INFO msg="media: leg SRTP off" leg=b port=40004
time=2026-01-01T00:00:02Z level=INFO msg="media: leg SRTP" leg=b port=40004 srtp="SRTP in AEAD_AES_128_GCM, out AES_CM_128_HMAC_SHA1_32"`
	got := daemonSRTPSuites(log)
	want := [][2]string{
		{"AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_80"},
		{"AEAD_AES_128_GCM", "AES_CM_128_HMAC_SHA1_32"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("leg %d: got %v, want %v", i, got[i], want[i])
		}
	}
	if got := daemonSRTPSuites("hushbox: ready\n"); len(got) != 0 {
		t.Errorf("no SRTP lines: got %v", got)
	}
}

func TestLegTrafficOf(t *testing.T) {
	from, to := portRange{30000, 30009}, portRange{31000, 31039}
	frame := make([]byte, 160)
	srtpBody := make([]byte, 170) // a frame and an 80-bit tag
	rtcp := rtpDatagram(t, 30001, 31001, 8, 7, 0, frame[:20])
	rtcp.payload[1] = 201 // receiver report
	lo := netip.MustParseAddr("127.0.0.1")
	in := []udpDatagram{
		rtpDatagram(t, 30000, 31000, 8, 7, 160, srtpBody),
		rtpDatagram(t, 30000, 31000, 8, 7, 320, frame),
		rtpDatagram(t, 31000, 30000, 8, 9, 160, frame), // the other direction
		rtpDatagram(t, 30000, 32000, 8, 7, 480, frame), // outside to
		rtcp,
		{src: netip.AddrPortFrom(lo, 30000), dst: netip.AddrPortFrom(lo, 31000), payload: []byte{0x80, 8}},  // short
		{src: netip.AddrPortFrom(lo, 30000), dst: netip.AddrPortFrom(lo, 31000), payload: make([]byte, 20)}, // version 0
	}
	lt := legTrafficOf(in, from, to)
	if len(lt.rtp) != 2 || lt.rtcp != 1 || lt.other != 2 {
		t.Fatalf("got %d RTP, %d RTCP, %d other; want 2, 1, 2", len(lt.rtp), lt.rtcp, lt.other)
	}
	lengths := lt.bodyLengths()
	if len(lengths) != 2 || lengths[170] != 1 || lengths[160] != 1 {
		t.Errorf("body lengths %v, want 170:1 160:1", lengths)
	}
	if lt.rtp[0].ts != 160 || lt.rtp[1].ts != 320 || lt.rtp[0].ssrc != 7 || lt.rtp[0].pt != 8 {
		t.Errorf("packets %+v", lt.rtp)
	}
	back := legTrafficOf(in, to, from)
	if len(back.rtp) != 1 || back.rtp[0].ssrc != 9 {
		t.Errorf("other direction: %+v", back)
	}
}

func TestLegTrafficAsG711(t *testing.T) {
	alaw := func(v int16, n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = g711.EncodeAlaw(v)
		}
		return b
	}
	ulaw := make([]byte, 4)
	for i := range ulaw {
		ulaw[i] = g711.EncodeUlaw(-1000)
	}
	in := []udpDatagram{
		rtpDatagram(t, 30000, 31000, 8, 7, 0, append(alaw(1000, 4), 0xff, 0xff)), // a frame and a tag
		rtpDatagram(t, 30000, 31000, 0, 7, 4, ulaw),
		rtpDatagram(t, 30000, 31000, 8, 7, 8, alaw(1000, 3)),   // shorter than n
		rtpDatagram(t, 30000, 31000, 101, 7, 8, alaw(1000, 4)), // telephone-event
		rtpDatagram(t, 30000, 31000, 8, 5, 12, alaw(1000, 4)),  // another SSRC, fewer packets
	}
	frames := legTrafficOf(in, portRange{30000, 30000}, portRange{31000, 31000}).asG711(4)
	if len(frames) != 2 {
		t.Fatalf("got %d frames, want 2: %+v", len(frames), frames)
	}
	for i, want := range []float64{1000, -1000} {
		f := frames[i]
		if f.ssrc != 7 || f.ts != uint32(4*i) || len(f.pcm) != 4 {
			t.Errorf("frame %d: %+v", i, f)
			continue
		}
		for _, v := range f.pcm {
			if math.Abs(float64(v)-want) > 64 {
				t.Errorf("frame %d decodes to %v, want about %v", i, f.pcm, want)
				break
			}
		}
	}
	if got := (legTraffic{}).asG711(160); len(got) != 0 {
		t.Errorf("no packets: got %v", got)
	}
}

func TestBestAbsNormXCorr(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	ref := make([]float64, 1000)
	for i := range ref {
		ref[i] = rng.NormFloat64() * 1000
	}
	delayed := append(make([]float64, 25), ref...)
	inverted := make([]float64, len(delayed))
	other := make([]float64, len(delayed))
	for i := range delayed {
		inverted[i] = -delayed[i]
		other[i] = rng.NormFloat64() * 1000
	}
	tests := []struct {
		name       string
		got        []float64
		minR, maxR float64
		wantLag    int // -2: any
	}{
		{"delayed", delayed, 0.9999, 1.0001, 25},
		{"inverted", inverted, -1.0001, -0.9999, 25},
		{"unrelated", other, -0.2, 0.2, -2},
	}
	for _, tc := range tests {
		r, lag := bestAbsNormXCorr(ref, tc.got, 100)
		if r < tc.minR || r > tc.maxR || (tc.wantLag != -2 && lag != tc.wantLag) {
			t.Errorf("%s: r=%.4f lag=%d, want r in [%.4f, %.4f] lag %d", tc.name, r, lag, tc.minR, tc.maxR, tc.wantLag)
		}
	}
}

// FuzzLegTrafficOf: captured datagrams are outside input; sorting them
// must not panic, and every datagram of the leg lands in one class.
func FuzzLegTrafficOf(f *testing.F) {
	f.Add([]byte{0x80, 8, 0, 1, 0, 0, 0, 160, 0, 0, 0, 7, 0xd5})
	f.Add([]byte{0x81, 201, 0, 7, 0, 0, 0, 9})
	f.Add([]byte{0x90, 8, 0, 1, 0, 0, 0, 160, 0, 0, 0, 7, 0xbe, 0xde, 0, 5})
	f.Fuzz(func(t *testing.T, payload []byte) {
		lo := netip.MustParseAddr("127.0.0.1")
		d := udpDatagram{src: netip.AddrPortFrom(lo, 30000), dst: netip.AddrPortFrom(lo, 31000), payload: payload}
		lt := legTrafficOf([]udpDatagram{d}, portRange{30000, 30000}, portRange{31000, 31000})
		if n := len(lt.rtp) + lt.rtcp + lt.other; n != 1 {
			t.Fatalf("datagram counted %d times: %+v", n, lt)
		}
		for _, p := range lt.rtp {
			if len(p.body) > len(payload) {
				t.Fatalf("body of %d octets from %d", len(p.body), len(payload))
			}
		}
		lt.asG711(1)
	})
}
