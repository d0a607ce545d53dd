package board

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/host/v3"
)

// Event is a debounced input transition.
type Event int

// The events.
const (
	OffHook        Event = iota + 1 // handset lifted
	OnHook                          // handset put down
	HandoffPressed                  // hand-off button pressed
	SparePressed                    // spare button pressed
)

func (e Event) String() string {
	switch e {
	case OffHook:
		return "off-hook"
	case OnHook:
		return "on-hook"
	case HandoffPressed:
		return "hand-off pressed"
	case SparePressed:
		return "spare pressed"
	}
	return fmt.Sprintf("Event(%d)", int(e))
}

// PollInterval is how often Run samples the inputs and updates the LEDs:
// six samples per debounce delay, and far finer than the LED patterns.
const PollInterval = 5 * time.Millisecond

// Pins are the GPIOs a Board drives; any may be nil (absent).
type Pins struct {
	Hook, Handoff, Spare gpio.PinIn
	Green, Red           gpio.PinOut
}

// Board is the running hardware: inputs debounced into Events, LEDs showing
// a State. Its methods are safe for concurrent use.
type Board struct {
	profile Profile
	pins    Pins
	log     *slog.Logger
	events  chan Event

	mu        sync.Mutex
	hook      Debouncer
	handoff   Debouncer
	spare     Debouncer
	leds      *Driver
	dropped   int
	ledFailed bool
}

// degradeOnce makes the "no GPIO" warning appear once per process.
var degradeOnce sync.Once

// Open prepares the profile's pins through periph.io. When the host has no
// usable GPIO (no driver, no permission, a pin the profile names is not
// there) it logs once and returns a board without those pins: a no-op
// board when none is usable. It never fails.
func Open(p Profile, log *slog.Logger) *Board {
	if log == nil {
		log = slog.Default()
	}
	if !p.HasGPIO() {
		return NewWithPins(p, Pins{}, log)
	}
	if _, err := host.Init(); err != nil {
		degradeOnce.Do(func() {
			log.Warn("board: no GPIO, buttons and LEDs disabled", "board", p.Name, "err", err)
		})
		return NewWithPins(p, Pins{}, log)
	}
	var pins Pins
	var missing []string
	in := func(name string) gpio.PinIn {
		if name == "" {
			return nil
		}
		pin := gpioreg.ByName(name)
		if pin == nil {
			missing = append(missing, name)
			return nil
		}
		if err := pin.In(gpio.PullUp, gpio.NoEdge); err != nil {
			missing = append(missing, name+" ("+err.Error()+")")
			return nil
		}
		return pin
	}
	out := func(name string) gpio.PinOut {
		if name == "" {
			return nil
		}
		pin := gpioreg.ByName(name)
		if pin == nil {
			missing = append(missing, name)
			return nil
		}
		if err := pin.Out(gpio.Low); err != nil {
			missing = append(missing, name+" ("+err.Error()+")")
			return nil
		}
		return pin
	}
	pins.Hook, pins.Handoff, pins.Spare = in(p.Hook), in(p.Handoff), in(p.Spare)
	pins.Green, pins.Red = out(p.Green), out(p.Red)
	if len(missing) > 0 {
		degradeOnce.Do(func() {
			log.Warn("board: GPIO pins unavailable, running without them", "board", p.Name, "pins", missing)
		})
	}
	return NewWithPins(p, pins, log)
}

// NewWithPins builds a board on given pins (fakes in tests). Inputs must
// already be configured as pulled-up inputs.
func NewWithPins(p Profile, pins Pins, log *slog.Logger) *Board {
	if log == nil {
		log = slog.Default()
	}
	return &Board{
		profile: p,
		pins:    pins,
		log:     log,
		events:  make(chan Event, 16),
		leds:    NewDriver(pins.Green, pins.Red, time.Now()),
	}
}

// Profile is the board's profile.
func (b *Board) Profile() Profile { return b.profile }

// Available reports whether any pin is in use (false: a no-op board).
func (b *Board) Available() bool {
	p := b.pins
	return p.Hook != nil || p.Handoff != nil || p.Spare != nil || p.Green != nil || p.Red != nil
}

// Events delivers input transitions. If nobody reads, events beyond the
// channel's buffer are dropped (and counted in the log), never blocking
// the poll loop.
func (b *Board) Events() <-chan Event { return b.events }

// OffHook reports whether the handset is lifted (debounced). Boards without
// a hook switch report false: the handset is "down" until the web page or
// the endpoint says otherwise.
func (b *Board) OffHook() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.hook.State()
}

// SetState changes what the LEDs show.
func (b *Board) SetState(s State) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.leds.Set(s, time.Now())
}

// setStateAt is SetState at a given time (tests).
func (b *Board) setStateAt(s State, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.leds.Set(s, now)
}

// State is what the LEDs show.
func (b *Board) State() State {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.leds.State()
}

// Step samples the inputs and updates the LEDs as of now. Run calls it
// every PollInterval; tests call it with their own clock.
func (b *Board) Step(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	// Inputs read Low when their contact is closed (pull-up, switch to
	// ground). The hook contact is closed while the handset rests on it.
	if p := b.pins.Hook; p != nil {
		if off, changed := b.hook.Update(p.Read() == gpio.High, now); changed {
			if off {
				b.emit(OffHook)
			} else {
				b.emit(OnHook)
			}
		}
	}
	if p := b.pins.Handoff; p != nil {
		if down, changed := b.handoff.Update(p.Read() == gpio.Low, now); changed && down {
			b.emit(HandoffPressed)
		}
	}
	if p := b.pins.Spare; p != nil {
		if down, changed := b.spare.Update(p.Read() == gpio.Low, now); changed && down {
			b.emit(SparePressed)
		}
	}
	if err := b.leds.Tick(now); err != nil && !b.ledFailed {
		b.ledFailed = true // a broken pin logs once, not 200 times a second
		b.log.Warn("board: LED write failed", "err", err)
	}
}

func (b *Board) emit(e Event) {
	select {
	case b.events <- e:
	default:
		b.dropped++
		b.log.Debug("board: event dropped, nobody reading", "event", e, "dropped", b.dropped)
	}
}

// Run polls until ctx ends, then turns the LEDs off. On a no-op board it
// just waits for ctx.
func (b *Board) Run(ctx context.Context) {
	if !b.Available() {
		<-ctx.Done()
		return
	}
	t := time.NewTicker(PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			b.mu.Lock()
			for _, p := range []gpio.PinOut{b.pins.Green, b.pins.Red} {
				if p != nil {
					_ = p.Out(gpio.Low)
				}
			}
			b.mu.Unlock()
			return
		case now := <-t.C:
			b.Step(now)
		}
	}
}
