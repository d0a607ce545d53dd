package guard

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeLimiter records what the guard asks of the kernel limits.
type fakeLimiter struct {
	fakeFirewall
	mu       sync.Mutex
	programs []Ruleset
	batches  [][]TrustEntry
	counters map[string]uint64
	trustErr error
}

func (f *fakeLimiter) Program(r Ruleset) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.programs = append(f.programs, r)
	return nil
}

func (f *fakeLimiter) Trust(es []TrustEntry) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.batches = append(f.batches, slices.Clone(es))
	return f.trustErr
}

func (f *fakeLimiter) Counters() (map[string]uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := map[string]uint64{}
	for k, v := range f.counters {
		m[k] = v
	}
	return m, nil
}

func newLimitedGuard(t *testing.T, c *clock) (*Guard, *fakeLimiter) {
	t.Helper()
	fl := &fakeLimiter{counters: map[string]uint64{}}
	g, err := New(Config{Now: c.Now, Log: quietLog(), Firewall: fl})
	if err != nil {
		t.Fatal(err)
	}
	return g, fl
}

// Many authentications make one batch; allow-listed and banned sources
// and a source whose trust is still fresh are not sent.
func TestTrustBatches(t *testing.T) {
	c := newClock()
	g, fl := newLimitedGuard(t, c)
	if err := g.Ban(stranger2, time.Hour, "manual"); err != nil {
		t.Fatal(err)
	}
	phone := netip.MustParseAddr("203.0.113.50")
	mapped := netip.MustParseAddr("::ffff:203.0.113.51")
	v6 := netip.MustParseAddr("2001:db8::5")
	for range 100 { // a phone that registers 100 times
		g.Trust(phone, AuthTrust)
	}
	g.Trust(mapped, AuthTrust)
	g.Trust(v6, PartyTrust)
	g.Trust(lanPhone, AuthTrust)                       // allow-listed
	g.Trust(stranger2, AuthTrust)                      // banned
	g.Trust(netip.MustParseAddr("0.0.0.0"), AuthTrust) // unusable
	g.Trust(netip.Addr{}, AuthTrust)
	g.flushTrust()
	g.flushTrust() // nothing pending: no exec
	if len(fl.batches) != 1 {
		t.Fatalf("%d batches, want 1: %v", len(fl.batches), fl.batches)
	}
	got := map[netip.Addr]time.Duration{}
	for _, e := range fl.batches[0] {
		got[e.Addr] = e.TTL
	}
	want := map[netip.Addr]time.Duration{phone: AuthTrust, mapped.Unmap(): AuthTrust, v6: PartyTrust}
	if len(got) != len(want) {
		t.Fatalf("batch %v, want %v", got, want)
	}
	for a, d := range want {
		if got[a] != d {
			t.Errorf("%s trusted for %v, want %v", a, got[a], d)
		}
	}
	// Fresh trust is not renewed; past half its time it is.
	c.Add(AuthTrust / 4)
	g.Trust(phone, AuthTrust)
	g.flushTrust()
	if len(fl.batches) != 1 {
		t.Fatalf("fresh trust renewed: %v", fl.batches[1:])
	}
	c.Add(AuthTrust / 2)
	g.Trust(phone, AuthTrust)
	g.flushTrust()
	if len(fl.batches) != 2 || len(fl.batches[1]) != 1 || fl.batches[1][0].Addr != phone {
		t.Fatalf("trust not renewed: %v", fl.batches)
	}
}

// A failed write is retried at the next Trust (nothing counts as sent).
func TestTrustFailureRetries(t *testing.T) {
	c := newClock()
	g, fl := newLimitedGuard(t, c)
	fl.trustErr = errors.New("nft: no such set")
	g.Trust(stranger, AuthTrust)
	g.flushTrust()
	fl.trustErr = nil
	g.Trust(stranger, AuthTrust)
	g.flushTrust()
	if len(fl.batches) != 2 {
		t.Fatalf("%d batches, want 2", len(fl.batches))
	}
}

// Without a kernel limiter Trust costs nothing and sends nothing.
func TestTrustWithoutLimiter(t *testing.T) {
	c := newClock()
	fw := &fakeFirewall{}
	g, err := New(Config{Now: c.Now, Log: quietLog(), Firewall: fw})
	if err != nil {
		t.Fatal(err)
	}
	g.Trust(stranger, AuthTrust)
	g.flushTrust()
	g.ProtectSIP(SIPPorts{UDP: []int{5060}})
	if len(g.trust.pending) != 0 || len(g.reprog) != 0 {
		t.Fatal("a plain firewall got kernel-limit work")
	}
}

