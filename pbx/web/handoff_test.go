package web

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"hushbox/pbx/call"
	"hushbox/pbx/control"
	"hushbox/pbx/handoff"
	"hushbox/pbx/store"
)

// fakeHandoff records the moves the page asks for.
type fakeHandoff struct {
	mu    sync.Mutex
	moves []string // to/trigger
	where string
}

func (f *fakeHandoff) HandoffMove(_ context.Context, to, trigger string) (handoff.Result, error) {
	if to != handoff.ToCloud && to != handoff.ToBoard {
		return handoff.Result{}, handoff.ErrBadWhere
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.moves = append(f.moves, to+"/"+trigger)
	f.where = to
	return handoff.Result{To: to, Moved: 2, Results: []handoff.LegResult{}}, nil
}

func (f *fakeHandoff) HandoffStatus() handoff.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return handoff.Status{Where: f.where, Pressure: 2, Log: []handoff.Entry{{CallID: "call-xyz", Leg: "a", To: "cloud", OK: true, MS: 7, Trigger: "api"}}}
}

// cloudLive has one call, handed to the cloud.
type cloudLive struct{ *fakeLive }

func (cloudLive) Calls() []call.Info {
	return []call.Info{{CallID: "c1", From: "101", To: "102", State: "answered", Where: "cloud", Start: time.Now()}}
}

type handoffAdminT struct {
	control.Admin
	*fakeHandoff
}

func newHandoffEnv(t *testing.T) (*env, *fakeHandoff) {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "hushbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	live, fh := &fakeLive{}, &fakeHandoff{where: "board"}
	s, err := New(Config{Admin: handoffAdminT{NewLiveAdmin(control.NewLocal(db), cloudLive{live}), fh}, Store: db,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), SetupToken: testToken})
	if err != nil {
		t.Fatal(err)
	}
	s.argon = argonParams{memory: 64, time: 1, threads: 1}
	ts := httptest.NewTLSServer(s.Handler())
	t.Cleanup(ts.Close)
	return &env{t: t, db: db, live: live, srv: s, ts: ts, client: newClient(t, ts), logs: &syncBuffer{}}, fh
}

func TestHandoffAPI(t *testing.T) {
	e, fh := newHandoffEnv(t)
	c, _ := e.ready()
	csrf := e.sessionCSRF(c)
	post := func(body string) resp {
		return e.do(c, "POST", "/api/handoff", strings.NewReader(body), map[string]string{"Content-Type": "application/json", "X-CSRF-Token": csrf})
	}
	for _, tc := range []struct {
		body string
		code int
	}{
		{`{"to":"cloud"}`, http.StatusOK},
		{`{"to":"board"}`, http.StatusOK},
		{`{"to":"mars"}`, http.StatusBadRequest},
		{`{"to":"cloud","x":1}`, http.StatusBadRequest},
		{`not json`, http.StatusBadRequest},
	} {
		r := post(tc.body)
		if r.StatusCode != tc.code {
			t.Errorf("POST %s: %d %s, want %d", tc.body, r.StatusCode, r.body, tc.code)
		}
		if tc.code == http.StatusOK {
			var res handoff.Result
			if err := json.Unmarshal([]byte(r.body), &res); err != nil || res.Moved != 2 {
				t.Errorf("POST %s: answer %q, want a Result", tc.body, r.body)
			}
		}
	}
	fh.mu.Lock()
	moves := strings.Join(fh.moves, " ")
	fh.mu.Unlock()
	if moves != "cloud/api board/api" {
		t.Fatalf("moves %q", moves)
	}
	r := e.get(c, "/api/handoff")
	var st handoff.Status
	if r.StatusCode != 200 || json.Unmarshal([]byte(r.body), &st) != nil || st.Where != "board" || st.Pressure != 2 || len(st.Log) != 1 {
		t.Fatalf("GET /api/handoff: %d %s", r.StatusCode, r.body)
	}
	if r := e.get(c, "/api/calls"); !strings.Contains(r.body, `"where":"cloud"`) {
		t.Fatalf("/api/calls has no where: %s", r.body)
	}
	// Without a session: refused.
	anon := newClient(t, e.ts)
	if r := e.do(anon, "POST", "/api/handoff", strings.NewReader(`{"to":"cloud"}`), map[string]string{"Content-Type": "application/json"}); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous POST /api/handoff: %d", r.StatusCode)
	}
}

