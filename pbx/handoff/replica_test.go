package handoff

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"hushbox/pbx/call"
	"hushbox/pbx/control"
)

func TestRunReplicationPushesChanges(t *testing.T) {
	var mu sync.Mutex
	state := Snapshot{Registrations: []control.Registration{{Extension: "101"}}}
	var pushed []Snapshot
	snap := func() Snapshot { mu.Lock(); defer mu.Unlock(); return state }
	push := func(_ context.Context, s Snapshot) error {
		mu.Lock()
		pushed = append(pushed, s)
		mu.Unlock()
		return nil
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(pushed) }
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	go RunReplication(ctx, snap, push, 2*time.Millisecond, time.Hour, nil)
	for count() < 1 && ctx.Err() == nil {
		time.Sleep(2 * time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // ten looks at an unchanged state
	if n := count(); n != 1 {
		t.Fatalf("%d pushes of an unchanged state, want 1", n)
	}
	mu.Lock()
	state.Dialogs = []call.DialogState{{CallID: "d1", Leg: "a"}}
	mu.Unlock()
	for count() < 2 && ctx.Err() == nil {
		time.Sleep(2 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(pushed[1].Dialogs) != 1 || pushed[1].Time.IsZero() {
		t.Fatalf("second push %+v, want the new dialog", pushed[1])
	}
}

func TestReplicasKeptAndServed(t *testing.T) {
	st := &memStore{m: map[string]string{}}
	r := NewReplicas(st, nil)
	rt := fakeRouter{http.NewServeMux()}
	r.ServeState(rt)
	body := `{"time":"2026-01-02T03:04:05Z","registrations":[{"extension":"101","contact":"sip:101@10.0.0.5"}],` +
		`"dialogs":[{"call_id":"d1","leg":"a","local_tag":"x","remote_tag":"y","state":"answered","where":"board"}]}`
	w := httptest.NewRecorder()
	rt.mux.ServeHTTP(w, httptest.NewRequest("POST", StatePath, strings.NewReader(body)))
	if w.Code != http.StatusNoContent {
		t.Fatalf("push: %d %s", w.Code, w.Body)
	}
	w = httptest.NewRecorder()
	rt.mux.ServeHTTP(w, httptest.NewRequest("POST", StatePath, strings.NewReader("{not json")))
	if w.Code != http.StatusBadRequest {
		t.Fatalf("bad push: %d", w.Code)
	}
	// A restarted cloud is warm: the store has it.
	l := NewReplicas(st, nil).List()
	if len(l) != 1 || l[0].Board != "cloud" || len(l[0].Dialogs) != 1 || l[0].Dialogs[0].RemoteTag != "y" || l[0].Received.IsZero() {
		t.Fatalf("replicas after a restart: %+v", l)
	}
}
