package handoff

import (
	"context"
	"errors"
	"testing"
	"time"

	"hushbox/pbx/call"
)

// A drill asked for while an automatic batch runs waits for that batch
// instead of failing; the automatic triggers themselves never queue up.
func TestMoveWaitsForRunningBatch(t *testing.T) {
	calls := &fakeCalls{legs: []call.LegRef{leg("c1", "a", "203.0.113.9:5060")}}
	b := newTestBoard(calls, &fakeCloud{live: map[string]RelayRequest{}}, nil)
	b.run.Lock() // a batch is running

	if _, err := b.Move(context.Background(), ToCloud, TriggerRetry); !errors.Is(err, ErrRunning) {
		t.Fatalf("retry during a batch: %v, want ErrRunning", err)
	}
	short, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := b.Move(short, ToCloud, TriggerAPI); !errors.Is(err, ErrRunning) {
		t.Fatalf("API request whose deadline passes during the batch: %v, want ErrRunning", err)
	}

	go func() {
		time.Sleep(50 * time.Millisecond)
		b.run.Unlock() // the batch ends
	}()
	ctx, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	res, err := b.Move(ctx, ToCloud, TriggerButton)
	if err != nil || res.Moved != 1 {
		t.Fatalf("button pressed during a batch: %+v %v, want the call moved once the batch ended", res, err)
	}
}
