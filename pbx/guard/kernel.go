package guard

import (
	"net/netip"
	"sync"
	"time"
)

// Limiter is a Firewall that also limits SIP floods in the kernel, before
// the socket (NFT is one). The guard drives it from its Run loop: the
// ruleset when the ports, limits or allow-list change, trust additions
// batched, the drop counters once per Tick.
type Limiter interface {
	Firewall
	// Program puts a ruleset in force.
	Program(r Ruleset) error
	// Trust adds sources to the trusted sets (or renews them).
	Trust(es []TrustEntry) error
	// Counters returns the named counters, in packets since the table was
	// made (names: the Counter* constants).
	Counters() (map[string]uint64, error)
}

// TrustEntry is one source the kernel lets through unmetered for TTL.
type TrustEntry struct {
	Addr netip.Addr
	TTL  time.Duration
}

// byFamily splits entries into IPv4 (unmapped) and IPv6 ones, for the
// kernel's two trusted sets; invalid addresses are dropped.
func byFamily(es []TrustEntry) (v4, v6 []TrustEntry) {
	for _, e := range es {
		if a := e.Addr.Unmap(); a.Is4() {
			v4 = append(v4, TrustEntry{a, e.TTL})
		} else if a.IsValid() {
			v6 = append(v6, TrustEntry{a, e.TTL})
		}
	}
	return v4, v6
}

// SIPPorts are the ports the daemon serves SIP on, to be limited.
type SIPPorts struct {
	UDP []int
	TCP []int // TCP and TLS
}

// How long a source stays trusted in the kernel, and how the additions
// are batched.
const (
	// AuthTrust: a source that authenticated (REGISTER or INVITE digest)
	// stays trusted for longer than a registration usually lasts (3600 s),
	// so its answers to re-INVITEs are never metered between renewals.
	AuthTrust = 2 * time.Hour
	// PartyTrust: a party of a live call; renewed every Tick while the
	// call lasts (Probes.Parties), so a short time is enough.
	PartyTrust = 5 * time.Minute
	// trustFlush is the most often the pending trust is written (one nft
	// exec per batch, not one per REGISTER).
	trustFlush = 200 * time.Millisecond
	// maxPendingTrust bounds a batch; more are dropped until the next
	// flush (they are userspace-checked meanwhile, as before).
	maxPendingTrust = 4096
	// maxTrustKnown bounds the memory of what was sent, used to skip
	// renewing an entry that has most of its time left.
	maxTrustKnown = 65536
)

// trustState is the batch of trust additions waiting for the Run loop.
type trustState struct {
	mu      sync.Mutex
	pending map[netip.Addr]time.Duration
	sent    map[netip.Addr]int64 // expiry (Unix nanos) of what was sent
}

// Trust tells the kernel to let a through unmetered for ttl: a source that
// authenticated, or a party of a live call. Additions are batched and
// written by the Run loop at most every 200 ms; an address whose trust has
// more than half of ttl left is not sent again. Without a kernel limiter,
// or for an allow-listed or banned source, it does nothing.
func (g *Guard) Trust(a netip.Addr, ttl time.Duration) {
	if g.lim == nil || g.fwDead.Load() {
		return
	}
	a = a.Unmap()
	if !a.IsValid() || a.IsUnspecified() || a.IsLoopback() || a.IsMulticast() || ttl <= 0 {
		return
	}
	if g.allow.Load().contains(a) || g.Banned(a) {
		return
	}
	ttl = min(ttl, 24*time.Hour)
	now := g.now().UnixNano()
	t := &g.trust
	t.mu.Lock()
	defer t.mu.Unlock()
	if exp, ok := t.sent[a]; ok && exp-now > int64(ttl)/2 {
		return
	}
	if len(t.pending) >= maxPendingTrust {
		return
	}
	if old, ok := t.pending[a]; !ok || old < ttl {
		t.pending[a] = ttl
	}
}

// flushTrust writes the pending trust in one batch (Run loop).
func (g *Guard) flushTrust() {
	t := &g.trust
	t.mu.Lock()
	if len(t.pending) == 0 {
		t.mu.Unlock()
		return
	}
	es := make([]TrustEntry, 0, len(t.pending))
	now := g.now().UnixNano()
	if len(t.sent)+len(t.pending) > maxTrustKnown {
		for a, exp := range t.sent {
			if exp <= now {
				delete(t.sent, a)
			}
		}
		if len(t.sent)+len(t.pending) > maxTrustKnown {
			clear(t.sent) // only costs some renewals
		}
	}
	for a, ttl := range t.pending {
		es = append(es, TrustEntry{Addr: a, TTL: ttl})
		t.sent[a] = now + int64(ttl)
	}
	clear(t.pending)
	t.mu.Unlock()
	if g.lim == nil || g.fwDead.Load() {
		return
	}
	if err := g.lim.Trust(es); err != nil {
		g.trustErr.Do(func() { g.log.Warn("kernel trust set not writable; trusted sources are metered", "err", err) })
		t.mu.Lock()
		for _, e := range es {
			delete(t.sent, e.Addr)
		}
		t.mu.Unlock()
	}
}

