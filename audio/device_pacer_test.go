package audio

import (
	"testing"
	"time"
)

// fakeClock advances only when the pacer sleeps (plus what the test adds
// to simulate a slow caller).
type fakeClock struct {
	now   time.Time
	slept []time.Duration
}

func (c *fakeClock) Now() time.Time { return c.now }
func (c *fakeClock) Sleep(d time.Duration) {
	c.slept = append(c.slept, d)
	c.now = c.now.Add(d)
}

// TestPacer: frames come every 20 ms; a caller that was late by 50 ms gets
// the overdue frames at once and then the schedule resumes (no drift).
func TestPacer(t *testing.T) {
	c := &fakeClock{now: time.Unix(1000, 0)}
	p := Pacer{Now: c.Now, Sleep: c.Sleep}
	start := c.now
	for range 3 {
		p.Wait()
	}
	if got := c.now.Sub(start); got != 40*time.Millisecond {
		t.Fatalf("after 3 frames %v elapsed, want 40ms", got)
	}
	c.now = c.now.Add(50 * time.Millisecond) // the caller stalls
	c.slept = nil
	p.Wait() // frame 3 due at 60ms, now 90ms: no sleep
	p.Wait() // frame 4 due at 80ms: no sleep
	p.Wait() // frame 5 due at 100ms: sleep 10ms
	if len(c.slept) != 1 || c.slept[0] != 10*time.Millisecond {
		t.Errorf("sleeps after a stall = %v, want [10ms]", c.slept)
	}
	if got := c.now.Sub(start); got != 100*time.Millisecond {
		t.Errorf("frame 5 at %v, want 100ms", got)
	}
}
