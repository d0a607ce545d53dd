package media

import (
	"math"
	"os"
	"path/filepath"
	"runtime/metrics"
	"strconv"
	"sync"
	"time"

	"hushbox/pbx/sysinfo"
)

// What else was going on when a relay held packets (hold.go): a relay
// that does not read its sockets for 40 ms was either not given a CPU
// (its cgroup throttled, or the host took the CPU away) or not given a P
// (Go's scheduler ran other goroutines first, or stopped the world). The
// hold line carries the process's side of that, as changes since a
// baseline taken before the hold began (a sampler goroutine takes one a
// second and keeps the last two):
//
//   - sched_wait_max_ms: the longest a goroutine of the process waited
//     runnable for a P (runtime/metrics /sched/latencies, which samples
//     scheduling events), the lower bound of its histogram bucket;
//   - stw_max_ms: the longest stop of the world (GC and other);
//   - throttled_ms: how long the process's CPU cgroup was throttled by
//     its quota (cgroup v2 cpu.stat throttled_usec, v1 throttled_time);
//     -1 where the process is in no limited cgroup it can read;
//   - runnable: goroutines waiting for a P when the line is written;
//   - os_wait_max_ms: the longest any of the process's threads waited
//     runnable for a CPU (/proc/self/task/*/schedstat run_delay: the
//     kernel's run queue, cgroup throttling included), and cpu_ms: the
//     CPU time all its threads used; against since_ms (the baseline's
//     age) it says whether the process was at its CPU limit.
//
// A hold none of these covers is the host's (or the poller's own work).
// The baseline costs about 0.2 ms a second (files under /proc, one per
// thread); it is read off the relay's path, by the sampler, and the
// figures at a line only when a line is written: never per packet.

// holdCauseEvery is how often the sampler takes a baseline.
const holdCauseEvery = time.Second

// holdCauseMetrics are the runtime metrics read, in this order.
var holdCauseMetrics = [...]string{
	"/sched/latencies:seconds",
	"/sched/pauses/total/gc:seconds",
	"/sched/pauses/total/other:seconds",
	"/sched/goroutines/runnable:goroutines",
}

// causeSnap is one baseline.
type causeSnap struct {
	at        int64                 // unix ns it was taken; 0: never
	hist      [3][]uint64           // the histograms' counts
	throttled int64                 // the cgroup's throttled ns; -1 unknown
	threads   map[int64]threadSched // per thread id
}

// holdCauses keeps one poller's two latest baselines.
type holdCauses struct {
	mu      sync.Mutex // guards all below: the sampler and a line read
	snaps   [2]causeSnap
	newest  int // index of the newer snapshot
	samples []metrics.Sample
	cpuStat string   // the cgroup's cpu.stat; "" if none
	names   []string // reused by the task directory read
}

// threadSched is one thread's /proc schedstat: CPU time and time waited
// on a run queue, ns.
type threadSched struct{ cpu, wait int64 }

// holdCauseFields are the figures a hold line adds.
type holdCauseFields struct {
	schedWaitMs, stwMs float64
	throttledMs        float64 // -1: unknown
	runnable           int64
	osWaitMs, cpuMs    float64 // -1: unknown
	baseAt             int64   // unix ns of the baseline they count from; 0: none
}

func newHoldCauses() *holdCauses {
	c := &holdCauses{samples: make([]metrics.Sample, len(holdCauseMetrics))}
	for i, name := range holdCauseMetrics {
		c.samples[i].Name = name
	}
	for i := range c.snaps {
		c.snaps[i].threads = make(map[int64]threadSched)
	}
	c.cpuStat = cgroupCPUStat()
	return c
}

// run takes a baseline every holdCauseEvery until stop is closed.
func (c *holdCauses) run(stop <-chan struct{}) {
	t := time.NewTicker(holdCauseEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			c.refresh(now.UnixNano())
		}
	}
}