// The ruleset follows the ports, the limits and the allow-list (owner's
// and peers'); each change asks for a new program.
func TestRulesetFollowsSettings(t *testing.T) {
	c := newClock()
	g, fl := newLimitedGuard(t, c)
	g.ProtectSIP(SIPPorts{UDP: []int{5060}, TCP: []int{5060, 5061}})
	g.applyRuleset()
	r := fl.programs[0]
	if !slices.Equal(r.UDPPorts, []int{5060}) || !slices.Equal(r.TCPPorts, []int{5060, 5061}) {
		t.Errorf("ports %v %v", r.UDPPorts, r.TCPPorts)
	}
	if r.PerSource != 20 || r.PerSourceBurst != 60 || r.Untrusted != DefaultUntrustedPerSecond || r.UntrustedBurst != DefaultUntrustedPerSecond/10 || r.ConnPerSource != 5 || r.ConnUntrusted != 50 {
		t.Errorf("default rates: %+v", r)
	}
	if !slices.Equal(r.Allow, DefaultAllow) {
		t.Errorf("allow %v", r.Allow)
	}

	<-g.reprog // the ProtectSIP request, already served above
	lim := g.Limits()
	lim.RequestsPerSecond, lim.Burst, lim.UntrustedPerSecond = 8, 16, 90
	if err := g.SetLimits(lim); err != nil {
		t.Fatal(err)
	}
	peer := netip.MustParsePrefix("198.51.100.77/32")
	if err := g.SetPeers([]netip.Prefix{peer}); err != nil {
		t.Fatal(err)
	}
	if len(g.reprog) != 1 {
		t.Fatal("changes did not ask for a new program")
	}
	<-g.reprog
	g.applyRuleset()
	r = fl.programs[1]
	if r.PerSource != 8 || r.PerSourceBurst != 16 || r.Untrusted != 90 || r.UntrustedBurst != 9 || r.ConnPerSource != 2 || r.ConnBurst != 4 {
		t.Errorf("owner's rates: %+v", r)
	}
	if !slices.Contains(r.Allow, peer) {
		t.Errorf("peer not allowed: %v", r.Allow)
	}
}

// Kernel drops count as refusals (the /metrics figure) and as pressure;
// a table made again (counters back to zero) does not make them go back.
func TestKernelDropsCount(t *testing.T) {
	c := newClock()
	g, fl := newLimitedGuard(t, c)
	set := func(src, all uint64) {
		fl.mu.Lock()
		fl.counters[CounterSourceDrops], fl.counters[CounterGlobalDrops] = src, all
		fl.mu.Unlock()
	}
	set(900, 100)
	g.readKernel()
	if g.KernelDropped() != 1000 || g.Refused() != 1000 || g.Stats().KernelDropped != 1000 {
		t.Fatalf("kernel %d refused %d", g.KernelDropped(), g.Refused())
	}
	set(1900, 100)
	g.readKernel()
	set(50, 0) // table made again
	g.readKernel()
	if g.KernelDropped() != 2050 {
		t.Fatalf("kernel dropped %d, want 2050", g.KernelDropped())
	}
	// A flood cut in the kernel raises the pressure like userspace drops.
	var s sampler
	s.start(g, Probes{})
	for range 5 {
		c.Add(Tick)
		set(fl.counters[CounterSourceDrops]+5000, 0)
		g.readKernel()
		s.sample(g, Probes{})
	}
	if lvl, _ := g.Pressure(); lvl < High {
		t.Fatalf("pressure %v after 5 s of 5000 kernel drops/s", lvl)
	}
}

// Socket overflows (a full receive buffer) count as drops for pressure.
func TestSocketOverflowsPress(t *testing.T) {
	c := newClock()
	g := newTestGuard(t, c, nil)
	var over uint64
	p := Probes{SocketOverflows: func() uint64 { return over }}
	var s sampler
	s.start(g, p)
	for range 5 {
		c.Add(Tick)
		over += 4000
		s.sample(g, p)
	}
	if lvl, _ := g.Pressure(); lvl < High {
		t.Fatalf("pressure %v after 5 s of 4000 overflows/s", lvl)
	}
}

// Counters come from nft's JSON listing.
func TestParseCounters(t *testing.T) {
	out := `{"nftables": [{"metainfo": {"version": "1.0.6", "json_schema_version": 1}}, {"counter": {"family": "inet", "name": "sip_source_drops", "table": "hushbox", "handle": 2, "packets": 4711, "bytes": 99}}, {"counter": {"family": "inet", "name": "banned_drops", "table": "hushbox", "handle": 1, "packets": 3, "bytes": 0}}]}`
	m, err := parseCounters([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if m[CounterSourceDrops] != 4711 || m[CounterBanned] != 3 || len(m) != 2 {
		t.Fatalf("%v", m)
	}
	if _, err := parseCounters([]byte("Error: No such file or directory")); err == nil {
		t.Fatal("garbage parsed")
	}
}

// RcvbufErrors comes from the Udp table of /proc/net/snmp (and snmp6).
func TestSNMP(t *testing.T) {
	snmp := `Ip: Forwarding DefaultTTL InReceives
Ip: 1 64 100
Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
Udp: 5000 3 7 4000 6973 0 0 0 0
UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
UdpLite: 0 0 0 0 11 0 0 0 0
`
	for _, tc := range []struct {
		prefix, field string
		want          uint64
		ok            bool
	}{
		{"Udp:", "RcvbufErrors", 6973, true},
		{"UdpLite:", "RcvbufErrors", 11, true},
		{"Udp:", "NoSuchField", 0, false},
		{"Tcp:", "RcvbufErrors", 0, false},
	} {
		v, ok := snmpValue(strings.NewReader(snmp), tc.prefix, tc.field)
		if v != tc.want || ok != tc.ok {
			t.Errorf("%s %s = %d %v, want %d %v", tc.prefix, tc.field, v, ok, tc.want, tc.ok)
		}
	}
	v, ok := snmp6Value(strings.NewReader("Udp6InDatagrams                 \t12\nUdp6RcvbufErrors                \t42\n"), "Udp6RcvbufErrors")
	if v != 42 || !ok {
		t.Errorf("snmp6: %d %v", v, ok)
	}
}

func TestUntrustedBurst(t *testing.T) {
	for _, tc := range []struct{ perSecond, want int }{
		{DefaultUntrustedPerSecond, 20}, {90, 9}, {5, 1}, {1, 1}, {MaxRequestsPerSecond, 1000},
	} {
		if got := untrustedBurst(tc.perSecond); got != tc.want {
			t.Errorf("untrustedBurst(%d) = %d, want %d", tc.perSecond, got, tc.want)
		}
	}
}
