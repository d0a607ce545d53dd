package handoff

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"sync"
	"testing"
	"time"

	"hushbox/pbx/call"
)

// fakeCalls is a call manager with legs that move when told to; a party
// listed in refuse answers the re-INVITE with an error.
type fakeCalls struct {
	mu     sync.Mutex
	legs   []call.LegRef
	refuse map[string]bool // by party
	moves  []string
}

func (f *fakeCalls) HandoffLegs() []call.LegRef {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call.LegRef(nil), f.legs...)
}

func (f *fakeCalls) set(callID, side, where string) (call.LegRef, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, l := range f.legs {
		if l.CallID == callID && l.Leg == side {
			if f.refuse[l.Party] {
				return l, fmt.Errorf("%w: 488", call.ErrRefused)
			}
			f.legs[i].Where = where
			f.moves = append(f.moves, callID+"/"+side+"→"+where)
			return l, nil
		}
	}
	return call.LegRef{}, call.ErrNoLeg
}

func (f *fakeCalls) MoveLeg(_ context.Context, callID, side string, t call.Target) (time.Duration, error) {
	if !t.Media.IsValid() || !t.Relay.IsValid() || t.Contact.Host == "" {
		return 0, errors.New("bad target")
	}
	_, err := f.set(callID, side, call.WhereCloud)
	return time.Millisecond, err
}

func (f *fakeCalls) ReturnLeg(_ context.Context, callID, side string) (time.Duration, error) {
	_, err := f.set(callID, side, call.WhereBoard)
	return time.Millisecond, err
}

func (f *fakeCalls) end(callID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var keep []call.LegRef
	for _, l := range f.legs {
		if l.CallID != callID {
			keep = append(keep, l)
		}
	}
	f.legs = keep
}

// fakeCloud hands out relays and counts the live ones.
type fakeCloud struct {
	mu    sync.Mutex
	live  map[string]RelayRequest
	n     int
	down  bool
	freed int
}

func (c *fakeCloud) Allocate(_ context.Context, req RelayRequest) (RelayGrant, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return RelayGrant{}, errors.New("cloud unreachable")
	}
	c.n++
	id := fmt.Sprint("r", c.n)
	c.live[id] = req
	return RelayGrant{ID: id, WAN: fmt.Sprintf("198.51.100.1:%d", 30000+2*c.n), Peer: fmt.Sprintf("198.51.100.1:%d", 40000+2*c.n), SIP: "sip:hushbox@198.51.100.1:5060"}, nil
}

func (c *fakeCloud) Free(_ context.Context, id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.live[id]; !ok {
		return ErrNoRelay
	}
	delete(c.live, id)
	c.freed++
	return nil
}

func (c *fakeCloud) count() int { c.mu.Lock(); defer c.mu.Unlock(); return len(c.live) }

// memStore is a settings store in memory.
type memStore struct {
	mu sync.Mutex
	m  map[string]string
}

func (s *memStore) Setting(k string) (string, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[k]
	return v, ok, nil
}

func (s *memStore) SetSetting(k, v string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[k] = v
	return nil
}

func leg(callID, side, party string) call.LegRef {
	return call.LegRef{CallID: callID, Call: callID, Leg: side, Party: party, Where: call.WhereBoard,
		Local: netip.MustParseAddrPort("192.168.1.2:20000"), Media: netip.MustParseAddrPort("203.0.113.9:4000")}
}

func newTestBoard(calls *fakeCalls, cl *fakeCloud, st Store) *Board {
	return NewBoard(BoardConfig{Calls: calls, Store: st,
		Cloud: func() (Cloud, error) {
			if cl == nil {
				return nil, ErrNoCloud
			}
			return cl, nil
		}})
}

func TestBoardMovesWANLegsOnly(t *testing.T) {
	calls := &fakeCalls{refuse: map[string]bool{"203.0.113.66:5060": true}, legs: []call.LegRef{
		leg("c1", "a", "203.0.113.9:5060"),  // WAN caller
		leg("c1", "b", "192.168.1.20:5060"), // LAN callee
		leg("c2", "a", "127.0.0.1:5062"),    // loopback
		leg("c3", "b", "203.0.113.66:5060"), // WAN, refuses
		leg("c4", "a", "[2001:db8::7]:5060"),
	}}
	cl := &fakeCloud{live: map[string]RelayRequest{}}
	st := &memStore{m: map[string]string{}}
	b := newTestBoard(calls, cl, st)
	res, err := b.Move(context.Background(), ToCloud, TriggerAPI)
	if err != nil {
		t.Fatal(err)
	}
	if res.Moved != 2 || res.Failed != 1 || res.Skipped != 2 {
		t.Fatalf("to cloud: %+v, want 2 moved (c1/a, c4/a), 1 refused (c3/b), 2 skipped", res)
	}
	if cl.count() != 2 {
		t.Fatalf("%d relays live, want 2 (the refused leg's freed)", cl.count())
	}
	st0 := b.Status()
	if st0.Where != ToCloud || !st0.Forced || st0.OnCloud != 2 || len(st0.Log) != 3 {
		t.Fatalf("status %+v", st0)
	}
	// A second hand-off finds nothing new to move (the refuser is not asked again).
	if res, _ = b.Move(context.Background(), ToCloud, TriggerAPI); res.Moved+res.Failed != 0 {
		t.Fatalf("second hand-off: %+v, want nothing to do", res)
	}
	// Hand-back: both return, every relay is freed.
	if res, _ = b.Move(context.Background(), ToBoard, TriggerAPI); res.Moved != 2 || res.Failed != 0 {
		t.Fatalf("to board: %+v", res)
	}
	if cl.count() != 0 {
		t.Fatalf("%d relays live after the hand-back", cl.count())
	}
	if st := b.Status(); st.Where != ToBoard || st.Forced || st.OnCloud != 0 {
		t.Fatalf("status after the hand-back %+v", st)
	}
	// The log survives a restart (the store).
	if l := newTestBoard(calls, cl, st).Status().Log; len(l) != 5 || l[0].To != ToBoard || l[4].To != ToCloud {
		t.Fatalf("log after a restart: %+v", l)
	}
}

