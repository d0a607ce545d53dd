package handoff

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkBoardTickBooks is the board's own bookkeeping in one pressure
// tick with twenty answered calls (forty legs) on the cloud: the sweep of
// ended calls and the checks for legs to move or retry. It runs four times
// a second for as long as the daemon does, so what it allocates sets how
// often a loaded board collects garbage (each collection's mark work is a
// burst of CPU a CPU-capped board pays for in relay latency).
func BenchmarkBoardTickBooks(b *testing.B) {
	calls := &fakeCalls{}
	for i := range 20 {
		id := fmt.Sprintf("call-%02d@203.0.113.9", i)
		calls.legs = append(calls.legs, leg(id, "a", "203.0.113.9:5060"), leg(id, "b", "192.168.1.20:5060"))
	}
	bd := newTestBoard(calls, &fakeCloud{}, &memStore{})
	for _, l := range calls.legs {
		bd.moved[legKey(l)] = "relay-" + l.CallID
		bd.retry[legKey(l)] = true
	}
	bd.where = ToCloud
	legs := calls.HandoffLegs()
	ctx := context.Background()
	live := map[legID]bool{}
	b.ReportAllocs()
	for b.Loop() {
		legs = calls.AppendHandoffLegs(legs[:0])
		clear(live)
		bd.sweepLegs(ctx, legs, live)
		bd.pendingLegs(ToCloud, legs)
		bd.retryingLegs(ToCloud, legs)
	}
}
