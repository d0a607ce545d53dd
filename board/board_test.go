package board

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type rig struct {
	hook, handoff, spare, green, red *gpiotest.Pin
	b                                *Board
	now                              time.Time
}

// newRig wires fake pins the way Open would: inputs pulled up (so the hook
// reads High = lifted unless the test puts the handset down), LEDs low.
func newRig(t *testing.T, twoLEDs bool) *rig {
	t.Helper()
	r := &rig{
		hook:    &gpiotest.Pin{N: "GPIO17", Num: 17},
		handoff: &gpiotest.Pin{N: "GPIO27", Num: 27},
		spare:   &gpiotest.Pin{N: "GPIO22", Num: 22},
		green:   &gpiotest.Pin{N: "GPIO23", Num: 23},
		red:     &gpiotest.Pin{N: "GPIO24", Num: 24},
		now:     time.Unix(1_800_000_000, 0),
	}
	for _, p := range []*gpiotest.Pin{r.hook, r.handoff, r.spare} {
		if err := p.In(gpio.PullUp, gpio.NoEdge); err != nil {
			t.Fatal(err)
		}
	}
	r.hook.L = gpio.Low // handset resting on the switch
	pins := Pins{Hook: r.hook, Handoff: r.handoff, Spare: r.spare, Green: r.green}
	if twoLEDs {
		pins.Red = r.red
	}
	r.b = NewWithPins(ProfileFor(RPi2), pins, quiet)
	r.b.leds.since = r.now
	r.advance(50 * time.Millisecond)
	return r
}

// advance runs the poll loop for d in PollInterval steps.
func (r *rig) advance(d time.Duration) {
	for end := r.now.Add(d); r.now.Before(end); {
		r.now = r.now.Add(PollInterval)
		r.b.Step(r.now)
	}
}

func (r *rig) set(p *gpiotest.Pin, l gpio.Level) {
	p.Lock()
	p.L = l
	p.Unlock()
}

func (r *rig) drain() []Event {
	var evs []Event
	for {
		select {
		case e := <-r.b.Events():
			evs = append(evs, e)
		default:
			return evs
		}
	}
}

func TestHookAndButtons(t *testing.T) {
	r := newRig(t, true)
	if evs := r.drain(); len(evs) != 0 {
		t.Fatalf("events at start: %v", evs)
	}
	if r.b.OffHook() {
		t.Fatal("OffHook with the handset down")
	}

	// Lift the handset, with contact bounce.
	for _, l := range []gpio.Level{gpio.High, gpio.Low, gpio.High, gpio.Low, gpio.High} {
		r.set(r.hook, l)
		r.advance(5 * time.Millisecond)
	}
	r.advance(40 * time.Millisecond)
	if evs := r.drain(); len(evs) != 1 || evs[0] != OffHook {
		t.Fatalf("after lifting the handset: %v, want [off-hook]", evs)
	}
	if !r.b.OffHook() {
		t.Error("OffHook false after lifting")
	}

	// Hand-off button: press (Low) and release.
	r.set(r.handoff, gpio.Low)
	r.advance(60 * time.Millisecond)
	r.set(r.handoff, gpio.High)
	r.advance(60 * time.Millisecond)
	// Spare: a 10 ms glitch is not a press.
	r.set(r.spare, gpio.Low)
	r.advance(10 * time.Millisecond)
	r.set(r.spare, gpio.High)
	r.advance(60 * time.Millisecond)
	// Put the handset down.
	r.set(r.hook, gpio.Low)
	r.advance(60 * time.Millisecond)

	want := []Event{HandoffPressed, OnHook}
	evs := r.drain()
	if len(evs) != len(want) || evs[0] != want[0] || evs[1] != want[1] {
		t.Fatalf("events %v, want %v", evs, want)
	}
}

// lit samples a pin every 100 ms over one 2 s cycle.
func lit(r *rig, p *gpiotest.Pin) Pattern {
	var got Pattern
	for i := range patternSteps {
		r.advance(PatternStep)
		// The sample just before the step boundary shows step i.
		if p.Read() == gpio.High {
			got |= 1 << i
		}
	}
	return got
}

func TestLEDsFollowCallState(t *testing.T) {
	r := newRig(t, true)
	tests := []struct {
		s          State
		green, red Pattern
	}{
		{Registered, SlowBlink, Off},
		{Ringing, FastBlink, Off},
		{ScrambledCall, Scrambled, Off},
		{InCall, Steady, Off},
		{UnderAttack, Off, DoubleBlink},
		{Unregistered, Off, SlowBlink},
	}
	for _, tc := range tests {
		s := tc.s
		r.b.setStateAt(s, r.now)
		r.now = r.now.Add(-PollInterval) // first sample lands at the pattern start
		g, red := lit(r, r.green), lit(r, r.red)
		if g != tc.green || red != tc.red {
			t.Errorf("%v: green %020b red %020b, want %020b %020b", s, g, red, tc.green, tc.red)
		}
		if r.b.State() != s {
			t.Errorf("State() = %v, want %v", r.b.State(), s)
		}
	}
	// The states look different from each other.
	seen := map[Look]State{}
	for s, l := range Looks {
		if o, dup := seen[l]; dup {
			t.Errorf("%v and %v look the same", s, o)
		}
		seen[l] = s
	}
}

func TestSingleLED(t *testing.T) {
	r := newRig(t, false)
	r.b.setStateAt(Ringing, r.now)
	r.now = r.now.Add(-PollInterval)
	if got := lit(r, r.green); got != FastBlink {
		t.Errorf("ringing on one LED: %020b, want fast blink", got)
	}
	r.b.setStateAt(UnderAttack, r.now)
	r.now = r.now.Add(-PollInterval)
	if got := lit(r, r.green); got != DoubleBlink {
		t.Errorf("under attack on one LED: %020b, want double blink", got)
	}
	singles := map[Pattern]State{}
	for s, l := range Looks {
		if o, dup := singles[l.Single]; dup {
			t.Errorf("%v and %v look the same on one LED", s, o)
		}
		singles[l.Single] = s
	}
}

func TestNoGPIOBoard(t *testing.T) {
	// qemu and generic boards name no pins: a no-op board, no error.
	b := Open(ProfileFor(QEMU), quiet)
	if b.Available() {
		t.Fatal("qemu board claims GPIO")
	}
	b.SetState(Ringing)
	b.Step(time.Now())
	if b.OffHook() {
		t.Error("no-op board is off hook")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { b.Run(ctx); close(done) }()
	cancel()
	<-done
}

func TestOpenWithoutPins(t *testing.T) {
	// On the test host the Pi's pins do not exist: Open degrades to a
	// no-op board instead of failing.
	b := Open(ProfileFor(RPi2), quiet)
	if b.Available() {
		t.Skip("this host has Raspberry Pi GPIO")
	}
	b.SetState(InCall)
	b.Step(time.Now())
	if b.State() != InCall {
		t.Errorf("state %v, want in call", b.State())
	}
}

func TestEventsNeverBlock(t *testing.T) {
	r := newRig(t, true)
	for range 40 { // more transitions than the channel holds, none read
		r.set(r.handoff, gpio.Low)
		r.advance(40 * time.Millisecond)
		r.set(r.handoff, gpio.High)
		r.advance(40 * time.Millisecond)
	}
	if n := len(r.drain()); n != cap(r.b.events) {
		t.Errorf("%d events buffered, want the channel's %d", n, cap(r.b.events))
	}
}
