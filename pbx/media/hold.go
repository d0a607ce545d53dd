package media

import (
	"context"
	"log/slog"
	"math"
	"runtime/debug"
	"sync/atomic"
	"time"
)

// Holds: how long datagrams waited in the relay's sockets before the relay
// read them, from the kernel's receive timestamp (SO_TIMESTAMP) to the
// read. A relay that cannot run (its process starved of CPU, throttled by
// its cgroup, paused by the collector, waiting behind other goroutines)
// holds every stream it carries, and the callers hear a gap; this is the
// one place that gap can be told apart from the network's or the phones'.
// Only the Linux poller measures it (the goroutine path has no receive
// timestamps); the Relay's Holds sums its pollers.

// HoldBounds are the upper bounds of the hold histogram's buckets (a
// Prometheus-style "le" histogram; one more bucket holds the rest).
var HoldBounds = [...]time.Duration{
	time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond,
	10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond,
	60 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond,
	500 * time.Millisecond, time.Second,
}

// Holds are logged from HoldLog on (at level Info), as a warning from
// HoldWarn on: a datagram held HoldWarn reaches its listener 20 ms +
// HoldWarn after the one before it, about the most a phone's packet-loss
// concealment hides. A path through two relays (a call handed to the
// cloud peer) adds both relays' holds, hence the lower HoldLog.
const (
	HoldLog  = 20 * time.Millisecond
	HoldWarn = 40 * time.Millisecond
)

// Hold lines are rate-limited per poller by a token bucket: holdLogBurst
// lines at once, then one per holdLogEvery. Under sustained overload that
// is a line a second; a few stalls close together are each logged (a
// stall after a short hold must not be the one left out).
const (
	holdLogBurst = 5
	holdLogEvery = time.Second
)

// HoldStats is a snapshot of a relay's holds.
type HoldStats struct {
	// Buckets[i] counts the holds of at most HoldBounds[i] (and more
	// than HoldBounds[i-1]); the last bucket counts the longer ones.
	Buckets [len(HoldBounds) + 1]uint64
	Count   uint64        // datagrams measured
	Sum     time.Duration // their holds added up
	Max     time.Duration // the longest hold
	MaxAt   time.Time     // when the longest hold ended (the read)
}

// add sums o into h.
func (h *HoldStats) add(o HoldStats) {
	for i, v := range o.Buckets {
		h.Buckets[i] += v
	}
	h.Count += o.Count
	h.Sum += o.Sum
	if o.Max > h.Max {
		h.Max, h.MaxAt = o.Max, o.MaxAt
	}
}

// holdRecorder counts one poller's holds. record and endBatch run on the
// poller's goroutine only: record counts the batch in plain fields (no
// atomic operation per packet on the relay's hot path) and endBatch
// publishes the batch to the atomics snapshot reads from anywhere.
type holdRecorder struct {
	buckets [len(HoldBounds) + 1]atomic.Uint64
	count   atomic.Uint64
	sumNs   atomic.Int64
	maxNs   atomic.Int64
	maxAtNs atomic.Int64

	// The poller's own: the batch's counts, its longest hold and the
	// lines' rate limit.
	batch             [len(HoldBounds) + 1]uint64
	batchCount        uint64
	batchSum          int64
	batchMax, batchAt int64   // ns; unix ns of its read
	tokens            float64 // lines the rate limit allows now
	refilled          int64   // unix ns the tokens were counted at; 0: never
	suppressed        int     // batches with a long hold not logged since the last line
	suppressedMax     int64   // the longest of their holds, ns
	log               *slog.Logger
	gc                debug.GCStats // reused by each line (its slices too)
	causes            *holdCauses   // what else went on (holdcause.go); nil: not read
}

// record counts a datagram received by the kernel at rxNs and read at
// nowNs (both unix ns) into the batch. A receive time after the read (the
// wall clock stepped back) counts as no hold.
func (r *holdRecorder) record(rxNs, nowNs int64) {
	d := max(nowNs-rxNs, 0)
	i := 0
	for i < len(HoldBounds) && time.Duration(d) > HoldBounds[i] {
		i++
	}
	r.batch[i]++
	r.batchCount++
	r.batchSum += d
	if d > r.batchMax {
		r.batchMax, r.batchAt = d, nowNs
	}
}

