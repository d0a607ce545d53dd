package board

import (
	"fmt"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// PatternStep is the time resolution of LED patterns.
const PatternStep = 100 * time.Millisecond

// patternSteps is the length of every pattern's cycle: 2 s.
const patternSteps = 20

// Pattern is an LED's on/off sequence: bit i is the LED during step i of a
// 2 s cycle of 100 ms steps.
type Pattern uint32

// The patterns. On and Steady look the same; Steady is the name used for a
// call in progress.
const (
	Off         Pattern = 0
	On          Pattern = 1<<patternSteps - 1
	Steady              = On
	SlowBlink   Pattern = 0b00000000001111111111         // 1 s on, 1 s off
	FastBlink   Pattern = 0b01010101010101010101         // 5 Hz
	DoubleBlink Pattern = 0b00000000000000000101         // two flashes, then dark
	Scrambled   Pattern = 0b01111111110111111111         // on, a 100 ms dip each second
	Heartbeat   Pattern = 0b00000000000000000001 | 1<<10 // a flash each second
)

// Lit reports whether the LED is on at time t into the pattern.
func (p Pattern) Lit(t time.Duration) bool {
	if t < 0 {
		t = 0
	}
	step := int(t/PatternStep) % patternSteps
	return p&(1<<step) != 0
}

// State is what the status LEDs show.
type State int

// The states, from the phone's and the guard's point of view.
const (
	Unregistered  State = iota // not (yet) registered to the PBX
	Registered                 // idle, ready
	Ringing                    // incoming call
	InCall                     // call up, not scrambled (the far end is not a hushbox)
	ScrambledCall              // call up, scrambled end to end
	UnderAttack                // the DoS guard is active
)

func (s State) String() string {
	switch s {
	case Unregistered:
		return "unregistered"
	case Registered:
		return "registered"
	case Ringing:
		return "ringing"
	case InCall:
		return "in call"
	case ScrambledCall:
		return "scrambled"
	case UnderAttack:
		return "under attack"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Look is what the LEDs do in one state: the green and red LEDs of
// two-LED builds, and the one LED of single-LED builds.
type Look struct {
	Green, Red, Single Pattern
}

// Looks is the State -> pattern mapping (docs/board.md shows it as a table).
var Looks = map[State]Look{
	Unregistered:  {Green: Off, Red: SlowBlink, Single: Heartbeat},
	Registered:    {Green: SlowBlink, Red: Off, Single: SlowBlink},
	Ringing:       {Green: FastBlink, Red: Off, Single: FastBlink},
	InCall:        {Green: Steady, Red: Off, Single: Steady},
	ScrambledCall: {Green: Scrambled, Red: Off, Single: Scrambled},
	UnderAttack:   {Green: Off, Red: DoubleBlink, Single: DoubleBlink},
}

// Driver renders a State on one or two LED pins. Call Tick regularly (every
// few tens of ms); it writes a pin only when its level changes. Either pin
// may be nil. Not safe for concurrent use (Board serialises it).
type Driver struct {
	green, red gpio.PinOut
	state      State
	since      time.Time
	lg, lr     gpio.Level
	written    bool
}

// NewDriver returns a driver showing Unregistered from now.
func NewDriver(green, red gpio.PinOut, now time.Time) *Driver {
	return &Driver{green: green, red: red, state: Unregistered, since: now}
}

// Set switches to a state; its pattern starts from the beginning at now, so
// a new state is visible at once. Setting the current state again keeps
// the pattern's phase.
func (d *Driver) Set(s State, now time.Time) {
	if s == d.state {
		return
	}
	d.state, d.since = s, now
}

// State is the state being shown.
func (d *Driver) State() State { return d.state }

// Patterns returns the patterns the pins show in the current state.
func (d *Driver) Patterns() (green, red Pattern) {
	l := Looks[d.state]
	if d.red == nil {
		return l.Single, Off
	}
	return l.Green, l.Red
}

// Tick drives the pins for time now.
func (d *Driver) Tick(now time.Time) error {
	gp, rp := d.Patterns()
	t := now.Sub(d.since)
	g, r := gpio.Level(gp.Lit(t)), gpio.Level(rp.Lit(t))
	if d.green != nil && (!d.written || g != d.lg) {
		if err := d.green.Out(g); err != nil {
			return fmt.Errorf("board: green LED: %w", err)
		}
	}
	if d.red != nil && (!d.written || r != d.lr) {
		if err := d.red.Out(r); err != nil {
			return fmt.Errorf("board: red LED: %w", err)
		}
	}
	d.lg, d.lr, d.written = g, r, true
	return nil
}