func TestBoardErrors(t *testing.T) {
	calls := &fakeCalls{legs: []call.LegRef{leg("c1", "a", "203.0.113.9:5060")}}
	for _, tc := range []struct {
		name string
		b    *Board
		to   string
		want error
	}{
		{"bad target", newTestBoard(calls, &fakeCloud{live: map[string]RelayRequest{}}, nil), "mars", ErrBadWhere},
		{"no cloud", newTestBoard(calls, nil, nil), ToCloud, ErrNoCloud},
	} {
		if _, err := tc.b.Move(context.Background(), tc.to, TriggerAPI); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	// The cloud cannot give a relay: the leg stays, reported failed.
	cl := &fakeCloud{live: map[string]RelayRequest{}, down: true}
	res, err := newTestBoard(calls, cl, nil).Move(context.Background(), ToCloud, TriggerAPI)
	if err != nil || res.Failed != 1 || calls.HandoffLegs()[0].Where != call.WhereBoard {
		t.Fatalf("cloud down: %+v %v", res, err)
	}
	if StatusOf(ErrRunning) != http.StatusConflict || StatusOf(ErrBadWhere) != http.StatusBadRequest {
		t.Fatal("StatusOf")
	}
}

func TestBoardPressureTrigger(t *testing.T) {
	calls := &fakeCalls{legs: []call.LegRef{leg("c1", "a", "203.0.113.9:5060")}}
	cl := &fakeCloud{live: map[string]RelayRequest{}}
	var mu sync.Mutex
	level := 0
	b := NewBoard(BoardConfig{Calls: calls, Cloud: func() (Cloud, error) { return cl, nil },
		Pressure: func() int { mu.Lock(); defer mu.Unlock(); return level },
		HighFor:  30 * time.Millisecond, LowFor: 30 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	go b.Run(ctx, 5*time.Millisecond)
	setLevel := func(l int) { mu.Lock(); level = l; mu.Unlock() }
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for !cond() {
			if ctx.Err() != nil {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	onCloud := func() bool { return b.Status().OnCloud == 1 }
	setLevel(3)
	waitFor("hand-off under pressure", onCloud)
	// A call that starts during the attack goes to the cloud too.
	calls.mu.Lock()
	calls.legs = append(calls.legs, leg("c2", "a", "203.0.113.10:5060"))
	calls.mu.Unlock()
	waitFor("the new call handed off", func() bool { return b.Status().OnCloud == 2 })
	// The first call ends on the cloud: its relay is freed.
	calls.end("c1")
	waitFor("the ended call's relay freed", func() bool { return cl.count() == 1 })
	setLevel(0)
	waitFor("hand-back", func() bool { return b.Status().OnCloud == 0 && cl.count() == 0 })
	// A drill holds the calls on the cloud whatever the pressure says.
	if _, err := b.Move(ctx, ToCloud, TriggerButton); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // several LowFor windows at level 0
	if b.Status().OnCloud != 1 {
		t.Fatal("the pressure trigger handed back a drill")
	}
	if res, err := b.Toggle(ctx, TriggerButton); err != nil || res.To != ToBoard || res.Moved != 1 {
		t.Fatalf("button again: %+v %v, want the call back", res, err)
	}
}

func TestDefaultIsWAN(t *testing.T) {
	for party, want := range map[string]bool{
		"203.0.113.9:5060": true, "[2001:db8::1]:5060": true, "100.64.0.1:5060": true,
		"127.0.0.1:5060": false, "10.0.0.1:5060": false, "192.168.1.1:5060": false, "[fe80::1]:5060": false,
		"[fd00::1]:5060": false, "garbage": false, "": false,
	} {
		if got := DefaultIsWAN(party); got != want {
			t.Errorf("DefaultIsWAN(%q) = %v, want %v", party, got, want)
		}
	}
}
