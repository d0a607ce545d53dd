package guard

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
)

func TestMergeRanges(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []string
		want []string // first-last
	}{
		{"none", nil, nil},
		{"one host", []string{"203.0.113.7/32"}, []string{"203.0.113.7-203.0.113.7"}},
		{"host bits ignored", []string{"10.1.2.3/8"}, []string{"10.0.0.0-10.255.255.255"}},
		{"adjacent merged", []string{"10.128.0.0/9", "10.0.0.0/9"}, []string{"10.0.0.0-10.255.255.255"}},
		{"inside merged", []string{"10.0.0.0/8", "10.1.0.0/16"}, []string{"10.0.0.0-10.255.255.255"}},
		{"apart kept", []string{"192.168.0.0/16", "10.0.0.0/8"}, []string{"10.0.0.0-10.255.255.255", "192.168.0.0-192.168.255.255"}},
		{"to the end", []string{"255.0.0.0/8", "254.0.0.0/8", "0.0.0.0/1"},
			[]string{"0.0.0.0-127.255.255.255", "254.0.0.0-255.255.255.255"}},
		{"everything", []string{"0.0.0.0/0", "10.0.0.0/8"}, []string{"0.0.0.0-255.255.255.255"}},
		{"ipv6", []string{"fe80::/10", "fc00::/7", "::1/128"},
			[]string{"::1-::1", "fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ps []netip.Prefix
			for _, s := range tc.in {
				ps = append(ps, netip.MustParsePrefix(s))
			}
			var got []string
			for _, r := range mergeRanges(ps) {
				got = append(got, fmt.Sprintf("%s-%s", r.first, r.last))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("mergeRanges(%v) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestValidPorts(t *testing.T) {
	for _, tc := range []struct {
		in, want []int
	}{
		{nil, nil},
		{[]int{0, -1, 65536}, nil},
		{[]int{5061, 5060, 5061, 65535, 1}, []int{1, 5060, 5061, 65535}},
	} {
		if got := validPorts(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("validPorts(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// What the daemon shows as the kernel firewall: the backend while it
// works, off without one or once it failed.
func TestKernelFirewall(t *testing.T) {
	named := &namedLimiter{backend: BackendNetlink}
	failing := &namedLimiter{backend: BackendNFT}
	failing.fail = true
	for _, tc := range []struct {
		name string
		fw   Firewall
		ban  bool
		want string
	}{
		{"none", nil, false, BackendOff},
		{"netlink", named, true, BackendNetlink},
		{"failed ban", failing, true, BackendOff},
		{"unnamed", &fakeFirewall{}, false, "custom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := New(Config{Now: newClock().Now, Log: quietLog(), Firewall: tc.fw})
			if err != nil {
				t.Fatal(err)
			}
			if tc.ban {
				g.applyFirewall(fwOp{addr: stranger, ban: true, d: 1e9})
			}
			if got := g.KernelFirewall(); got != tc.want {
				t.Errorf("KernelFirewall = %q, want %q", got, tc.want)
			}
		})
	}
}

type namedLimiter struct {
	fakeLimiter
	backend string
}

func (n *namedLimiter) Backend() string { return n.backend }
