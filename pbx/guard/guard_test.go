package guard

import (
	"net"
	"net/netip"
	"testing"
	"time"
)

// A stranger gets its burst, then its rate; an allow-listed phone is never
// limited; another stranger has its own bucket.
func TestTokenBucket(t *testing.T) {
	c := newClock()
	g := newTestGuard(t, c, nil)
	lim := g.Limits()
	for i := range lim.Burst {
		if v := g.Check(stranger); v != Pass {
			t.Fatalf("datagram %d of the burst: %v", i, v)
		}
	}
	if v := g.Check(stranger); v != Limited {
		t.Fatalf("datagram past the burst: %v, want limited", v)
	}
	if v := g.Check(stranger2); v != Pass {
		t.Fatalf("another source shares the bucket: %v", v)
	}
	// After one second the bucket holds RequestsPerSecond tokens again.
	c.Add(time.Second)
	passed := 0
	for range 10 * lim.RequestsPerSecond {
		if g.Check(stranger).OK() {
			passed++
		}
	}
	if passed != lim.RequestsPerSecond {
		t.Fatalf("%d passed one second after the burst, want %d", passed, lim.RequestsPerSecond)
	}
	for range 10 * lim.Burst {
		if v := g.Check(lanPhone); v != Trusted {
			t.Fatalf("LAN phone: %v, want trusted", v)
		}
	}
	// IPv4-mapped IPv6 is the same source as the IPv4 address.
	if v := g.Check(netip.AddrFrom16(stranger.As16())); v != Limited {
		t.Fatalf("mapped form of a limited source: %v", v)
	}
	st := g.Stats()
	if st.DropLimited == 0 || st.Passed == 0 || st.Trusted != uint64(10*lim.Burst) {
		t.Fatalf("stats %+v", st)
	}
}

// A source that keeps flooding past its limit is banned as a flood.
func TestFloodBans(t *testing.T) {
	c := newClock()
	g := newTestGuard(t, c, nil)
	lim := g.Limits()
	n := 0
	for g.Check(stranger) != Banned {
		n++
		if n > lim.Burst+floodFactor*lim.Burst+10 {
			t.Fatalf("still not banned after %d datagrams", n)
		}
	}
	bans := g.Bans()
	if len(bans) != 1 || bans[0].Addr != stranger || bans[0].Reason != "flood" {
		t.Fatalf("bans %+v", bans)
	}
}

// Wrong passwords ban after AuthFailures; each further ban lasts twice as
// long; a ban ends on time; the LAN is never banned.
func TestAuthFailureBackoff(t *testing.T) {
	c := newClock()
	g := newTestGuard(t, c, nil)
	lim := g.Limits()
	want := lim.BanTime
	for strike := 1; strike <= 4; strike++ {
		for i := 1; i < lim.AuthFailures; i++ {
			g.AuthFailure(stranger)
			if g.Banned(stranger) {
				t.Fatalf("strike %d: banned after %d failures, want %d", strike, i, lim.AuthFailures)
			}
		}
		g.AuthFailure(stranger)
		if !g.Banned(stranger) || g.Check(stranger) != Banned {
			t.Fatalf("strike %d: not banned after %d failures", strike, lim.AuthFailures)
		}
		b := g.Bans()[0]
		if got := b.Expires.Sub(b.Since); got != want || b.Strikes != strike || b.Reason != "auth failures" {
			t.Fatalf("strike %d: ban %+v lasting %v, want %v", strike, b, got, want)
		}
		c.Add(want - time.Second)
		if !g.Banned(stranger) {
			t.Fatalf("strike %d: ban ended early", strike)
		}
		c.Add(time.Second)
		if g.Banned(stranger) || g.Check(stranger) != Pass {
			t.Fatalf("strike %d: ban did not end after %v", strike, want)
		}
		want *= 2
	}
	// A day later without trouble, the backoff starts over.
	c.Add(StrikeMemory + time.Minute)
	for range lim.AuthFailures {
		g.AuthFailure(stranger)
	}
	if b := g.Bans(); len(b) != 1 || b[0].Strikes != 1 || b[0].Expires.Sub(b[0].Since) != lim.BanTime {
		t.Fatalf("after the strike memory: %+v", b)
	}
	for range 10 * lim.AuthFailures {
		g.AuthFailure(lanPhone)
	}
	if g.Banned(lanPhone) {
		t.Fatal("an allow-listed phone was banned")
	}
	if err := g.Ban(lanPhone, time.Hour, "x"); err == nil {
		t.Fatal("manual ban of an allow-listed address accepted")
	}
}

// Failures spread wider than the failure window do not add up.
func TestAuthFailureWindow(t *testing.T) {
	c := newClock()
	g := newTestGuard(t, c, nil)
	for range 3 * g.Limits().AuthFailures {
		g.AuthFailure(stranger)
		c.Add(FailureWindow/time.Duration(g.Limits().AuthFailures-1) + time.Second)
	}
	if g.Banned(stranger) {
		t.Fatal("banned for failures spread over more than the window")
	}
}

