package endpoint

import (
	"net"
	"net/netip"
	"testing"
)

func TestSameHostPort(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"127.0.0.1:5060", "127.0.0.1:5060", true},
		{"[::ffff:127.0.0.1]:5060", "127.0.0.1:5060", true},
		{"127.0.0.1:5060", "127.0.0.1:5062", false},
		{"198.51.100.1:5060", "127.0.0.1:5060", false},
		{"pbx.example:5060", "pbx.example:5060", true},
		{"pbx.example:5060", "127.0.0.1:5060", false},
	} {
		if got := sameHostPort(tc.a, tc.b); got != tc.want {
			t.Errorf("sameHostPort(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

// After a re-INVITE moved the peer's media (follow), RTP from the new
// address plays, as does what is still in flight from the old one;
// anyone else is still dropped.
func TestFromPeerAfterMove(t *testing.T) {
	s := &stream{plan: mediaPlan{Remote: netip.MustParseAddrPort("198.51.100.1:4000")}}
	check := func(when string, want map[string]bool) {
		t.Helper()
		for a, ok := range want {
			if got := s.fromPeer(netip.MustParseAddr(a)); got != ok {
				t.Errorf("%s: fromPeer(%s) = %v, want %v", when, a, got, ok)
			}
		}
	}
	check("before the move", map[string]bool{"198.51.100.1": true, "203.0.113.9": false, "192.0.2.7": false})
	s.moved.Store(net.UDPAddrFromAddrPort(netip.MustParseAddrPort("203.0.113.9:30000")))
	check("moved to the cloud", map[string]bool{"198.51.100.1": true, "203.0.113.9": true, "192.0.2.7": false})
	s.moved.Store(net.UDPAddrFromAddrPort(netip.MustParseAddrPort("[::ffff:198.51.100.1]:4002")))
	check("moved back", map[string]bool{"198.51.100.1": true, "203.0.113.9": false})
}
