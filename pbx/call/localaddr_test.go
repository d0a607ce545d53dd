package call

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestMediaIPForParty(t *testing.T) {
	lan, wan := netip.MustParseAddr("10.71.1.1"), netip.MustParseAddr("10.71.2.2")
	// The board of the test bed: the LAN phone's subnet is on one side,
	// everything else goes out of the WAN side.
	routes := func(dst netip.Addr) (netip.Addr, bool) {
		switch {
		case netip.MustParsePrefix("10.71.1.0/24").Contains(dst):
			return lan, true
		case dst.Is6():
			return netip.MustParseAddr("2001:db8::2"), true
		case dst == netip.MustParseAddr("192.0.2.99"):
			return netip.Addr{}, false // no route
		}
		return wan, true
	}
	for _, tc := range []struct {
		name     string
		perParty bool
		dest     string
		want     netip.Addr
	}{
		{"LAN phone", true, "10.71.1.2:5100", lan},
		{"remote phone", true, "10.71.3.2:5100", wan},
		{"address without port", true, "10.71.1.7", lan},
		{"pinned (--media-ip, NAT)", false, "10.71.1.2:5100", wan},
		{"host name: the fallback", true, "sip.example.net:5060", wan},
		{"no route: the fallback", true, "192.0.2.99:5060", wan},
		{"other family: the fallback", true, "[2001:db8::7]:5060", wan},
		{"empty", true, "", wan},
	} {
		m := NewManager(Config{MediaIP: wan, SIPHost: wan.String(), MediaIPPerParty: tc.perParty})
		m.local.lookup = routes
		if got := m.mediaIPFor(tc.dest); got != tc.want {
			t.Errorf("%s: media address for %q = %v, want %v", tc.name, tc.dest, got, tc.want)
		}
		if got := m.contactFor(tc.dest, "udp").Address.Host; got != tc.want.String() {
			t.Errorf("%s: Contact host for %q = %v, want %v", tc.name, tc.dest, got, tc.want)
		}
	}
}

func TestLocalAddrsCache(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	lookups := 0
	src := netip.MustParseAddr("10.0.0.1")
	la := &localAddrs{now: func() time.Time { return now }, cache: map[netip.Addr]localAddr{},
		lookup: func(netip.Addr) (netip.Addr, bool) { lookups++; return src, true }}
	dst := netip.MustParseAddr("10.0.0.9")
	for range 3 {
		if got := la.sourceFor(dst, netip.Addr{}); got != src {
			t.Fatalf("sourceFor = %v", got)
		}
	}
	if lookups != 1 {
		t.Fatalf("%d route lookups for one destination, want 1 (cached)", lookups)
	}
	// A route that changed is seen after the TTL.
	now = now.Add(localAddrTTL + time.Second)
	src = netip.MustParseAddr("10.0.0.2")
	if got := la.sourceFor(dst, netip.Addr{}); got != src || lookups != 2 {
		t.Fatalf("after the TTL: %v after %d lookups, want %v after 2", got, lookups, src)
	}
}

// The kernel's own answer: towards each loopback address the source is
// that address, so a party on ::1 and one on 127.0.0.1 get different
// addresses from the same box.
func TestRouteSourcePerDestination(t *testing.T) {
	for _, dst := range []string{"127.0.0.1", "::1"} {
		d := netip.MustParseAddr(dst)
		src, ok := routeSource(d)
		if !ok {
			if d.Is6() {
				t.Logf("no IPv6 loopback route here: %s skipped", dst)
				continue
			}
			t.Fatalf("no route source towards %s", dst)
		}
		if src != d {
			t.Errorf("route source towards %s = %s, want %s", dst, src, dst)
		}
	}
	if _, ok := routeSource(netip.Addr{}); ok {
		t.Error("a route source for the zero address")
	}
}

func TestReaddressSDP(t *testing.T) {
	in := "v=0\r\no=hushbox 1 2 IN IP4 10.71.2.2\r\ns=-\r\nc=IN IP4 10.71.2.2\r\nt=0 0\r\nm=audio 20000 RTP/AVP 0\r\nc=IN IP4 10.71.2.2\r\na=rtpmap:0 PCMU/8000\r\n"
	out := string(readdressSDP([]byte(in), netip.MustParseAddr("10.71.1.1")))
	want := strings.ReplaceAll(in, "10.71.2.2", "10.71.1.1")
	if out != want {
		t.Fatalf("readdressed:\n%s\nwant:\n%s", out, want)
	}
	out6 := string(readdressSDP([]byte(in), netip.MustParseAddr("2001:db8::1")))
	if !strings.Contains(out6, "o=hushbox 1 2 IN IP6 2001:db8::1\r\n") || strings.Count(out6, "c=IN IP6 2001:db8::1\r\n") != 2 || !strings.Contains(out6, "m=audio 20000 ") {
		t.Fatalf("readdressed to IPv6:\n%s", out6)
	}
}
