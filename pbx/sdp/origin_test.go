package sdp

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

func TestOrigin(t *testing.T) {
	a, b := NewOrigin(relay4), NewOrigin(relay4)
	if a.SessionID == b.SessionID {
		t.Errorf("two origins share session id %d", a.SessionID)
	}
	if a.SessionID >= 1<<62 || a.SessionID == 0 {
		t.Errorf("session id %d out of range", a.SessionID)
	}
	in := mustParse(t, "baresip_offer.sdp")
	first, _, err := BuildOffer(in, a, relay4, 30000)
	if err != nil {
		t.Fatal(err)
	}
	a.Next()
	second, _, err := BuildOffer(in, a, relay4, 30000)
	if err != nil {
		t.Fatal(err)
	}
	p1, err := Parse(first)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := Parse(second)
	if err != nil {
		t.Fatal(err)
	}
	if p1.Origin.SessionID != p2.Origin.SessionID || p2.Origin.Version != p1.Origin.Version+1 {
		t.Errorf("origins %+v then %+v: want same id, version + 1", p1.Origin, p2.Origin)
	}
	want := "o=- " + strconv.FormatUint(a.SessionID, 10) + " 2 IN IP4 203.0.113.7"
	if !has(lines(t, second), want) {
		t.Errorf("missing %q in\n%s", want, second)
	}
}

func TestOriginLine(t *testing.T) {
	in := mustParse(t, "sipp_uac_offer.sdp")
	tests := []struct {
		o    Origin
		want string
	}{
		{Origin{Username: "hushbox", SessionID: 5, Version: 6, Addr: netip.MustParseAddr("10.0.0.1")}, "o=hushbox 5 6 IN IP4 10.0.0.1"},
		{Origin{SessionID: 5, Version: 6}, "o=- 5 6 IN IP6 2001:db8::7"},
		{Origin{Username: "a b", SessionID: 1, Version: 1, Addr: netip.MustParseAddr("fe80::1%eth0")}, "o=- 1 1 IN IP6 fe80::1"},
	}
	for _, tt := range tests {
		body, _, err := BuildOffer(in, tt.o, relay6, 30000)
		if err != nil {
			t.Fatal(err)
		}
		if ls := lines(t, body); !has(ls, tt.want) {
			t.Errorf("origin %+v: want %q in\n%s", tt.o, tt.want, body)
		}
		if !strings.Contains(string(body), "c=IN IP6 2001:db8::7\r\n") {
			t.Errorf("IPv6 connection line missing:\n%s", body)
		}
	}
}
