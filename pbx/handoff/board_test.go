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
	// silent parties do not answer until release is closed, then give up
	// ("no answer", as Timer B does); busy ones have an offer/answer going.
	silent  map[string]bool
	release chan struct{}
	busy    map[string]bool
	moves   []string
}

// unanswered is how a lost re-INVITE ends: in the caller's context.
func (f *fakeCalls) unanswered(ctx context.Context, callID, side string) (bool, error) {
	f.mu.Lock()
	var party string
	for _, l := range f.legs {
		if l.CallID == callID && l.Leg == side {
			party = l.Party
		}
	}
	silent, busy := f.silent[party], f.busy[party]
	f.mu.Unlock()
	switch {
	case silent:
		select {
		case <-f.release:
		case <-ctx.Done():
		}
		return true, fmt.Errorf("%w: no answer", call.ErrRefused)
	case busy:
		return true, call.ErrBusy
	}
	return false, nil
}

func (f *fakeCalls) HandoffLegs() []call.LegRef { return f.AppendHandoffLegs(nil) }

func (f *fakeCalls) AppendHandoffLegs(dst []call.LegRef) []call.LegRef {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append(dst, f.legs...)
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

func (f *fakeCalls) MoveLeg(ctx context.Context, callID, side string, t call.Target) (time.Duration, error) {
	if !t.Media.IsValid() || !t.Relay.IsValid() || t.Contact.Host == "" {
		return 0, errors.New("bad target")
	}
	if stop, err := f.unanswered(ctx, callID, side); stop {
		return 0, err
	}
	_, err := f.set(callID, side, call.WhereCloud)
	return time.Millisecond, err
}

func (f *fakeCalls) ReturnLeg(ctx context.Context, callID, side string) (time.Duration, error) {
	if stop, err := f.unanswered(ctx, callID, side); stop {
		return 0, err
	}
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

// batchCloud is a fakeCloud that takes batches and counts them.
type batchCloud struct {
	*fakeCloud
	batches, sizes int
}

func (c *batchCloud) AllocateAll(ctx context.Context, reqs []RelayRequest) ([]RelayBatchItem, error) {
	c.mu.Lock()
	c.batches++
	c.sizes += len(reqs)
	c.mu.Unlock()
	out := make([]RelayBatchItem, len(reqs))
	for i, r := range reqs {
		g, err := c.Allocate(ctx, r)
		out[i].Grant = g
		if err != nil {
			out[i].Error = err.Error()
		}
	}
	return out, nil
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
	return newTestBoardFreeAfter(calls, cl, st, time.Millisecond)
}

// newTestBoardFreeAfter is newTestBoard whose handed-back legs' cloud
// relays are freed freeAfter after their 2xx.
func newTestBoardFreeAfter(calls *fakeCalls, cl *fakeCloud, st Store, freeAfter time.Duration) *Board {
	return NewBoard(BoardConfig{Calls: calls, Store: st, FreeAfter: freeAfter,
		Cloud: func() (Cloud, error) {
			if cl == nil {
				return nil, ErrNoCloud
			}
			return cl, nil
		}})
}

// eventually waits (bounded) until cond holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); !cond(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
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
	eventually(t, "every cloud relay freed after the hand-back", func() bool { return cl.count() == 0 })
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
	onCloud := func() bool { return b.Status().OnCloud == 1 }
	setLevel(3)
	eventually(t, "hand-off under pressure", onCloud)
	// A call that starts during the attack goes to the cloud too.
	calls.mu.Lock()
	calls.legs = append(calls.legs, leg("c2", "a", "203.0.113.10:5060"))
	calls.mu.Unlock()
	eventually(t, "the new call handed off", func() bool { return b.Status().OnCloud == 2 })
	// The first call ends on the cloud: its relay is freed.
	calls.end("c1")
	eventually(t, "the ended call's relay freed", func() bool { return cl.count() == 1 })
	setLevel(0)
	eventually(t, "hand-back", func() bool { return b.Status().OnCloud == 0 && cl.count() == 0 })
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

func TestBoardUnansweredLegsRetried(t *testing.T) {
	calls := &fakeCalls{silent: map[string]bool{"203.0.113.5:5060": true}, busy: map[string]bool{"203.0.113.6:5060": true},
		refuse: map[string]bool{"203.0.113.7:5060": true}, release: make(chan struct{}), legs: []call.LegRef{
			leg("c1", "a", "203.0.113.4:5060"), // answers
			leg("c2", "a", "203.0.113.5:5060"), // silent (the flood ate its answer)
			leg("c3", "a", "203.0.113.6:5060"), // busy with another re-INVITE
			leg("c4", "a", "203.0.113.7:5060"), // refuses (488)
		}}
	cl := &batchCloud{fakeCloud: &fakeCloud{live: map[string]RelayRequest{}}}
	b := NewBoard(BoardConfig{Calls: calls, Cloud: func() (Cloud, error) { return cl, nil }, LegTimeout: 20 * time.Millisecond, FreeAfter: time.Millisecond})
	res, err := b.Move(context.Background(), ToCloud, TriggerAPI)
	if err != nil {
		t.Fatal(err)
	}
	// The batch does not wait for the silent party: its re-INVITE goes on.
	if res.Moved != 1 || res.Pending != 1 || res.Failed != 2 {
		t.Fatalf("first batch %+v, want 1 moved, 1 pending, 2 failed", res)
	}
	if cl.batches != 1 || cl.sizes != 4 || cl.count() != 2 {
		t.Fatalf("%d relay batches of %d requests, %d relays live; want 1 batch of 4, 2 live (moved, pending)", cl.batches, cl.sizes, cl.count())
	}
	if !b.retrying(ToCloud) {
		t.Fatal("the busy leg is not waiting for another try")
	}
	if res, _ := b.Move(context.Background(), ToCloud, TriggerRetry); res.Results[0].CallID == "c2" || res.Moved+res.Failed+res.Pending != 1 {
		t.Fatalf("retry while a re-INVITE is in flight: %+v, want only the busy leg tried", res)
	}
	// The silent party's re-INVITE gives up: logged, its relay freed.
	close(calls.release)
	eventually(t, "the silent leg's outcome", func() bool { return len(b.Status().Log) == 5 && cl.count() == 1 })
	if e := b.Status().Log[0]; e.CallID != "c2" || e.OK || e.Error == "" {
		t.Fatalf("log entry of the silent leg: %+v", e)
	}
	// Both now answer: the retry moves them, not the one that refused.
	calls.mu.Lock()
	calls.silent, calls.busy, calls.release = nil, nil, make(chan struct{})
	calls.mu.Unlock()
	res, _ = b.Move(context.Background(), ToCloud, TriggerRetry)
	if res.Moved != 2 || res.Failed != 0 {
		t.Fatalf("retry %+v, want the 2 unanswered legs moved", res)
	}
	if b.retrying(ToCloud) {
		t.Fatal("still retrying after every leg moved or refused")
	}
	if st := b.Status(); !st.Forced || st.OnCloud != 3 {
		t.Fatalf("status %+v: a retry must keep the drill forced, 3 on the cloud", st)
	}
	// Hand-back: a silent party stays on the cloud, relay kept, retried.
	calls.mu.Lock()
	calls.silent = map[string]bool{"203.0.113.4:5060": true}
	calls.mu.Unlock()
	res, _ = b.Move(context.Background(), ToBoard, TriggerAPI)
	if res.Moved != 2 || res.Pending != 1 {
		t.Fatalf("hand-back %+v; want 2 back, 1 pending with its relay", res)
	}
	eventually(t, "the returned legs' relays freed, the pending one's kept", func() bool { return cl.count() == 1 })
	close(calls.release)
	eventually(t, "the slow hand-back's outcome", func() bool { return b.retrying(ToBoard) })
	calls.mu.Lock()
	calls.silent = nil
	calls.mu.Unlock()
	if res, _ = b.Move(context.Background(), ToBoard, TriggerRetry); res.Moved != 1 {
		t.Fatalf("hand-back retry %+v", res)
	}
	eventually(t, "the last relay freed", func() bool { return cl.count() == 0 })
}

func TestBoardCriticalPressureHandsOffAtOnce(t *testing.T) {
	calls := &fakeCalls{legs: []call.LegRef{leg("c1", "a", "203.0.113.9:5060")}}
	cl := &fakeCloud{live: map[string]RelayRequest{}}
	var mu sync.Mutex
	level := 0
	b := NewBoard(BoardConfig{Calls: calls, Cloud: func() (Cloud, error) { return cl, nil },
		Pressure: func() int { mu.Lock(); defer mu.Unlock(); return level },
		HighFor:  time.Hour, LowFor: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	go b.Run(ctx, 5*time.Millisecond)
	mu.Lock()
	level = 2 // high: waits HighFor (an hour)
	mu.Unlock()
	time.Sleep(50 * time.Millisecond)
	if b.Status().OnCloud != 0 {
		t.Fatal("handed off at high pressure before HighFor")
	}
	mu.Lock()
	level = 3
	mu.Unlock()
	for b.Status().OnCloud != 1 {
		if ctx.Err() != nil {
			t.Fatal("critical pressure did not hand off")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestHandBackKeepsCloudRelayForAWhile: a handed-back leg's cloud relay is
// not freed at the party's 2xx: the party may still be sending to the
// cloud until it has taken in the re-INVITE, and those packets must reach
// the board (freeing at once lost 2-3 packets at every hand-back).
func TestHandBackKeepsCloudRelayForAWhile(t *testing.T) {
	calls := &fakeCalls{legs: []call.LegRef{leg("c1", "a", "203.0.113.9:5060")}}
	cl := &fakeCloud{live: map[string]RelayRequest{}}
	b := newTestBoardFreeAfter(calls, cl, nil, time.Hour)
	if res, _ := b.Move(context.Background(), ToCloud, TriggerAPI); res.Moved != 1 || cl.count() != 1 {
		t.Fatalf("to cloud: %+v, %d relays", res, cl.count())
	}
	if res, _ := b.Move(context.Background(), ToBoard, TriggerAPI); res.Moved != 1 {
		t.Fatalf("to board: %+v", res)
	}
	if b.Status().OnCloud != 0 {
		t.Fatalf("status %+v: the leg is back", b.Status())
	}
	if cl.count() != 1 {
		t.Fatalf("%d cloud relays live right after the hand-back, want the leg's still relaying", cl.count())
	}
}
