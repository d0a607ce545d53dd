package endpoint

import (
	"testing"
	"time"
)

func TestCaptureClock(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	tests := []struct {
		name  string
		reads []int // read times, ms after t0
		waits []time.Duration
	}{
		{"a card's clock: never waits", []int{0, 20, 40, 61, 79, 100}, []time.Duration{0, 0, 0, 0, 0, 0}},
		{"a burst after a stall is sent at once", []int{0, 20, 120, 120, 120, 120, 120}, []time.Duration{0, 0, 0, 0, 0, 0, 0}},
		{"a clockless device is held to real time after 3 frames", []int{0, 0, 0, 0, 0, 0},
			[]time.Duration{0, 0, 0, 0, 20 * time.Millisecond, 40 * time.Millisecond}},
		{"after a long stall the clock restarts", []int{0, 2000, 2000, 2000, 2000, 2000},
			[]time.Duration{0, 0, 0, 0, 0, 20 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c captureClock
			for i, at := range tt.reads {
				if got := c.frame(ms(at)); got != tt.waits[i] {
					t.Errorf("read %d at %d ms: wait %v, want %v", i, at, got, tt.waits[i])
				}
			}
		})
	}
}
