package guard

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Verdict is the guard's answer for one datagram.
type Verdict uint8

const (
	// Pass: a stranger within its rate.
	Pass Verdict = iota
	// Trusted: an allow-listed source, never limited.
	Trusted
	// Banned: the source is banned; drop silently.
	Banned
	// Limited: the source is over its rate; drop silently.
	Limited
)

// OK reports whether the datagram may be processed.
func (v Verdict) OK() bool { return v == Pass || v == Trusted }

func (v Verdict) String() string {
	switch v {
	case Pass:
		return "pass"
	case Trusted:
		return "trusted"
	case Banned:
		return "banned"
	case Limited:
		return "limited"
	}
	return "unknown"
}

// Ban is one banned source, as listed and persisted.
type Ban struct {
	Addr    netip.Addr `json:"addr"`
	Reason  string     `json:"reason"`
	Since   time.Time  `json:"since"`
	Expires time.Time  `json:"expires"`
	Strikes int        `json:"strikes"` // how many times it was banned (backoff)
}

// Tuning that the owner does not see.
const (
	// FailureWindow is how long auth failures are remembered towards a ban.
	FailureWindow = 10 * time.Minute
	// StrikeMemory is how long after a ban ends a new ban still counts as
	// a repeat (and is twice as long).
	StrikeMemory = 24 * time.Hour
	// floodWindow and floodFactor: a source that has more than
	// floodFactor*Burst datagrams refused within floodWindow is banned as
	// a flood, so it stops costing even the bucket check's lock.
	floodWindow = 10 * time.Second
	floodFactor = 10
	// idleForget: a source with no ban, strike or failure pending is
	// forgotten after this long without traffic.
	idleForget = 10 * time.Minute
	// evictIdle: when a shard is full, a source idle this long may be
	// dropped to make room.
	evictIdle = time.Minute
	// evictProbes bounds the entries looked at for an eviction.
	evictProbes = 8
	nShards     = 64
	// DefaultMaxSources bounds the table (about 200 bytes each); past it
	// strangers share one bucket per shard and are not banned one by one.
	DefaultMaxSources = 64 * 1024
	// maxSavedBans keeps the persisted list under the store's value limit.
	maxSavedBans = 300
)

// source is what the guard knows about one address. Times are Unix nanos.
type source struct {
	tokens      float64
	last        int64 // last refill
	seen        int64 // last datagram
	dropStart   int64 // start of the flood window
	drops       int   // datagrams refused in the flood window
	failStart   int64 // start of the failure window
	failures    int
	bannedUntil int64 // 0 when not banned
	banSince    int64
	lastBanEnd  int64
	strikes     int
	reason      string
}

// idle reports whether nothing about s needs remembering at now.
func (s *source) idle(now int64, after time.Duration) bool {
	if s.bannedUntil > now || now-s.seen < int64(after) {
		return false
	}
	if s.failures > 0 && now-s.failStart < int64(FailureWindow) {
		return false
	}
	if s.strikes > 0 && now-s.lastBanEnd < int64(StrikeMemory) {
		return false
	}
	return true
}

type shard struct {
	mu  sync.Mutex
	m   map[netip.Addr]*source
	max int
	// overflow is the shared bucket of strangers when the shard is full.
	overflow source
	_        [40]byte // keep shards' locks on separate cache lines
}

// get returns a's entry, making one (or using the overflow bucket) if new.
func (sh *shard) get(a netip.Addr, now int64, burst float64) *source {
	if s := sh.m[a]; s != nil {
		return s
	}
	if len(sh.m) >= sh.max {
		// Look at a few entries only (map order is random): a flood of
		// spoofed sources must not make every datagram scan the shard.
		probes := 0
		for k, s := range sh.m {
			if s.idle(now, evictIdle) {
				delete(sh.m, k)
				break
			}
			if probes++; probes >= evictProbes {
				break
			}
		}
		if len(sh.m) >= sh.max {
			if sh.overflow.last == 0 {
				sh.overflow.tokens, sh.overflow.last = burst, now
			}
			return &sh.overflow
		}
	}
	s := &source{tokens: burst, last: now, seen: now}
	sh.m[a] = s
	return s
}

