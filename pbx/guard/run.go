package guard

import (
	"context"
	"math"
	"net/netip"
	"runtime"
	"time"
)

// Probes are the daemon's parts of the pressure inputs; each may be nil.
type Probes struct {
	// QueueDelay returns the longest wait in the work queue since the
	// last call.
	QueueDelay func() time.Duration
	// Drops returns datagrams shed outside the guard (a full work queue)
	// since start.
	Drops func() uint64
	// SocketOverflows returns datagrams the kernel dropped because a UDP
	// socket's receive buffer was full (UDPRcvbufErrors), since start: the
	// strongest sign of a flood, counted as drops.
	SocketOverflows func() uint64
	// Parties returns the addresses of the parties of live calls (their
	// signalling and media sources); each Tick they are trusted in the
	// kernel for PartyTrust.
	Parties func() []netip.Addr
}

// Tick is how often Run samples pressure and saves changed bans.
const Tick = time.Second

// sweepEvery is how many ticks pass between sweeps of idle sources.
const sweepEvery = 30

// Run samples pressure, applies firewall changes, forgets idle sources and
// saves changed bans until ctx ends; then it saves once more and closes
// the firewall. Run it once.
func (g *Guard) Run(ctx context.Context, p Probes) {
	t := time.NewTicker(Tick)
	defer t.Stop()
	var flush <-chan time.Time // trust batches, only with a kernel limiter
	if g.lim != nil {
		ft := time.NewTicker(trustFlush)
		defer ft.Stop()
		flush = ft.C
	}
	var s sampler
	s.start(g, p)
	ticks := 0
	for {
		select {
		case <-ctx.Done():
			g.drainFirewall()
			if g.dirty.Load() {
				if err := g.SaveBans(); err != nil {
					g.log.Error("save bans", "err", err)
				}
			}
			if g.fw != nil && !g.fwDead.Load() {
				if err := g.fw.Close(); err != nil {
					g.log.Warn("remove firewall table", "err", err)
				}
			}
			return
		case op := <-g.fwOps:
			g.applyFirewall(op)
		case <-g.reprog:
			g.applyRuleset()
		case <-flush:
			g.flushTrust()
		case <-t.C:
			if p.Parties != nil && g.lim != nil {
				for _, a := range p.Parties() {
					g.Trust(a, PartyTrust)
				}
			}
			g.readKernel()
			s.sample(g, p)
			ticks++
			if ticks%sweepEvery == 0 {
				g.sweep()
			}
			if g.dirty.Load() {
				if err := g.SaveBans(); err != nil {
					g.log.Error("save bans", "err", err)
				}
			}
		}
	}
}

func (g *Guard) drainFirewall() {
	for {
		select {
		case op := <-g.fwOps:
			g.applyFirewall(op)
		default:
			return
		}
	}
}

// shed is every drop the pressure counts: the guard's (userspace and
// kernel), the work queue's, the sockets' overflows.
func shed(g *Guard, p Probes) uint64 {
	n := g.Refused()
	if p.Drops != nil {
		n += p.Drops()
	}
	if p.SocketOverflows != nil {
		n += p.SocketOverflows()
	}
	return n
}

// sampler keeps the previous readings that rates are computed from.
type sampler struct {
	at    time.Time
	drops uint64
	cpu   time.Duration
}

func (s *sampler) start(g *Guard, p Probes) {
	s.at = g.now()
	s.drops = shed(g, p)
	s.cpu, _ = processCPU()
}

// sample reads the inputs, feeds the meter and publishes the level.
func (s *sampler) sample(g *Guard, p Probes) {
	now := g.now()
	dt := now.Sub(s.at).Seconds()
	if dt <= 0 {
		return
	}
	drops := shed(g, p)
	var l Load
	if drops >= s.drops { // a probe that went back counts nothing
		l.DropRate = float64(drops-s.drops) / dt
	}
	if p.QueueDelay != nil {
		l.QueueDelay = p.QueueDelay()
	}
	if cpu, ok := processCPU(); ok {
		l.CPU = (cpu - s.cpu).Seconds() / dt / float64(runtime.GOMAXPROCS(0))
		s.cpu = cpu
	}
	s.at, s.drops = now, drops
	g.Observe(now, l)
}

// Observe feeds one load sample into the pressure meter (Run does this
// every Tick; tests and other loops may call it directly).
func (g *Guard) Observe(now time.Time, l Load) Level {
	g.meterMu.Lock()
	before := g.meter.Level()
	lvl := g.meter.Update(now, l)
	score := g.meter.Score()
	g.meterMu.Unlock()
	g.level.Store(int32(lvl))
	g.score.Store(math.Float64bits(score))
	if lvl != before {
		g.log.Warn("pressure changed", "from", before.String(), "to", lvl.String(), "score", math.Round(score*100)/100,
			"drop_rate", math.Round(l.DropRate), "queue_delay", l.QueueDelay, "cpu", math.Round(l.CPU*100)/100)
	}
	return lvl
}
