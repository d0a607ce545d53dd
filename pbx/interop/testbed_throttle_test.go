package interop

import (
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"hushbox/pbx/sysinfo"
)

// The board's CPU cgroup, sampled from outside while the calls run: how
// long its quota kept it from running (cpu.stat's throttled time) within
// each relay hold, at 5 ms resolution. The daemon's own hold line counts
// the throttled time since its last baseline (up to two seconds before the
// hold), and only where it sees its cgroup (testbed.sh mounts it).

// throttleSample is the cgroup's throttled time (ns, summed over the CPUs'
// run queues, as the kernel counts it) at a moment.
type throttleSample struct {
	at time.Time
	ns int64
}

// throttleSampler reads a cpu.stat file every interval until stopped.
type throttleSampler struct {
	stopc chan struct{}
	done  chan struct{}
	mu    sync.Mutex
	s     []throttleSample
}

// startThrottleSampler samples cgroup's cpu.stat every interval; nil when
// there is no cgroup (its methods then do nothing).
func startThrottleSampler(cgroup string, every time.Duration) *throttleSampler {
	if cgroup == "" {
		return nil
	}
	path := filepath.Join(cgroup, "cpu.stat")
	ts := &throttleSampler{stopc: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(ts.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if b, err := os.ReadFile(path); err == nil {
				if d, ok := sysinfo.ParseCgroupThrottled(string(b)); ok {
					ts.mu.Lock()
					ts.s = append(ts.s, throttleSample{time.Now(), int64(d)})
					ts.mu.Unlock()
				}
			}
			select {
			case <-ts.stopc:
				return
			case <-t.C:
			}
		}
	}()
	return ts
}

// stop ends the sampling and returns the samples, oldest first.
func (ts *throttleSampler) stop() []throttleSample {
	if ts == nil {
		return nil
	}
	close(ts.stopc)
	<-ts.done
	return ts.s
}

// throttledWithin is how much throttled time the samples show between the
// last sample at or before from and the first at or after to (so the
// interval it counts holds [from, to]); ok is false when the samples do
// not cover it.
func throttledWithin(s []throttleSample, from, to time.Time) (time.Duration, bool) {
	i := sort.Search(len(s), func(i int) bool { return s[i].at.After(from) }) - 1
	j := sort.Search(len(s), func(i int) bool { return !s[i].at.Before(to) })
	if i < 0 || j >= len(s) {
		return 0, false
	}
	return time.Duration(s[j].ns - s[i].ns), true
}

func TestThrottledWithin(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	s := []throttleSample{{ms(0), 100e6}, {ms(5), 100e6}, {ms(10), 106e6}, {ms(15), 112e6}, {ms(20), 112e6}}
	for _, tc := range []struct {
		from, to int
		want     time.Duration
		ok       bool
	}{
		{5, 15, 12 * time.Millisecond, true},
		{6, 14, 12 * time.Millisecond, true}, // widened to the samples around it
		{15, 20, 0, true},
		{0, 5, 0, true},
		{-1, 5, 0, false},  // before the first sample
		{10, 21, 0, false}, // after the last
	} {
		got, ok := throttledWithin(s, ms(tc.from), ms(tc.to))
		if got != tc.want || ok != tc.ok {
			t.Errorf("%d-%d ms: %v %v, want %v %v", tc.from, tc.to, got, ok, tc.want, tc.ok)
		}
	}
}