func shardOf(a netip.Addr) int {
	b := a.As16()
	var h uint32 = 2166136261
	for _, c := range b[8:] {
		h = (h ^ uint32(c)) * 16777619
	}
	if a.Is4() {
		return int(h % nShards)
	}
	for _, c := range b[:8] {
		h = (h ^ uint32(c)) * 16777619
	}
	return int(h % nShards)
}

// Store is where the guard keeps its lists: the store's settings, each a
// JSON value. *store.DB has these methods.
type Store interface {
	Setting(key string) (string, bool, error)
	SetSetting(key, val string) error
}

// Setting keys (JSON values).
const (
	SettingBans   = "guard.bans"
	SettingAllow  = "guard.allow"
	SettingLimits = "guard.limits"
)

// Config sets up a Guard. Every field is optional.
type Config struct {
	// Store keeps bans, allow-list and limits; nil keeps them in memory.
	Store Store
	// Firewall mirrors bans into the kernel; nil drops in userspace only.
	Firewall Firewall
	Log      *slog.Logger
	// Now is the clock (tests use a fake one).
	Now func() time.Time
	// MaxSources bounds the per-source table; 0 means DefaultMaxSources.
	MaxSources int
}

// Guard is the DoS guard. Safe for concurrent use.
type Guard struct {
	now     func() time.Time
	log     *slog.Logger
	store   Store
	limits  atomic.Pointer[Limits]
	allow   atomic.Pointer[allowList]
	allowMu sync.Mutex // serialises changes of allow
	shards  [nShards]shard

	fw     Firewall
	fwOps  chan fwOp
	fwDead atomic.Bool

	// Kernel limits (kernel.go): set when the firewall is a Limiter.
	lim         Limiter
	ports       atomic.Pointer[SIPPorts]
	reprog      chan struct{}
	trust       trustState
	kernelDrops atomic.Uint64
	kernelPrev  map[string]uint64 // Run loop only
	trustErr    sync.Once
	counterErr  sync.Once

	passed, trusted, bannedDrops, limitedDrops, scanners, authFailures, bansMade atomic.Uint64

	dirty  atomic.Bool // bans changed since the last save
	saveMu sync.Mutex

	level atomic.Int32
	score atomic.Uint64 // math.Float64bits

	meterMu sync.Mutex
	meter   Meter
}

// New makes a guard, loading limits, allow-list and bans from the store.
// A stored value that does not parse is logged and replaced by the
// default: a damaged setting must not keep the PBX from starting.
func New(cfg Config) (*Guard, error) {
	g := &Guard{now: cfg.Now, log: cfg.Log, store: cfg.Store, fw: cfg.Firewall, fwOps: make(chan fwOp, 1024)}
	if g.now == nil {
		g.now = time.Now
	}
	g.lim, _ = cfg.Firewall.(Limiter)
	g.reprog = make(chan struct{}, 1)
	g.trust.pending = map[netip.Addr]time.Duration{}
	g.trust.sent = map[netip.Addr]int64{}
	g.kernelPrev = map[string]uint64{}
	if g.log == nil {
		g.log = slog.Default()
	}
	maxSrc := cfg.MaxSources
	if maxSrc <= 0 {
		maxSrc = DefaultMaxSources
	}
	for i := range g.shards {
		g.shards[i].m = make(map[netip.Addr]*source)
		g.shards[i].max = max(1, maxSrc/nShards)
	}
	lim := DefaultLimits
	g.limits.Store(&lim)
	g.allow.Store(&allowList{prefixes: append([]netip.Prefix(nil), DefaultAllow...)})
	if err := g.load(); err != nil {
		return nil, err
	}
	return g, nil
}

