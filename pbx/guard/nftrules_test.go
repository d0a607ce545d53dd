package guard

import (
	"net/netip"
	"strings"
	"testing"
)

// rulesOf returns the "add rule" lines of a script for one chain, in order,
// without the "add rule inet TABLE CHAIN " prefix.
func rulesOf(script, table, chain string) []string {
	var out []string
	prefix := "add rule inet " + table + " " + chain + " "
	for _, l := range strings.Split(script, "\n") {
		if r, ok := strings.CutPrefix(l, prefix); ok {
			out = append(out, r)
		}
	}
	return out
}

// indexOf is the index of the first rule containing s, or -1.
func indexOf(rules []string, s string) int {
	for i, r := range rules {
		if strings.Contains(r, s) {
			return i
		}
	}
	return -1
}

// The ruleset drops banned sources first, then lets the allow-list and the
// trusted sources through, then meters each stranger, then caps them all,
// for the daemon's ports only, at the configured rates.
func TestRulesetScript(t *testing.T) {
	base := Ruleset{
		UDPPorts: []int{5060}, TCPPorts: []int{5061, 5060, 5060},
		Allow:     []netip.Prefix{netip.MustParsePrefix("192.168.1.0/24"), netip.MustParsePrefix("fd00::/8"), netip.MustParsePrefix("127.0.0.0/8")},
		PerSource: 20, PerSourceBurst: 60, Untrusted: 200, UntrustedBurst: 200,
		ConnPerSource: 5, ConnBurst: 15, ConnUntrusted: 50,
	}
	for _, tc := range []struct {
		name      string
		r         Ruleset
		input     []string // rules of the input chain, in order
		udp       []string // substrings of the sip_udp rules, in order
		tcp       []string
		elements  []string // lines that must be there
		forbidden []string // substrings that must not be anywhere
	}{
		{
			name: "daemon ports and defaults",
			r:    base,
			input: []string{
				"ip saddr @banned4 counter name banned_drops drop",
				"ip6 saddr @banned6 counter name banned_drops drop",
				"udp dport { 5060 } jump sip_udp",
				"tcp dport { 5060, 5061 } ct state new jump sip_tcp",
			},
			udp: []string{
				"ip saddr @allow4 accept",
				"ip6 saddr @allow6 accept",
				"ip saddr @trusted4 accept",
				"ip6 saddr @trusted6 accept",
				"update @meter_udp4 { ip saddr limit rate over 20/second burst 60 packets } counter name sip_source_drops drop",
				"update @meter_udp6 { ip6 saddr and ffff:ffff:ffff:ffff:: limit rate over 20/second burst 60 packets } counter name sip_source_drops drop",
				"limit rate over 200/second burst 200 packets counter name sip_untrusted_drops drop",
			},
			tcp: []string{
				"ip saddr @allow4 accept",
				"ip6 saddr @allow6 accept",
				"ip saddr @trusted4 accept",
				"ip6 saddr @trusted6 accept",
				"update @meter_tcp4 { ip saddr limit rate over 5/second burst 15 packets } counter name conn_source_drops drop",
				"update @meter_tcp6 { ip6 saddr and ffff:ffff:ffff:ffff:: limit rate over 5/second burst 15 packets } counter name conn_source_drops drop",
				"limit rate over 50/second burst 50 packets counter name conn_untrusted_drops drop",
			},
			elements: []string{
				"add element inet hushbox allow4 { 192.168.1.0/24, 127.0.0.0/8 }",
				"add element inet hushbox allow6 { fd00::/8 }",
				"flush set inet hushbox meter_udp4",
				"flush chain inet hushbox input",
			},
			// bans and trust survive a change of limits
			forbidden: []string{"flush set inet hushbox banned4", "flush set inet hushbox trusted4"},
		},
		{
			name: "owner's rates",
			r: func() Ruleset {
				r := base
				r.UDPPorts, r.TCPPorts = []int{15060}, nil
				r.PerSource, r.PerSourceBurst, r.Untrusted, r.UntrustedBurst = 7, 9, 70, 80
				return r
			}(),
			input: []string{
				"ip saddr @banned4 counter name banned_drops drop",
				"ip6 saddr @banned6 counter name banned_drops drop",
				"udp dport { 15060 } jump sip_udp",
			},
			udp: []string{"@allow4", "@allow6", "@trusted4", "@trusted6",
				"meter_udp4 { ip saddr limit rate over 7/second burst 9 packets }",
				"limit rate over 7/second burst 9 packets",
				"limit rate over 70/second burst 80 packets counter name sip_untrusted_drops"},
			forbidden: []string{"{ 5060", "tcp dport"},
		},
		{
			name:      "no ports yet: bans only",
			r:         Ruleset{Allow: base.Allow, PerSource: 20, PerSourceBurst: 60, Untrusted: 200, UntrustedBurst: 200},
			input:     []string{"ip saddr @banned4 counter name banned_drops drop", "ip6 saddr @banned6 counter name banned_drops drop"},
			udp:       []string{"@allow4", "@allow6", "@trusted4", "@trusted6", "meter_udp4", "meter_udp6", "sip_untrusted_drops"},
			forbidden: []string{"dport"},
		},
		{
			name:      "empty allow-list",
			r:         Ruleset{UDPPorts: []int{5060, 0, 70000}, PerSource: 1, PerSourceBurst: 1, Untrusted: 1, UntrustedBurst: 1},
			input:     []string{"@banned4", "@banned6", "udp dport { 5060 } jump sip_udp"},
			forbidden: []string{"add element inet hushbox allow", "70000", "{ 0"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.r.Script("hushbox")
			if got := rulesOf(s, "hushbox", "input"); len(got) != len(tc.input) {
				t.Errorf("input chain has %d rules, want %d:\n%s", len(got), len(tc.input), strings.Join(got, "\n"))
			} else {
				for i, want := range tc.input {
					if !strings.Contains(got[i], want) {
						t.Errorf("input rule %d = %q, want %q", i, got[i], want)
					}
				}
			}
			for chain, want := range map[string][]string{"sip_udp": tc.udp, "sip_tcp": tc.tcp} {
				if want == nil {
					continue
				}
				got := rulesOf(s, "hushbox", chain)
				if len(got) != len(want) {
					t.Errorf("%s has %d rules, want %d:\n%s", chain, len(got), len(want), strings.Join(got, "\n"))
					continue
				}
				for i, w := range want {
					if !strings.Contains(strings.ReplaceAll(got[i], " & ", " and "), w) {
						t.Errorf("%s rule %d = %q, want %q", chain, i, got[i], w)
					}
				}
			}
			for _, l := range tc.elements {
				if !strings.Contains(s, l+"\n") {
					t.Errorf("script lacks %q:\n%s", l, s)
				}
			}
			for _, f := range tc.forbidden {
				if strings.Contains(s, f) {
					t.Errorf("script has %q:\n%s", f, s)
				}
			}
		})
	}
}

// The base script starts from an empty table (a crashed run's counters and
// sets go) and declares every set and counter the rules use.
func TestBaseScript(t *testing.T) {
	s := baseScript("hushbox")
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if lines[0] != "add table inet hushbox" || lines[1] != "delete table inet hushbox" || lines[2] != "add table inet hushbox" {
		t.Fatalf("table not made afresh:\n%s", s)
	}
	for _, c := range kernelCounters {
		if !strings.Contains(s, "add counter inet hushbox "+c+"\n") {
			t.Errorf("counter %s not declared", c)
		}
	}
	for _, set := range []string{"banned4", "banned6", "allow4", "allow6", "trusted4", "trusted6", "meter_udp4", "meter_udp6", "meter_tcp4", "meter_tcp6"} {
		if !strings.Contains(s, "add set inet hushbox "+set+" {") {
			t.Errorf("set %s not declared", set)
		}
	}
	if !strings.Contains(s, "flags dynamic,timeout; timeout 1m;") {
		t.Errorf("meters do not forget idle sources:\n%s", s)
	}
	if !strings.Contains(s, "type filter hook input priority -10; policy accept;") {
		t.Errorf("input chain not an accepting filter hook:\n%s", s)
	}
}