// ProtectSIP names the ports the kernel limits are for and programs them
// (from the Run loop). Call it once the listeners are open.
func (g *Guard) ProtectSIP(p SIPPorts) {
	p = SIPPorts{UDP: append([]int(nil), p.UDP...), TCP: append([]int(nil), p.TCP...)}
	g.ports.Store(&p)
	g.reprogram()
}

// reprogram asks the Run loop to put the ruleset in force again (ports,
// limits or allow-list changed).
func (g *Guard) reprogram() {
	if g.lim == nil {
		return
	}
	select {
	case g.reprog <- struct{}{}:
	default: // one is pending already
	}
}

// Ruleset is what the kernel should enforce now: the ports, the limits and
// the allow-list (owner's and peers'). Connections are metered at a
// quarter of the datagram rates: one connection carries many messages, and
// a TLS handshake costs far more than a datagram.
func (g *Guard) Ruleset() Ruleset {
	r := Ruleset{}
	if p := g.ports.Load(); p != nil {
		r.UDPPorts, r.TCPPorts = p.UDP, p.TCP
	}
	al := g.allow.Load()
	r.Allow = append(append([]netip.Prefix(nil), al.prefixes...), al.peers...)
	lim := g.limits.Load()
	r.PerSource, r.PerSourceBurst = lim.RequestsPerSecond, lim.Burst
	r.Untrusted = lim.Untrusted()
	r.UntrustedBurst = untrustedBurst(r.Untrusted)
	r.ConnPerSource, r.ConnBurst = max(1, lim.RequestsPerSecond/4), max(1, lim.Burst/4)
	r.ConnUntrusted = max(1, r.Untrusted/4)
	return r
}

// untrustedBurst is how many untrusted SIP datagrams the kernel lets in at
// once: a tenth of a second's worth of the cap. A whole second's worth
// reached the daemon together when a flood began (200 INVITEs, each
// parsed and challenged), a burst of CPU that the test bed's board, capped
// at 40 % of a core, paid for with its relay held 24-54 ms about a second
// into the flood (docs/benchmarks.md, DoS and hand-off, ninth session).
// Spread over the second the same 200 cost the board nothing it notices,
// and a desk PBX's legitimate first contacts (a booting phone sends a
// handful) fit in the smaller burst.
func untrustedBurst(perSecond int) int { return max(1, perSecond/10) }

// applyRuleset programs the kernel (Run loop); a failure turns the kernel
// side off with one warning, like a failed ban.
func (g *Guard) applyRuleset() {
	if g.lim == nil || g.fwDead.Load() {
		return
	}
	r := g.Ruleset()
	if err := g.lim.Program(r); err != nil {
		if !g.fwDead.Swap(true) {
			g.log.Warn("kernel limits not programmable; the guard works in userspace only", "err", err)
		}
		return
	}
	g.log.Info("kernel SIP limits in force", "udp", r.UDPPorts, "tcp", r.TCPPorts, "per_source", r.PerSource,
		"burst", r.PerSourceBurst, "untrusted", r.Untrusted, "allow", len(r.Allow))
}

// readKernel adds the kernel's drops since the last reading to the
// guard's count (Run loop, once per Tick). A counter that went back (the
// table was made again) counts from zero.
func (g *Guard) readKernel() {
	if g.lim == nil || g.fwDead.Load() {
		return
	}
	m, err := g.lim.Counters()
	if err != nil {
		g.counterErr.Do(func() { g.log.Warn("kernel drop counters unreadable", "err", err) })
		return
	}
	var add uint64
	for _, name := range kernelCounters {
		v := m[name]
		prev := g.kernelPrev[name]
		if v >= prev {
			add += v - prev
		} else {
			add += v
		}
		g.kernelPrev[name] = v
	}
	g.kernelDrops.Add(add)
}

// KernelDropped is how many packets the kernel limits dropped since start
// (bans, meters, caps); Refused includes them.
func (g *Guard) KernelDropped() uint64 { return g.kernelDrops.Load() }