// AddrOf is the address of a transport's net.Addr, without allocating for
// the UDP and TCP address types. ok is false for anything else.
func AddrOf(a net.Addr) (netip.Addr, bool) {
	var ip net.IP
	switch x := a.(type) {
	case *net.UDPAddr:
		ip = x.IP
	case *net.TCPAddr:
		ip = x.IP
	default:
		return netip.Addr{}, false
	}
	addr, ok := netip.AddrFromSlice(ip)
	return addr.Unmap(), ok
}

// Check is the per-datagram verdict for a SIP request or response from a.
// It takes one token from a's bucket; it allocates nothing for a source
// already in the table.
func (g *Guard) Check(a netip.Addr) Verdict {
	a = a.Unmap()
	if g.allow.Load().contains(a) {
		g.trusted.Add(1)
		return Trusted
	}
	lim := g.limits.Load()
	now := g.now().UnixNano()
	burst := float64(lim.Burst)
	sh := &g.shards[shardOf(a)]
	sh.mu.Lock()
	s := sh.get(a, now, burst)
	if s.bannedUntil != 0 {
		if now < s.bannedUntil {
			sh.mu.Unlock()
			g.bannedDrops.Add(1)
			return Banned
		}
		s.lastBanEnd, s.bannedUntil = s.bannedUntil, 0
		g.dirty.Store(true)
	}
	s.seen = now
	if dt := now - s.last; dt > 0 {
		s.tokens = math.Min(burst, s.tokens+float64(dt)*float64(lim.RequestsPerSecond)/1e9)
		s.last = now
	}
	if s.tokens >= 1 {
		s.tokens--
		sh.mu.Unlock()
		g.passed.Add(1)
		return Pass
	}
	if now-s.dropStart > int64(floodWindow) {
		s.dropStart, s.drops = now, 0
	}
	s.drops++
	if s.drops > floodFactor*lim.Burst && s != &sh.overflow {
		g.banLocked(a, s, now, 0, "flood")
	}
	sh.mu.Unlock()
	g.limitedDrops.Add(1)
	return Limited
}

// Allowed reports whether a is on the allow-list.
func (g *Guard) Allowed(a netip.Addr) bool { return g.allow.Load().contains(a.Unmap()) }