// refresh takes a baseline at nowNs, replacing the older one.
func (c *holdCauses) refresh(nowNs int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := &c.snaps[1-c.newest]
	metrics.Read(c.samples)
	for i := range s.hist {
		if c.samples[i].Value.Kind() != metrics.KindFloat64Histogram {
			continue
		}
		s.hist[i] = append(s.hist[i][:0], c.samples[i].Value.Float64Histogram().Counts...)
	}
	s.throttled = c.readThrottled()
	clear(s.threads)
	c.readThreads(func(id int64, t threadSched) { s.threads[id] = t })
	s.at = nowNs
	c.newest = 1 - c.newest
}

// since reads the figures since the newest baseline taken no later than
// fromNs (the hold's start), else since the older one: a baseline taken
// during the hold would leave out the waits that made it.
func (c *holdCauses) since(fromNs int64) holdCauseFields {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := holdCauseFields{throttledMs: -1, osWaitMs: -1, cpuMs: -1}
	b := &c.snaps[c.newest]
	if b.at == 0 || b.at > fromNs {
		b = &c.snaps[1-c.newest]
	}
	if b.at == 0 {
		return f
	}
	f.baseAt = b.at
	metrics.Read(c.samples)
	maxOf := func(i int) float64 {
		if c.samples[i].Value.Kind() != metrics.KindFloat64Histogram {
			return 0
		}
		return histDeltaMax(c.samples[i].Value.Float64Histogram(), b.hist[i])
	}
	f.schedWaitMs = maxOf(0) * 1e3
	f.stwMs = max(maxOf(1), maxOf(2)) * 1e3
	if v := c.samples[3].Value; v.Kind() == metrics.KindUint64 {
		f.runnable = int64(v.Uint64())
	}
	if now := c.readThrottled(); now >= 0 && b.throttled >= 0 {
		f.throttledMs = float64(now-b.throttled) / 1e6
	}
	var wait, cpu int64
	seen := false
	c.readThreads(func(id int64, t threadSched) {
		o := b.threads[id] // a thread born since: from zero
		wait = max(wait, t.wait-o.wait)
		cpu += t.cpu - o.cpu
		seen = true
	})
	if seen {
		f.osWaitMs, f.cpuMs = float64(wait)/1e6, float64(cpu)/1e6
	}
	return f
}

// readThreads calls fn with each thread's schedstat (Linux); nothing
// where /proc has none.
func (c *holdCauses) readThreads(fn func(id int64, t threadSched)) {
	d, err := os.Open("/proc/self/task")
	if err != nil {
		return
	}
	c.names, err = d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return
	}
	for _, name := range c.names {
		id, err := strconv.ParseInt(name, 10, 64)
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/self/task/" + name + "/schedstat")
		if err != nil {
			continue // the thread exited
		}
		if cpu, wait, ok := sysinfo.ParseSchedstat(string(b)); ok {
			fn(id, threadSched{cpu: int64(cpu), wait: int64(wait)})
		}
	}
}

// histDeltaMax is the lower bound (in the histogram's unit) of the highest
// bucket that counted more than in base: the longest event since base,
// to the histogram's resolution. 0 when nothing was counted.
func histDeltaMax(h *metrics.Float64Histogram, base []uint64) float64 {
	for i := len(h.Counts) - 1; i >= 0; i-- {
		var b uint64
		if i < len(base) {
			b = base[i]
		}
		if h.Counts[i] > b {
			lo := h.Buckets[i]
			if math.IsInf(lo, -1) {
				return 0
			}
			return lo
		}
	}
	return 0
}

// readThrottled is the cgroup's throttled time in ns, -1 if unknown.
func (c *holdCauses) readThrottled() int64 {
	if c.cpuStat == "" {
		return -1
	}
	b, err := os.ReadFile(c.cpuStat)
	if err != nil {
		return -1
	}
	d, ok := sysinfo.ParseCgroupThrottled(string(b))
	if !ok {
		return -1
	}
	return int64(d)
}

// cgroupCPUStat is the cpu.stat of the process's CPU cgroup, "" when
// there is none to read (not Linux, no cgroup file system).
func cgroupCPUStat() string {
	c, ok := sysinfo.FindCgroupCPU()
	if !ok {
		return ""
	}
	return filepath.Join(c.Dir, "cpu.stat")
}
