package media

import (
	"math"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"
)

func TestHistDeltaMax(t *testing.T) {
	h := &metrics.Float64Histogram{Counts: []uint64{5, 2, 0, 1}, Buckets: []float64{math.Inf(-1), 0.001, 0.01, 0.1, math.Inf(1)}}
	for _, tc := range []struct {
		name string
		base []uint64
		want float64
	}{
		{"no baseline", nil, 0.1},
		{"top bucket unchanged", []uint64{4, 2, 0, 1}, 0},
		{"second bucket grew", []uint64{5, 1, 0, 1}, 0.001},
		{"nothing new", []uint64{5, 2, 0, 1}, 0},
	} {
		if got := histDeltaMax(h, tc.base); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestHoldCausesSeeSchedulingWait: goroutines kept from a P for tens of
// milliseconds (one P, held by a goroutine that spins until the runtime
// preempts it) show in the figures since the baseline, and not before.
func TestHoldCausesSeeSchedulingWait(t *testing.T) {
	c := newHoldCauses()
	if f := c.since(time.Now().UnixNano()); f.baseAt != 0 || f.cpuMs != -1 {
		t.Errorf("figures %+v with no baseline, want none", f)
	}
	c.refresh(time.Now().UnixNano())
	quiet := c.since(time.Now().UnixNano())
	if quiet.throttledMs > 0 && c.cpuStat == "" {
		t.Errorf("throttled %v ms with no cgroup file", quiet.throttledMs)
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	base := time.Now().UnixNano()
	c.refresh(base)
	done := make(chan struct{}, 64)
	// A fresh time slice: the runtime preempts a goroutine 10 ms after
	// it last saw it scheduled, which for the test's goroutine may be
	// now; after the yield the spin below has its 10 ms.
	runtime.Gosched()
	start := time.Now()
	for range cap(done) { // the runtime samples one goroutine in eight
		go func() { done <- struct{}{} }()
	}
	for time.Since(start) < 30*time.Millisecond { // no yield: preempted after 10 ms
	}
	for range cap(done) {
		<-done
	}
	f := c.since(time.Now().UnixNano())
	if f.baseAt != base {
		t.Errorf("figures counted from %d, want the baseline before the wait (%d)", f.baseAt, base)
	}
	if f.schedWaitMs < 5 {
		t.Errorf("sched_wait_max_ms %v after goroutines waited behind a 30 ms spin, want >= 5", f.schedWaitMs)
	}
	if f.throttledMs < -1 {
		t.Errorf("throttled_ms %v", f.throttledMs)
	}
	// The spin ran on one of the process's threads: its CPU time counts.
	if f.cpuMs < 1 || f.osWaitMs < 0 {
		t.Errorf("cpu_ms %v os_wait_max_ms %v after a 30 ms spin, want CPU counted", f.cpuMs, f.osWaitMs)
	}
}