func TestBanLength(t *testing.T) {
	for _, tc := range []struct {
		base   time.Duration
		strike int
		want   time.Duration
	}{
		{time.Minute, 1, time.Minute},
		{time.Minute, 2, 2 * time.Minute},
		{time.Minute, 5, 16 * time.Minute},
		{time.Hour, 10, MaxBanTime},
		{MaxBanTime, 3, MaxBanTime},
	} {
		if got := banLength(tc.base, tc.strike); got != tc.want {
			t.Errorf("banLength(%v, %d) = %v, want %v", tc.base, tc.strike, got, tc.want)
		}
	}
}

func TestManualBanUnban(t *testing.T) {
	c := newClock()
	st := newMemStore()
	g := newTestGuard(t, c, st)
	if err := g.Ban(stranger, time.Hour, "seen in the logs"); err != nil {
		t.Fatal(err)
	}
	if g.Check(stranger) != Banned {
		t.Fatal("manual ban not enforced")
	}
	if err := g.Unban(stranger); err != nil {
		t.Fatal(err)
	}
	if g.Check(stranger) != Pass {
		t.Fatal("unbanned source still refused")
	}
	if err := g.Unban(stranger); err == nil {
		t.Fatal("unbanning a source that is not banned reported success")
	}
	for _, bad := range []netip.Addr{{}, netip.IPv4Unspecified()} {
		if err := g.Ban(bad, time.Hour, ""); err == nil {
			t.Errorf("ban of %v accepted", bad)
		}
	}
	if err := g.Ban(stranger, MaxBanTime+time.Second, ""); err == nil {
		t.Error("ban longer than MaxBanTime accepted")
	}
}

// Bans, allow-list and limits survive a restart through the store; a ban
// that ended while the daemon was down is not brought back.
func TestPersistenceRoundTrip(t *testing.T) {
	c := newClock()
	st := newMemStore()
	g := newTestGuard(t, c, st)
	lim := Limits{RequestsPerSecond: 5, Burst: 7, AuthFailures: 3, BanTime: time.Hour}
	if err := g.SetLimits(lim); err != nil {
		t.Fatal(err)
	}
	allow := []netip.Prefix{netip.MustParsePrefix("192.168.7.0/24"), netip.MustParsePrefix("2001:db8::/32")}
	if err := g.SetAllowList(allow); err != nil {
		t.Fatal(err)
	}
	if err := g.Ban(stranger, 2*time.Hour, "manual"); err != nil {
		t.Fatal(err)
	}
	for range lim.AuthFailures {
		g.AuthFailure(stranger2) // banned for BanTime = 1 h
	}
	if err := g.SaveBans(); err != nil {
		t.Fatal(err)
	}
	c.Add(90 * time.Minute)
	g2 := newTestGuard(t, c, st)
	if got := g2.Limits(); got != lim {
		t.Fatalf("limits %+v, want %+v", got, lim)
	}
	if got := g2.AllowList(); len(got) != 2 || got[0] != allow[0] || got[1] != allow[1] {
		t.Fatalf("allow-list %v, want %v", got, allow)
	}
	bans := g2.Bans()
	if len(bans) != 1 || bans[0].Addr != stranger || bans[0].Reason != "manual" || bans[0].Strikes != 1 {
		t.Fatalf("bans after restart %+v", bans)
	}
	if g2.Check(stranger) != Banned || g2.Check(stranger2) == Banned {
		t.Fatal("restored bans not enforced as stored")
	}
	// Loopback is no longer allow-listed in this list.
	if g2.Allowed(netip.MustParseAddr("127.0.0.1")) || !g2.Allowed(netip.MustParseAddr("192.168.7.3")) {
		t.Fatal("restored allow-list not applied")
	}
}

// Damaged stored values fall back to the defaults instead of failing.
func TestDamagedSettings(t *testing.T) {
	st := newMemStore()
	st.m[SettingLimits] = `{"requests_per_second":0}`
	st.m[SettingAllow] = `["not a prefix"]`
	st.m[SettingBans] = `{`
	g := newTestGuard(t, newClock(), st)
	if g.Limits() != DefaultLimits || len(g.AllowList()) != len(DefaultAllow) || len(g.Bans()) != 0 {
		t.Fatalf("limits %+v allow %v bans %v", g.Limits(), g.AllowList(), g.Bans())
	}
}

