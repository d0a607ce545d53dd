package interop

import (
	"slices"
	"testing"
)

func TestTopVia(t *testing.T) {
	tests := []struct {
		name, msg string
		transport string
		port      int
		rport, ok bool
	}{
		{"plain", "OPTIONS sip:a SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n\r\n", "UDP", 5060, false, true},
		{"port and rport", "OPTIONS sip:a SIP/2.0\r\nTo: x\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=b;rport\r\n\r\n", "UDP", 5070, true, true},
		{"compact tcp", "OPTIONS sip:a SIP/2.0\r\nv: SIP/2.0/TCP h.example.com\r\n\r\n", "TCP", 5060, false, true},
		{"tls default", "OPTIONS sip:a SIP/2.0\r\nVia: SIP/2.0/TLS h;branch=b\r\n\r\n", "TLS", 5061, false, true},
		{"folded", "INVITE sip:a SIP/2.0\r\nVia  : SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=390skdjuw\r\n\r\n", "UDP", 5060, false, true},
		{"first of two", "R sip:a SIP/2.0\r\nVia: SIP/2.0/UDP a:1000\r\nVia: SIP/2.0/UDP b:2000\r\n\r\n", "UDP", 1000, false, true},
		{"none", "INVITE sip:a SIP/2.0\r\nTo: a\r\n\r\nVia: SIP/2.0/UDP body:1\r\n", "", 0, false, false},
		{"garbage", "Via: nonsense", "", 0, false, false},
	}
	for _, tc := range tests {
		tr, port, rport, ok := topVia([]byte(tc.msg))
		if tr != tc.transport || port != tc.port || rport != tc.rport || ok != tc.ok {
			t.Errorf("%s: got %q %d %v %v, want %q %d %v %v", tc.name, tr, port, rport, ok, tc.transport, tc.port, tc.rport, tc.ok)
		}
	}
}

func TestStatusCodesAndJudge(t *testing.T) {
	data := []byte("SIP/2.0 100 Trying\r\nVia: x\r\n\r\nSIP/2.0 407 Proxy Authentication Required\r\n\r\n")
	if got := statusCodes(data); !slices.Equal(got, []int{100, 407}) {
		t.Fatalf("statusCodes = %v", got)
	}
	tests := []struct {
		want  tortureWant
		codes []int
		ok    bool
	}{
		{wantAnswer, []int{100, 407}, true},
		{wantAnswer, []int{401}, true},
		{wantAnswer, []int{400}, false},
		{wantAnswer, []int{500}, false},
		{wantAnswer, nil, false},
		{wantReject, nil, true},
		{wantReject, []int{400}, true},
		{wantReject, []int{401}, true},
		{wantReject, []int{100, 407}, true},
		{wantReject, []int{200}, false},
		{wantReject, []int{404}, false},
		{wantReject, []int{100, 405}, false},
		{wantRefuse, []int{505}, true},
		{wantRefuse, nil, true},
		{wantRefuse, []int{200}, false},
		{wantSilence, nil, true},
		{wantSilence, []int{400}, false},
		{wantSurvive, []int{200}, true},
	}
	for _, tc := range tests {
		if got := judgeTorture(tc.want, tc.codes) == ""; got != tc.ok {
			t.Errorf("judge(%s, %v) ok=%v, want %v", tc.want, tc.codes, got, tc.ok)
		}
	}
}

func FuzzTopVia(f *testing.F) {
	f.Add([]byte("OPTIONS sip:a SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;rport\r\n\r\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		tr, port, _, ok := topVia(msg)
		if ok && (tr == "" || port < 0) {
			t.Fatalf("ok with transport %q port %d", tr, port)
		}
		_ = statusCodes(msg)
	})
}
