package daemon

import (
	"net/netip"
	"testing"
	"time"

	"hushbox/pbx/guard"
	"hushbox/pbx/registrar"
)

func TestTrustSaved(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	bs := []registrar.Binding{
		{Extension: "101", Source: "192.0.2.10:5060", Expires: now.Add(30 * time.Minute)},
		{Extension: "102", Source: "[2001:db8::7]:5062", Expires: now.Add(10 * time.Hour)},
		{Extension: "103", Source: "192.0.2.11:5060", Expires: now.Add(-time.Second)}, // lapsed
		{Extension: "104", Source: "not an address", Expires: now.Add(time.Hour)},
	}
	got := map[netip.Addr]time.Duration{}
	n := trustSaved(func(a netip.Addr, ttl time.Duration) { got[a] = ttl }, bs, now)
	want := map[netip.Addr]time.Duration{
		netip.MustParseAddr("192.0.2.10"):  31 * time.Minute, // until the binding lapses, plus a minute
		netip.MustParseAddr("2001:db8::7"): guard.AuthTrust,  // never longer than an authentication gives
	}
	if n != len(want) || len(got) != len(want) {
		t.Fatalf("trusted %d (%v), want %v", n, got, want)
	}
	for a, ttl := range want {
		if got[a] != ttl {
			t.Errorf("%v trusted for %v, want %v", a, got[a], ttl)
		}
	}
}
