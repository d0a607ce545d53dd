package endpoint

import (
	"context"
	"strings"
	"testing"
	"time"
)

const bound = 10 * time.Second

// callAndTalk has a call b and b auto-answer, with src played by a, and
// returns b's recording once src is over and a has hung up.
func callAndTalk(t *testing.T, a, b *Endpoint, devA, devB *memDevice) (evA, evB Event) {
	t.Helper()
	if err := a.Dial(context.Background(), b.cfg.User); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, a, EventInCall, bound)
	waitEvent(t, b, EventInCall, bound)
	// Scrambled or clear comes right after in call.
	next := func(e *Endpoint) Event {
		for {
			ev := <-e.Events()
			if ev.Kind == EventScrambled || ev.Kind == EventClear {
				return ev
			}
		}
	}
	evA, evB = next(a), next(b)
	time.Sleep(time.Duration(len(devA.src)/8+800) * time.Millisecond)
	a.Hangup()
	if ev := waitEvent(t, a, EventEnded, bound); ev.Reason != "hung up" {
		t.Errorf("caller's end reason %q", ev.Reason)
	}
	if ev := waitEvent(t, b, EventEnded, bound); ev.Reason != "remote hung up" {
		t.Errorf("callee's end reason %q", ev.Reason)
	}
	return evA, evB
}

// TestScrambledCall: two endpoints with identities agree on keys, show
// the same SAS, and the callee hears the caller's audio.
func TestScrambledCall(t *testing.T) {
	devA := &memDevice{src: speechLike(2)}
	devB := &memDevice{}
	a, b := pair(t, Config{Identity: testIdentity(t), Audio: devA}, Config{Identity: testIdentity(t), Audio: devB, AutoAnswer: true})
	evA, evB := callAndTalk(t, a, b, devA, devB)
	if evA.Kind != EventScrambled || evB.Kind != EventScrambled {
		t.Fatalf("caller %v, callee %v: want both scrambled", evA, evB)
	}
	if evA.SAS == "" || evA.SAS != evB.SAS {
		t.Errorf("SAS %q and %q: want the same, non-empty", evA.SAS, evB.SAS)
	}
	r, lag := bestCorr(devA.src, devB.recording(), 8000)
	t.Logf("callee's recording: correlation %.4f at lag %d", r, lag)
	if r < 0.95 {
		t.Errorf("correlation %.4f, want >= 0.95", r)
	}
}

// TestClearCall: without an identity on one side the call is in clear on
// both, says why, and the audio still gets through.
func TestClearCall(t *testing.T) {
	for _, tc := range []struct {
		name       string
		idA, idB   bool
		wantReason string
	}{
		{"caller without identity", false, true, "no key share"},
		{"callee without identity", true, false, "no key share"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			devA := &memDevice{src: speechLike(1)}
			devB := &memDevice{}
			ca, cb := Config{Audio: devA}, Config{Audio: devB, AutoAnswer: true}
			if tc.idA {
				ca.Identity = testIdentity(t)
			}
			if tc.idB {
				cb.Identity = testIdentity(t)
			}
			a, b := pair(t, ca, cb)
			evA, evB := callAndTalk(t, a, b, devA, devB)
			for _, ev := range []Event{evA, evB} {
				if ev.Kind != EventClear || ev.SAS != "" {
					t.Errorf("got %v, want not scrambled", ev)
				}
			}
			r, lag := bestCorr(devA.src, devB.recording(), 8000)
			t.Logf("correlation %.4f at lag %d (recording %d samples)", r, lag, len(devB.recording()))
			if r < 0.95 {
				t.Errorf("correlation %.4f, want >= 0.95", r)
			}
		})
	}
}

// TestDTMF: keys sent by one side arrive as events at the other, once
// each and in order.
func TestDTMF(t *testing.T) {
	devA := &memDevice{src: speechLike(3)}
	a, b := pair(t, Config{Identity: testIdentity(t), Audio: devA}, Config{Identity: testIdentity(t), AutoAnswer: true, Audio: &memDevice{}})
	if err := a.Dial(context.Background(), "102"); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, a, EventInCall, bound)
	waitEvent(t, b, EventInCall, bound)
	const keys = "1#9*A0"
	for _, d := range keys {
		if err := a.SendDTMF(d); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.SendDTMF('x'); err == nil {
		t.Error("SendDTMF('x') accepted")
	}
	var got strings.Builder
	for range len(keys) {
		got.WriteRune(waitEvent(t, b, EventDTMF, bound).Digit)
	}
	if got.String() != keys {
		t.Errorf("received %q, want %q", got.String(), keys)
	}
	b.Hangup()
	waitEvent(t, a, EventEnded, bound)
}

// TestCallControl: cancel, decline, and hang-up from the callee.
func TestCallControl(t *testing.T) {
	t.Run("caller cancels", func(t *testing.T) {
		a, b := pair(t, Config{}, Config{})
		if err := a.Dial(context.Background(), "102"); err != nil {
			t.Fatal(err)
		}
		if ev := waitEvent(t, b, EventIncoming, bound); ev.Peer != "101" {
			t.Errorf("incoming from %q, want 101", ev.Peer)
		}
		waitEvent(t, a, EventRinging, bound)
		if st := b.Status(); st.State != StateRinging {
			t.Errorf("callee state %q, want ringing", st.State)
		}
		a.Hangup()
		if ev := waitEvent(t, b, EventEnded, bound); ev.Reason != "cancelled" {
			t.Errorf("callee: ended %q, want cancelled", ev.Reason)
		}
		if ev := waitEvent(t, a, EventEnded, bound); ev.Reason != "cancelled" {
			t.Errorf("caller: ended %q, want cancelled", ev.Reason)
		}
		if st := a.Status(); st.State != StateIdle {
			t.Errorf("caller state %q after the call, want idle", st.State)
		}
	})
	t.Run("callee declines", func(t *testing.T) {
		a, b := pair(t, Config{}, Config{})
		if err := a.Dial(context.Background(), "102"); err != nil {
			t.Fatal(err)
		}
		waitEvent(t, b, EventIncoming, bound)
		b.Hangup()
		if ev := waitEvent(t, a, EventEnded, bound); !strings.HasPrefix(ev.Reason, "603") {
			t.Errorf("caller: ended %q, want 603", ev.Reason)
		}
	})
	t.Run("callee answers then hangs up", func(t *testing.T) {
		a, b := pair(t, Config{}, Config{})
		if err := a.Dial(context.Background(), "102"); err != nil {
			t.Fatal(err)
		}
		waitEvent(t, b, EventIncoming, bound)
		if err := a.Dial(context.Background(), "102"); err != ErrBusy {
			t.Errorf("second Dial: %v, want ErrBusy", err)
		}
		if err := b.Answer(); err != nil {
			t.Fatal(err)
		}
		waitEvent(t, a, EventInCall, bound)
		if st := b.Status(); st.State != StateInCall || st.Peer != "101" {
			t.Errorf("callee status %+v", st)
		}
		b.Hangup()
		if ev := waitEvent(t, a, EventEnded, bound); ev.Reason != "remote hung up" {
			t.Errorf("caller: ended %q", ev.Reason)
		}
	})
}