// AuthFailure records a wrong password (or credentials for another user)
// from a. Enough of them within FailureWindow ban the source. Allow-listed
// sources are only counted.
func (g *Guard) AuthFailure(a netip.Addr) {
	a = a.Unmap()
	g.authFailures.Add(1)
	if !a.IsValid() || g.allow.Load().contains(a) {
		return
	}
	lim := g.limits.Load()
	now := g.now().UnixNano()
	sh := &g.shards[shardOf(a)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	s := sh.get(a, now, float64(lim.Burst))
	if s == &sh.overflow || s.bannedUntil > now {
		return
	}
	if now-s.failStart > int64(FailureWindow) {
		s.failStart, s.failures = now, 0
	}
	s.failures++
	if s.failures >= lim.AuthFailures {
		g.banLocked(a, s, now, 0, "auth failures")
	}
}

// Scanner records a request carrying scanner signature name from a and
// bans the source (unless allow-listed). The caller drops the request.
func (g *Guard) Scanner(a netip.Addr, name string) {
	a = a.Unmap()
	g.scanners.Add(1)
	if !a.IsValid() || g.allow.Load().contains(a) {
		return
	}
	lim := g.limits.Load()
	now := g.now().UnixNano()
	sh := &g.shards[shardOf(a)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	s := sh.get(a, now, float64(lim.Burst))
	if s == &sh.overflow || s.bannedUntil > now {
		return
	}
	g.banLocked(a, s, now, 0, "scanner "+name)
}

// banLocked bans a (its shard locked) for d, or for the backoff length of
// its next strike when d is 0.
func (g *Guard) banLocked(a netip.Addr, s *source, now int64, d time.Duration, reason string) {
	if s.strikes > 0 && s.bannedUntil == 0 && now-s.lastBanEnd > int64(StrikeMemory) {
		s.strikes = 0
	}
	s.strikes++
	if d <= 0 {
		d = banLength(g.limits.Load().BanTime, s.strikes)
	}
	s.bannedUntil, s.banSince, s.reason = now+int64(d), now, reason
	s.failures, s.drops = 0, 0
	g.bansMade.Add(1)
	g.dirty.Store(true)
	g.firewall(fwOp{addr: a, ban: true, d: d})
	g.log.Warn("source banned", "src", a, "reason", reason, "for", d, "strike", s.strikes)
}

// Ban bans a by hand for d (0: the backoff length of its next strike).
// Allow-listed addresses cannot be banned.
func (g *Guard) Ban(a netip.Addr, d time.Duration, reason string) error {
	a = a.Unmap()
	if !a.IsValid() || a.IsUnspecified() {
		return errors.New("guard: not a usable address")
	}
	if g.allow.Load().contains(a) {
		return fmt.Errorf("guard: %s is on the allow-list", a)
	}
	if d < 0 || d > MaxBanTime {
		return fmt.Errorf("guard: ban time must be at most %v", MaxBanTime)
	}
	if reason == "" {
		reason = "manual"
	}
	now := g.now().UnixNano()
	sh := &g.shards[shardOf(a)]
	sh.mu.Lock()
	s := sh.m[a]
	if s == nil { // a manual ban always gets its own entry
		s = &source{tokens: float64(g.limits.Load().Burst), last: now, seen: now}
		sh.m[a] = s
	}
	s.bannedUntil = 0
	g.banLocked(a, s, now, d, reason)
	sh.mu.Unlock()
	return g.SaveBans()
}

// Unban lifts a's ban and forgets its strikes and failures.
func (g *Guard) Unban(a netip.Addr) error {
	a = a.Unmap()
	sh := &g.shards[shardOf(a)]
	sh.mu.Lock()
	s := sh.m[a]
	found := s != nil && s.bannedUntil > g.now().UnixNano()
	if s != nil {
		delete(sh.m, a)
	}
	sh.mu.Unlock()
	if !found {
		return fmt.Errorf("guard: %s is not banned", a)
	}
	g.firewall(fwOp{addr: a})
	g.log.Info("source unbanned", "src", a)
	g.dirty.Store(true)
	return g.SaveBans()
}

// Bans lists the bans in force, newest first.
func (g *Guard) Bans() []Ban {
	now := g.now().UnixNano()
	var out []Ban
	for i := range g.shards {
		sh := &g.shards[i]
		sh.mu.Lock()
		for a, s := range sh.m {
			if s.bannedUntil > now {
				out = append(out, Ban{Addr: a, Reason: s.reason, Since: time.Unix(0, s.banSince).UTC(),
					Expires: time.Unix(0, s.bannedUntil).UTC(), Strikes: s.strikes})
			}
		}
		sh.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Since.Equal(out[j].Since) {
			return out[i].Since.After(out[j].Since)
		}
		return out[i].Addr.Less(out[j].Addr)
	})
	return out
}

// Banned reports whether a is banned now.
func (g *Guard) Banned(a netip.Addr) bool {
	a = a.Unmap()
	sh := &g.shards[shardOf(a)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	s := sh.m[a]
	return s != nil && s.bannedUntil > g.now().UnixNano()
}

// Limits returns the limits in force.
func (g *Guard) Limits() Limits { return *g.limits.Load() }

// SetLimits checks, stores and applies new limits (all or nothing).
func (g *Guard) SetLimits(l Limits) error {
	if err := l.Validate(); err != nil {
		return err
	}
	if err := g.saveJSON(SettingLimits, l); err != nil {
		return err
	}
	g.limits.Store(&l)
	g.reprogram()
	g.log.Info("guard limits changed", "rps", l.RequestsPerSecond, "burst", l.Burst, "auth_failures", l.AuthFailures, "ban_time", l.BanTime)
	return nil
}

// AllowList returns the allow-list in force.
func (g *Guard) AllowList() []netip.Prefix {
	return append([]netip.Prefix(nil), g.allow.Load().prefixes...)
}

// SetAllowList checks, stores and applies a new allow-list (all or nothing).
func (g *Guard) SetAllowList(ps []netip.Prefix) error {
	if err := validAllow(ps); err != nil {
		return err
	}
	ps = append([]netip.Prefix{}, ps...)
	if err := g.saveJSON(SettingAllow, ps); err != nil {
		return err
	}
	g.allowMu.Lock()
	g.allow.Store(&allowList{prefixes: ps, peers: g.allow.Load().peers})
	g.allowMu.Unlock()
	g.reprogram()
	g.log.Info("guard allow-list changed", "prefixes", len(ps))
	return nil
}

// SetPeers trusts the given prefixes besides the owner's allow-list: the
// addresses of a paired cloud peer, which must never be limited or banned
// (it relays calls under attack). They are not stored: the daemon sets
// them from the pairing at every start.
func (g *Guard) SetPeers(ps []netip.Prefix) error {
	if err := validAllow(ps); err != nil {
		return err
	}
	ps = append([]netip.Prefix{}, ps...)
	g.allowMu.Lock()
	g.allow.Store(&allowList{prefixes: g.allow.Load().prefixes, peers: ps})
	g.allowMu.Unlock()
	g.reprogram()
	return nil
}

// sweep forgets idle sources and notes bans that ended.
func (g *Guard) sweep() {
	now := g.now().UnixNano()
	for i := range g.shards {
		sh := &g.shards[i]
		sh.mu.Lock()
		for a, s := range sh.m {
			if s.bannedUntil != 0 && s.bannedUntil <= now {
				s.lastBanEnd, s.bannedUntil = s.bannedUntil, 0
				g.dirty.Store(true)
			}
			if s.idle(now, idleForget) {
				delete(sh.m, a)
			}
		}
		sh.mu.Unlock()
	}
}

// Stats are the guard's counters since start, for /metrics.
type Stats struct {
	Passed       uint64 // datagrams from strangers let through
	Trusted      uint64 // datagrams from allow-listed sources
	DropBanned   uint64 // datagrams dropped because the source is banned
	DropLimited  uint64 // datagrams dropped over the rate limit
	Scanners     uint64 // requests with a scanner signature (dropped)
	AuthFailures uint64 // wrong passwords seen
	BansMade     uint64 // bans imposed
	// KernelDropped: packets the kernel limits dropped (nftables: bans,
	// per-source meters, the untrusted cap); they never reached the process.
	KernelDropped uint64
	ActiveBans    int
	Level         Level
	Score         float64
}

// Stats returns the counters.
func (g *Guard) Stats() Stats {
	lvl, score := g.Pressure()
	return Stats{Passed: g.passed.Load(), Trusted: g.trusted.Load(), DropBanned: g.bannedDrops.Load(),
		DropLimited: g.limitedDrops.Load(), Scanners: g.scanners.Load(), AuthFailures: g.authFailures.Load(),
		BansMade: g.bansMade.Load(), KernelDropped: g.kernelDrops.Load(), ActiveBans: len(g.Bans()), Level: lvl, Score: score}
}

// Refused is how many datagrams the guard dropped since start, in
// userspace and in the kernel (KernelDropped).
func (g *Guard) Refused() uint64 {
	return g.bannedDrops.Load() + g.limitedDrops.Load() + g.scanners.Load() + g.kernelDrops.Load()
}

// Pressure is the current level and smoothed score (0..1).
func (g *Guard) Pressure() (Level, float64) {
	return Level(g.level.Load()), math.Float64frombits(g.score.Load())
}
