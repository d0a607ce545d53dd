package daemon

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"hushbox/audio"
	"hushbox/board"
	"hushbox/crypto/keys"
	"hushbox/pbx/endpoint"
)

// silentDevice is a sound device that captures silence in real time and
// counts what is played, so the test can tell the dial tone plays.
type silentDevice struct {
	pace    audio.Pacer
	written chan struct{}
}

func (d *silentDevice) ReadFrame(dst []int16) error { d.pace.Wait(); clear(dst); return nil }
func (d *silentDevice) WriteFrame(src []int16) error {
	select {
	case d.written <- struct{}{}:
	default:
	}
	time.Sleep(audio.FrameMillis * time.Millisecond)
	return nil
}
func (d *silentDevice) Close() error { return nil }

// TestBoardPhoneHookSwitch drives the board phone's controller with fake
// GPIO pins: a call to the board rings (LED ringing); lifting the handset
// answers it (LED scrambled: the caller is a hushbox endpoint); putting it
// down hangs up. Lifting it while idle plays the dial tone.
func TestBoardPhoneHookSwitch(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ca, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cb, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	newID := func() *keys.Identity {
		id, err := keys.NewIdentity()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(id.Destroy)
		return id
	}
	// The caller and the board call each other directly (no PBX needed
	// for the controller): each one's server is the other's socket.
	caller, err := endpoint.New(endpoint.Config{Server: cb.LocalAddr().String(), User: "101", SIPConn: ca,
		NoRegister: true, Identity: newID(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer caller.Close()
	dev := &silentDevice{written: make(chan struct{}, 1)}
	ep, err := endpoint.New(endpoint.Config{Server: ca.LocalAddr().String(), User: "100", SIPConn: cb,
		NoRegister: true, Identity: newID(), Audio: dev, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()

	hook, green := &gpiotest.Pin{N: "HOOK"}, &gpiotest.Pin{N: "GREEN"}
	if err := hook.In(gpio.PullUp, gpio.NoEdge); err != nil {
		t.Fatal(err)
	}
	setHook := func(l gpio.Level) { hook.Lock(); hook.L = l; hook.Unlock() }
	setHook(gpio.Low) // handset down
	brd := board.NewWithPins(board.ProfileFor(board.Kind("generic")), board.Pins{Hook: hook, Green: green}, quiet)
	go brd.Run(ctx)
	p := &boardPhone{ep: ep, dev: dev, brd: brd, log: quiet, ctx: ctx, done: make(chan struct{})}
	go p.loop(ctx)
	waitLED := func(want board.State) {
		t.Helper()
		waitUntil(t, ctx, "LED "+want.String(), func() bool { return brd.State() == want })
	}
	callerEvent := func(k endpoint.EventKind) endpoint.Event {
		t.Helper()
		for {
			select {
			case ev := <-caller.Events():
				if ev.Kind == k {
					return ev
				}
			case <-ctx.Done():
				t.Fatalf("caller: no %v", k)
			}
		}
	}

	if err := caller.Dial(ctx, "100"); err != nil {
		t.Fatal(err)
	}
	waitLED(board.Ringing)
	if st := p.Status(); st.State != "ringing" || st.Peer != "101" {
		t.Errorf("web status while ringing: %+v", st)
	}
	setHook(gpio.High) // lifted: answers
	ev := callerEvent(endpoint.EventScrambled)
	waitLED(board.ScrambledCall)
	if st := p.Status(); st.State != "in call" || !st.Scrambled || st.SAS != ev.SAS || !st.OffHook {
		t.Errorf("web status in call: %+v (caller's SAS %q)", st, ev.SAS)
	}
	setHook(gpio.Low) // put down: hangs up
	if ev := callerEvent(endpoint.EventEnded); ev.Reason != "remote hung up" {
		t.Errorf("caller's call ended %q", ev.Reason)
	}
	waitLED(board.Unregistered) // NoRegister: idle but never registered

	// Lifted while idle: dial tone on the handset until put down.
	for len(dev.written) > 0 {
		<-dev.written
	}
	setHook(gpio.High)
	select {
	case <-dev.written:
	case <-ctx.Done():
		t.Fatal("no dial tone written after lifting the handset")
	}
	setHook(gpio.Low)
	waitUntil(t, ctx, "dial tone stopped", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.toneStop == nil
	})
	if err := p.Dial("12a"); err == nil {
		t.Error("Dial accepted a number with a letter")
	}
}
