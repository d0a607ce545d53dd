package guard

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Ruleset is what the kernel enforces in front of the SIP sockets, before a
// datagram costs the process a wake-up: for each SIP port, in this order,
// banned sources are dropped, allow-listed and trusted sources (those that
// authenticated, and the parties of live calls) are accepted, and everyone
// else meets a per-source meter and then a global cap for untrusted SIP.
// Over either, the packet is dropped and a named counter counts it.
//
// A flood that overflows the SIP socket's receive buffer drops legitimate
// datagrams with it; cutting strangers down in the kernel keeps the buffer
// for the phones.
type Ruleset struct {
	// UDPPorts and TCPPorts are the SIP ports the daemon serves (TLS is a
	// TCP port). No port: no limits, only the ban sets.
	UDPPorts, TCPPorts []int
	// Allow is the allow-list (the owner's prefixes and the cloud peer's).
	Allow []netip.Prefix
	// PerSource and PerSourceBurst meter each untrusted source's SIP
	// datagrams (packets per second).
	PerSource, PerSourceBurst int
	// Untrusted and UntrustedBurst cap all untrusted SIP datagrams together.
	Untrusted, UntrustedBurst int
	// ConnPerSource, ConnBurst meter each untrusted source's new TCP/TLS
	// connections; ConnUntrusted caps them together.
	ConnPerSource, ConnBurst, ConnUntrusted int
}

// Names of the counters the ruleset keeps, all in packets.
const (
	CounterBanned       = "banned_drops"        // any packet from a banned source
	CounterSourceDrops  = "sip_source_drops"    // SIP datagrams over a source's meter
	CounterGlobalDrops  = "sip_untrusted_drops" // SIP datagrams over the untrusted cap
	CounterConnSource   = "conn_source_drops"   // new connections over a source's meter
	CounterConnUntrusts = "conn_untrusted_drops"
)

// kernelCounters are the counters whose sum is the kernel's refusals.
var kernelCounters = []string{CounterBanned, CounterSourceDrops, CounterGlobalDrops, CounterConnSource, CounterConnUntrusts}

// Meter sets: one entry per active source, forgotten a minute after its
// last packet; the size bounds the kernel memory a spoofed flood can take
// (an entry over the size is not made, and the packet meets the global
// cap only).
const (
	meterTimeout = "1m"
	meterSize    = 65536
	trustedSize  = 65536
)

// baseScript makes the table afresh (what a run that did not stop cleanly
// left is deleted; the guard programs its bans again) with its sets,
// counters and chains. It adds no rule: Script does.
func baseScript(table string) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	p("add table inet %s", table)
	p("delete table inet %s", table)
	p("add table inet %s", table)
	for _, c := range kernelCounters {
		p("add counter inet %s %s", table, c)
	}
	for _, v := range []string{"4", "6"} {
		typ := "ipv" + v + "_addr"
		p("add set inet %s banned%s { type %s; flags timeout; }", table, v, typ)
		p("add set inet %s allow%s { type %s; flags interval; auto-merge; }", table, v, typ)
		p("add set inet %s trusted%s { type %s; size %d; flags timeout; }", table, v, typ, trustedSize)
		for _, proto := range []string{"udp", "tcp"} {
			p("add set inet %s meter_%s%s { type %s; size %d; flags dynamic,timeout; timeout %s; }", table, proto, v, typ, meterSize, meterTimeout)
		}
	}
	p("add chain inet %s input { type filter hook input priority -10; policy accept; }", table)
	p("add chain inet %s sip_udp", table)
	p("add chain inet %s sip_tcp", table)
	return b.String()
}

// Script is the nft transaction that puts r in force in table: chains and
// allow sets are emptied and filled again, meters start afresh (their
// rates may have changed); bans and trust are kept.
func (r Ruleset) Script(table string) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	for _, c := range []string{"input", "sip_udp", "sip_tcp"} {
		p("flush chain inet %s %s", table, c)
	}
	for _, s := range []string{"allow4", "allow6", "meter_udp4", "meter_udp6", "meter_tcp4", "meter_tcp6"} {
		p("flush set inet %s %s", table, s)
	}
	var a4, a6 []string
	for _, pf := range r.Allow {
		pf = pf.Masked()
		if pf.Addr().Is4() {
			a4 = append(a4, pf.String())
		} else if pf.Addr().Is6() && !pf.Addr().Is4In6() {
			a6 = append(a6, pf.String())
		}
	}
	if len(a4) > 0 {
		p("add element inet %s allow4 { %s }", table, strings.Join(a4, ", "))
	}
	if len(a6) > 0 {
		p("add element inet %s allow6 { %s }", table, strings.Join(a6, ", "))
	}

	p("add rule inet %s input ip saddr @banned4 counter name %s drop", table, CounterBanned)
	p("add rule inet %s input ip6 saddr @banned6 counter name %s drop", table, CounterBanned)
	if ports := portSet(r.UDPPorts); ports != "" {
		p("add rule inet %s input udp dport %s jump sip_udp", table, ports)
	}
	if ports := portSet(r.TCPPorts); ports != "" {
		p("add rule inet %s input tcp dport %s ct state new jump sip_tcp", table, ports)
	}
	r.limitChain(p, table, "sip_udp", "udp", rate{r.PerSource, r.PerSourceBurst}, rate{r.Untrusted, r.UntrustedBurst},
		CounterSourceDrops, CounterGlobalDrops)
	r.limitChain(p, table, "sip_tcp", "tcp", rate{r.ConnPerSource, r.ConnBurst}, rate{r.ConnUntrusted, r.ConnUntrusted},
		CounterConnSource, CounterConnUntrusts)
	return b.String()
}

type rate struct{ perSecond, burst int }

// limit is the nft limit statement for "more than this" (a zero rate
// limits nothing: the rule is left out).
func (r rate) limit() string {
	return fmt.Sprintf("limit rate over %d/second burst %d packets", r.perSecond, max(1, r.burst))
}

// limitChain fills one of the SIP chains: allow, trust, per-source meter
// (IPv6 sources by /64: one host has a whole /64), global cap.
func (r Ruleset) limitChain(p func(string, ...any), table, chain, proto string, src, all rate, srcCounter, allCounter string) {
	p("add rule inet %s %s ip saddr @allow4 accept", table, chain)
	p("add rule inet %s %s ip6 saddr @allow6 accept", table, chain)
	p("add rule inet %s %s ip saddr @trusted4 accept", table, chain)
	p("add rule inet %s %s ip6 saddr @trusted6 accept", table, chain)
	if src.perSecond > 0 {
		p("add rule inet %s %s update @meter_%s4 { ip saddr %s } counter name %s drop", table, chain, proto, src.limit(), srcCounter)
		p("add rule inet %s %s update @meter_%s6 { ip6 saddr and ffff:ffff:ffff:ffff:: %s } counter name %s drop", table, chain, proto, src.limit(), srcCounter)
	}
	if all.perSecond > 0 {
		p("add rule inet %s %s %s counter name %s drop", table, chain, all.limit(), allCounter)
	}
}

// portSet is an nft set of the valid ports, sorted and without repeats
// ("" when there is none).
func portSet(ports []int) string {
	var ok []int
	for _, pt := range ports {
		if pt > 0 && pt < 65536 && !slices.Contains(ok, pt) {
			ok = append(ok, pt)
		}
	}
	if len(ok) == 0 {
		return ""
	}
	slices.Sort(ok)
	s := make([]string, len(ok))
	for i, pt := range ok {
		s[i] = fmt.Sprint(pt)
	}
	return "{ " + strings.Join(s, ", ") + " }"
}