// publish adds the batch's counts to the shared ones and clears them.
func (r *holdRecorder) publish() {
	if r.batchCount == 0 {
		return
	}
	for i, n := range r.batch {
		if n != 0 {
			r.buckets[i].Add(n)
			r.batch[i] = 0
		}
	}
	r.count.Add(r.batchCount)
	r.sumNs.Add(r.batchSum)
	if r.batchMax > r.maxNs.Load() {
		r.maxNs.Store(r.batchMax)
		r.maxAtNs.Store(r.batchAt)
	}
	r.batchCount, r.batchSum = 0, 0
}

// endBatch ends a poller batch: a hold of HoldLog or more in it is
// logged, within the rate limit. One stall of the relay holds every
// stream it carries, and the batch after it reads the backlog: its
// longest hold is the stall's length, one line says so. A batch not
// logged is counted, with its hold, in the next line.
func (r *holdRecorder) endBatch() {
	r.publish()
	d, at := r.batchMax, r.batchAt
	r.batchMax = 0
	if time.Duration(d) >= HoldLog {
		r.logHold(d, at)
	}
}

// logHold logs a batch's longest hold d, read at at (unix ns), within the
// rate limit.
func (r *holdRecorder) logHold(d, at int64) {
	if r.refilled == 0 {
		r.tokens = holdLogBurst
	} else {
		r.tokens = min(holdLogBurst, r.tokens+float64(at-r.refilled)/float64(holdLogEvery))
	}
	r.refilled = at
	if r.tokens < 1 {
		r.suppressed++
		r.suppressedMax = max(r.suppressedMax, d)
		return
	}
	r.tokens--
	if r.log != nil {
		level := slog.LevelInfo
		if time.Duration(max(d, r.suppressedMax)) >= HoldWarn {
			level = slog.LevelWarn
		}
		// The collector's last cycle: one that ended during or just after
		// the hold may have caused it (its mark phase takes CPU and Ps
		// before its end). No stop of the world: unlike ReadMemStats.
		debug.ReadGCStats(&r.gc)
		attrs := []any{"held_ms", time.Duration(d).Milliseconds(),
			"from_unix_ms", time.Unix(0, at-d).UnixMilli(), "more_since_last", r.suppressed,
			"their_max_ms", time.Duration(r.suppressedMax).Milliseconds(),
			"last_gc_unix_ms", r.gc.LastGC.UnixMilli(), "gc_cycles", r.gc.NumGC}
		if r.causes == nil {
			// no figures
		} else if f := r.causes.since(at - d); f.baseAt != 0 {
			attrs = append(attrs, "sched_wait_max_ms", roundMs(f.schedWaitMs), "stw_max_ms", roundMs(f.stwMs),
				"throttled_ms", roundMs(f.throttledMs), "runnable", f.runnable,
				"os_wait_max_ms", roundMs(f.osWaitMs), "cpu_ms", roundMs(f.cpuMs),
				"since_ms", time.Duration(at-f.baseAt).Milliseconds())
		}
		r.log.Log(context.Background(), level, "media: relay held packets", attrs...)
	}
	r.suppressed, r.suppressedMax = 0, 0
}

// roundMs rounds a figure in ms to a tenth.
func roundMs(ms float64) float64 { return math.Round(ms*10) / 10 }

// snapshot reads the counters.
func (r *holdRecorder) snapshot() HoldStats {
	var h HoldStats
	for i := range r.buckets {
		h.Buckets[i] = r.buckets[i].Load()
	}
	h.Count = r.count.Load()
	h.Sum = time.Duration(r.sumNs.Load())
	h.Max = time.Duration(r.maxNs.Load())
	if at := r.maxAtNs.Load(); at != 0 {
		h.MaxAt = time.Unix(0, at)
	}
	return h
}