func TestSetLimitsValidates(t *testing.T) {
	g := newTestGuard(t, newClock(), newMemStore())
	for _, l := range []Limits{
		{RequestsPerSecond: 0, Burst: 1, AuthFailures: 1, BanTime: time.Minute},
		{RequestsPerSecond: 1, Burst: 0, AuthFailures: 1, BanTime: time.Minute},
		{RequestsPerSecond: 1, Burst: 1, AuthFailures: 0, BanTime: time.Minute},
		{RequestsPerSecond: 1, Burst: 1, AuthFailures: 1, BanTime: time.Second},
		{RequestsPerSecond: MaxRequestsPerSecond + 1, Burst: 1, AuthFailures: 1, BanTime: time.Minute},
		{RequestsPerSecond: 1, Burst: 1, AuthFailures: 1, BanTime: time.Minute, UntrustedPerSecond: -1},
		{RequestsPerSecond: 1, Burst: 1, AuthFailures: 1, BanTime: time.Minute, UntrustedPerSecond: MaxRequestsPerSecond + 1},
	} {
		if err := g.SetLimits(l); err == nil {
			t.Errorf("limits %+v accepted", l)
		}
	}
	if g.Limits() != DefaultLimits {
		t.Fatal("a refused change was applied")
	}
	// 0 is the default cap, as limits stored before the field existed say.
	l := DefaultLimits
	if l.Untrusted() != DefaultUntrustedPerSecond || l.Validate() != nil {
		t.Fatalf("default untrusted cap %d, %v", l.Untrusted(), l.Validate())
	}
	l.UntrustedPerSecond = 75
	if err := g.SetLimits(l); err != nil || g.Limits().Untrusted() != 75 {
		t.Fatalf("untrusted cap 75: %v, now %d", err, g.Limits().Untrusted())
	}
}

// The table is bounded: past MaxSources strangers share a bucket and the
// guard goes on answering.
func TestSourceTableBounded(t *testing.T) {
	c := newClock()
	g, err := New(Config{Now: c.Now, Log: quietLog(), MaxSources: nShards})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5000 {
		a := netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)})
		g.Check(a)
	}
	n := 0
	for i := range g.shards {
		n += len(g.shards[i].m)
	}
	if n > nShards {
		t.Fatalf("%d sources kept, bound %d", n, nShards)
	}
	// Idle sources are forgotten by the sweep.
	c.Add(idleForget + time.Second)
	g.sweep()
	for i := range g.shards {
		if len(g.shards[i].m) != 0 {
			t.Fatal("idle sources not swept")
		}
	}
}

func TestAddrOf(t *testing.T) {
	for _, tc := range []struct {
		in   net.Addr
		want string
	}{
		{&net.UDPAddr{IP: net.IPv4(127, 0, 0, 2), Port: 5060}, "127.0.0.2"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 5060}, "2001:db8::1"},
		{&net.UDPAddr{IP: net.ParseIP("::ffff:192.0.2.1")}, "192.0.2.1"},
	} {
		got, ok := AddrOf(tc.in)
		if !ok || got.String() != tc.want {
			t.Errorf("AddrOf(%v) = %v %v, want %s", tc.in, got, ok, tc.want)
		}
	}
	if _, ok := AddrOf(&net.UnixAddr{Name: "x"}); ok {
		t.Error("unix address accepted")
	}
}

func BenchmarkCheck(b *testing.B) {
	g, err := New(Config{Log: quietLog()})
	if err != nil {
		b.Fatal(err)
	}
	_ = g.SetLimits(Limits{RequestsPerSecond: MaxRequestsPerSecond, Burst: MaxBurst, AuthFailures: 5, BanTime: time.Minute})
	ua := &net.UDPAddr{IP: net.IPv4(203, 0, 113, 7), Port: 5060}
	b.ReportAllocs()
	for b.Loop() {
		a, _ := AddrOf(ua)
		g.Check(a)
	}
}

func BenchmarkCheckParallel(b *testing.B) {
	g, err := New(Config{Log: quietLog()})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			g.Check(netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}))
		}
	})
}

func BenchmarkCheckTrusted(b *testing.B) {
	g, err := New(Config{Log: quietLog()})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		g.Check(lanPhone)
	}
}

// The hot path allocates nothing for a known source (a test, not only a
// benchmark figure, so a regression fails CI).
func TestCheckAllocFree(t *testing.T) {
	g := newTestGuard(t, newClock(), nil)
	ua := &net.UDPAddr{IP: net.IPv4(203, 0, 113, 7), Port: 5060}
	g.Check(stranger)
	allocs := testing.AllocsPerRun(1000, func() {
		a, _ := AddrOf(ua)
		g.Check(a)
		g.Check(lanPhone)
	})
	if allocs != 0 {
		t.Fatalf("Check allocates %.1f times per call", allocs)
	}
	msg := []byte(svmapOptions)
	if a := testing.AllocsPerRun(100, func() { Scan(msg) }); a != 0 {
		t.Fatalf("Scan allocates %.1f times per call", a)
	}
}

// A flood from spoofed sources: every datagram a new address, the table
// full. Each costs an entry (or the overflow bucket), never a scan.
func BenchmarkCheckSpoofed(b *testing.B) {
	g, err := New(Config{Log: quietLog(), MaxSources: 4096})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := uint32(0)
	for b.Loop() {
		i++
		g.Check(netip.AddrFrom4([4]byte{byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)}))
	}
}