func TestHandoffPage(t *testing.T) {
	e, fh := newHandoffEnv(t)
	c, _ := e.ready()
	r := e.get(c, "/handoff")
	if r.StatusCode != 200 || !strings.Contains(r.body, "call-xyz") || !strings.Contains(r.body, `id="to-cloud"`) {
		t.Fatalf("hand-off page: %d\n%s", r.StatusCode, r.body)
	}
	r = e.postForm(c, "/handoff", url.Values{"csrf": {e.sessionCSRF(c)}, "to": {"cloud"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/handoff" {
		t.Fatalf("drill from the page: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if r = e.get(c, "/handoff"); !strings.Contains(r.body, "Moved 2 call leg(s) to the cloud") {
		t.Fatalf("no outcome shown after the drill:\n%s", r.body)
	}
	fh.mu.Lock()
	defer fh.mu.Unlock()
	if len(fh.moves) != 1 {
		t.Fatalf("moves %v", fh.moves)
	}
	if r := e.get(c, "/"); !strings.Contains(r.body, "answered · cloud") {
		t.Fatal("the dashboard does not say the call is on the cloud")
	}
}

func TestHandoffHiddenWithout(t *testing.T) {
	e := newEnv(t)
	c, _ := e.ready()
	if r := e.get(c, "/api/handoff"); r.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /api/handoff without a hand-off: %d, want 404", r.StatusCode)
	}
}

// cloudHandoff is the cloud's side: relays and replicas, no moves.
type cloudHandoff struct{}

func (cloudHandoff) HandoffMove(context.Context, string, string) (handoff.Result, error) {
	return handoff.Result{}, handoff.ErrIsCloud
}

func (cloudHandoff) HandoffStatus() handoff.Status {
	return handoff.Status{Where: "cloud",
		Relays: []handoff.RelayInfo{{RelayGrant: handoff.RelayGrant{WAN: "198.51.100.1:30002", Peer: "198.51.100.1:30004"}, CallID: "dlg-relayed", Owner: "board1", PartyToBoard: 42}},
		Replicas: []handoff.Snapshot{{Board: "board1", Time: time.Now(),
			Dialogs: []call.DialogState{{CallID: "dlg-replicated", Leg: "a", State: "answered", Where: "board"}}}}}
}

type cloudAdminT struct {
	control.Admin
	cloudHandoff
}

func TestHandoffCloudPage(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "hushbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	live := &fakeLive{}
	s, err := New(Config{Admin: cloudAdminT{NewLiveAdmin(control.NewLocal(db), live), cloudHandoff{}}, Store: db, Role: "cloud",
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), SetupToken: testToken})
	if err != nil {
		t.Fatal(err)
	}
	s.argon = argonParams{memory: 64, time: 1, threads: 1}
	ts := httptest.NewTLSServer(s.Handler())
	t.Cleanup(ts.Close)
	e := &env{t: t, db: db, live: live, srv: s, ts: ts, client: newClient(t, ts), logs: &syncBuffer{}}
	c, _ := e.ready()
	r := e.get(c, "/handoff")
	for _, want := range []string{"dlg-relayed", "dlg-replicated", "Board board1", "cloud peer"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("cloud hand-off page lacks %q", want)
		}
	}
	if strings.Contains(r.body, `id="to-cloud"`) {
		t.Error("the cloud shows hand-off buttons")
	}
	res := e.do(c, "POST", "/api/handoff", strings.NewReader(`{"to":"cloud"}`), map[string]string{"Content-Type": "application/json", "X-CSRF-Token": e.sessionCSRF(c)})
	if res.StatusCode != http.StatusConflict {
		t.Fatalf("POST /api/handoff on the cloud: %d, want 409", res.StatusCode)
	}
}
