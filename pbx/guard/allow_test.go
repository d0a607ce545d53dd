package guard

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParsePrefix(t *testing.T) {
	for _, tc := range []struct {
		in, want string // want "" means an error
	}{
		{"192.168.1.0/24", "192.168.1.0/24"},
		{" 10.0.0.0/8 ", "10.0.0.0/8"},
		{"192.0.2.7", "192.0.2.7/32"},
		{"2001:db8::/32", "2001:db8::/32"},
		{"2001:db8::1", "2001:db8::1/128"},
		{"0.0.0.0/0", "0.0.0.0/0"},
		{"192.168.1.1/24", ""}, // host bits
		{"192.168.1.0/33", ""},
		{"::ffff:10.0.0.0/104", ""},
		{"::ffff:10.0.0.1", ""},
		{"fe80::1%eth0", ""},
		{"example.com", ""},
		{"", ""},
		{"10.0.0.0/", ""},
	} {
		p, err := ParsePrefix(tc.in)
		if tc.want == "" {
			if err == nil {
				t.Errorf("%q: accepted as %v", tc.in, p)
			}
			continue
		}
		if err != nil || p.String() != tc.want {
			t.Errorf("%q: %v %v, want %s", tc.in, p, err, tc.want)
		}
	}
}

func TestParseAllowList(t *testing.T) {
	ps, errs := ParseAllowList("# the office\n192.168.1.0/24\n\n10.0.0.0/8  # VPN\r\n192.168.1.0/24\n")
	if len(errs) != 0 || len(ps) != 2 || ps[0].String() != "192.168.1.0/24" || ps[1].String() != "10.0.0.0/8" {
		t.Fatalf("%v %v", ps, errs)
	}
	ps, errs = ParseAllowList("192.168.1.0/24\nbogus\n10.0.0.1/8\n")
	if ps != nil || len(errs) != 2 || !strings.HasPrefix(errs[0].Error(), "line 2:") || !strings.HasPrefix(errs[1].Error(), "line 3:") {
		t.Fatalf("%v %v", ps, errs)
	}
	var b strings.Builder
	for i := range MaxAllow + 1 {
		b.WriteString(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}).String() + "\n")
	}
	if ps, errs := ParseAllowList(b.String()); ps != nil || len(errs) != 1 {
		t.Fatalf("too long a list: %d entries, %v", len(ps), errs)
	}
	if ps, errs := ParseAllowList(""); ps != nil || errs != nil {
		t.Fatalf("empty list: %v %v", ps, errs)
	}
}

// Whatever is typed, a list is either all valid prefixes that the guard
// accepts, or refused with at least one error.
func FuzzParseAllowList(f *testing.F) {
	for _, s := range []string{"192.168.1.0/24\n10.0.0.1", "::1\n# x\nfc00::/7", "1.2.3.4/99", "\xff\n/\n%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ps, errs := ParseAllowList(s)
		if len(errs) > 0 {
			if ps != nil {
				t.Fatal("entries returned with errors")
			}
			return
		}
		if err := validAllow(ps); err != nil {
			t.Fatalf("parsed list not valid: %v", err)
		}
		for _, p := range ps {
			if again, err := ParsePrefix(p.String()); err != nil || again != p {
				t.Fatalf("%v does not round-trip: %v %v", p, again, err)
			}
		}
	})
}

func TestDefaultAllow(t *testing.T) {
	g := newTestGuard(t, newClock(), nil)
	for _, a := range []string{"127.0.0.1", "127.0.0.2", "::1", "10.1.2.3", "172.31.0.1", "192.168.0.1", "fd00::1", "fe80::1"} {
		if !g.Allowed(netip.MustParseAddr(a)) {
			t.Errorf("%s not allow-listed by default", a)
		}
	}
	for _, a := range []string{"203.0.113.1", "172.32.0.1", "2001:db8::1", "100.64.0.1"} {
		if g.Allowed(netip.MustParseAddr(a)) {
			t.Errorf("%s allow-listed by default", a)
		}
	}
	if err := validAllow(DefaultAllow); err != nil {
		t.Fatal(err)
	}
}

func TestCapEff(t *testing.T) {
	for _, tc := range []struct {
		status string
		want   bool
	}{
		{"Name:\tx\nCapEff:\t000001fffeffffff\n", true},
		{"CapEff:\t0000000000000000\n", false},
		{"CapEff:\t0000000000001000\n", true},
		{"CapInh:\t0000000000001000\n", false},
		{"CapEff:\tzz\n", false},
	} {
		if got := capEffHas(strings.NewReader(tc.status), capNetAdmin); got != tc.want {
			t.Errorf("%q: %v", tc.status, got)
		}
	}
}

// Peers are trusted besides the owner's list, and survive its changes.
func TestSetPeers(t *testing.T) {
	g := newTestGuard(t, newClock(), newMemStore())
	peer := netip.MustParseAddr("198.51.100.77")
	if err := g.SetPeers([]netip.Prefix{netip.PrefixFrom(peer, 32)}); err != nil {
		t.Fatal(err)
	}
	if err := g.SetAllowList([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}); err != nil {
		t.Fatal(err)
	}
	if g.Check(peer) != Trusted || g.Check(netip.MustParseAddr("10.1.1.1")) != Trusted {
		t.Fatal("peer or LAN not trusted")
	}
	if got := g.AllowList(); len(got) != 1 {
		t.Fatalf("peers leaked into the owner's list: %v", got)
	}
	if err := g.SetPeers([]netip.Prefix{netip.MustParsePrefix("10.0.0.1/8")}); err == nil {
		t.Fatal("unclean prefix accepted")
	}
}
