package board

import "time"

// DebounceDelay is how long an input must hold a new level before it counts:
// longer than a mechanical contact's bounce (a few ms), shorter than a
// deliberate press.
const DebounceDelay = 30 * time.Millisecond

// Debouncer turns a bouncing contact into clean transitions: a new level is
// accepted once it has been read continuously for Delay. The first reading
// sets the state without a transition. The zero value uses DebounceDelay.
type Debouncer struct {
	Delay time.Duration

	init    bool
	stable  bool
	pending bool
	cand    bool
	since   time.Time
}

// Update feeds one reading taken at now and returns the debounced state and
// whether it just changed.
func (d *Debouncer) Update(raw bool, now time.Time) (state, changed bool) {
	delay := d.Delay
	if delay <= 0 {
		delay = DebounceDelay
	}
	switch {
	case !d.init:
		d.init, d.stable = true, raw
	case raw == d.stable:
		d.pending = false
	case !d.pending || raw != d.cand:
		d.pending, d.cand, d.since = true, raw, now
	case now.Sub(d.since) >= delay:
		d.stable, d.pending, changed = raw, false, true
	}
	return d.stable, changed
}

// State is the debounced state (false before the first Update).
func (d *Debouncer) State() bool { return d.stable }
