package guard

import (
	"testing"
	"time"
)

// The level rises within a couple of seconds of a flood, holds through a
// short lull, and falls back one level at a time over tens of seconds.
func TestMeterHysteresis(t *testing.T) {
	c := newClock()
	var m Meter
	step := func(l Load, n int) Level {
		var lvl Level
		for range n {
			c.Add(time.Second)
			lvl = m.Update(c.Now(), l)
		}
		return lvl
	}
	if lvl := step(Load{DropRate: 10, CPU: 0.3, QueueDelay: time.Millisecond}, 30); lvl != Normal {
		t.Fatalf("light load gives %v", lvl)
	}
	if lvl := step(Load{DropRate: 20000}, 3); lvl != Critical {
		t.Fatalf("3 s of a flood gives %v (score %.2f), want critical", lvl, m.Score())
	}
	// A 3 s lull does not bring it down past high.
	if lvl := step(Load{}, 3); lvl < High {
		t.Fatalf("3 s lull drops to %v (score %.2f)", lvl, m.Score())
	}
	// Falling is monotone and passes through every level.
	seen := map[Level]bool{}
	prev := m.Level()
	for range 300 {
		lvl := step(Load{}, 1)
		if lvl > prev {
			t.Fatalf("level rose from %v to %v with no load", prev, lvl)
		}
		if prev-lvl > 1 {
			t.Fatalf("level fell from %v to %v in one step", prev, lvl)
		}
		seen[lvl] = true
		prev = lvl
	}
	if prev != Normal || !seen[Elevated] || !seen[High] {
		t.Fatalf("after 5 quiet minutes: %v, seen %v", prev, seen)
	}
	// A score hovering between down and up thresholds does not flap.
	step(Load{DropRate: 0.55 * fullDropRate}, 20) // settles above 0.5: high
	if m.Level() != High {
		t.Fatalf("steady 0.55 gives %v", m.Level())
	}
	flips := 0
	last := m.Level()
	for i := range 40 {
		r := 0.45
		if i%2 == 0 {
			r = 0.55
		}
		if lvl := step(Load{DropRate: r * fullDropRate}, 1); lvl != last {
			flips++
			last = lvl
		}
	}
	if flips != 0 {
		t.Fatalf("level flapped %d times around a threshold", flips)
	}
}

func TestLoadRaw(t *testing.T) {
	for _, tc := range []struct {
		l    Load
		want float64
	}{
		{Load{}, 0},
		{Load{CPU: 0.4}, 0},
		{Load{CPU: 0.75}, 0.5},
		{Load{CPU: 1}, 1},
		{Load{QueueDelay: fullQueueDelay / 2}, 0.5},
		{Load{DropRate: 10 * fullDropRate}, 1},
		{Load{DropRate: fullDropRate / 4, CPU: 0.6}, 0.25},
	} {
		if got := tc.l.raw(); got < tc.want-1e-9 || got > tc.want+1e-9 {
			t.Errorf("%+v: raw %v, want %v", tc.l, got, tc.want)
		}
	}
}

func TestLevelNames(t *testing.T) {
	for l, want := range map[Level]string{Normal: "normal", Elevated: "elevated", High: "high", Critical: "critical", 7: "unknown"} {
		if l.String() != want {
			t.Errorf("%d: %q", l, l.String())
		}
	}
}

// Observe publishes the meter's verdict to Pressure and Stats.
func TestObservePublishes(t *testing.T) {
	c := newClock()
	g := newTestGuard(t, c, nil)
	for range 3 {
		c.Add(time.Second)
		g.Observe(c.Now(), Load{QueueDelay: time.Second})
	}
	lvl, score := g.Pressure()
	if lvl != Critical || score < 0.75 || g.Stats().Level != Critical {
		t.Fatalf("pressure %v %.2f", lvl, score)
	}
}

// After a flood ends the level is back at normal within half a minute (the
// hand-off then waits its own LowFor before bringing calls back), and not
// within a few seconds (a pause in the attack does not end it).
func TestMeterFallsAfterFlood(t *testing.T) {
	c := newClock()
	var m Meter
	for range 20 {
		c.Add(time.Second)
		m.Update(c.Now(), Load{DropRate: 20 * fullDropRate})
	}
	normalAfter := 0
	for s := 1; s <= 120; s++ {
		c.Add(time.Second)
		if m.Update(c.Now(), Load{}) == Normal {
			normalAfter = s
			break
		}
	}
	if normalAfter < 10 || normalAfter > 30 {
		t.Fatalf("normal %d s after the flood ended, want between 10 and 30 s", normalAfter)
	}
}
