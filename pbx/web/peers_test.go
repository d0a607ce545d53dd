package web

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"hushbox/crypto/keys"
	"hushbox/pbx/control"
	"hushbox/pbx/peer"
	"hushbox/pbx/store"
)

// fakePeers is a peer manager that records what the page asks of it.
type fakePeers struct {
	mu       sync.Mutex
	peers    []peer.Status
	issued   []peer.Options
	live     time.Time
	pairErr  error
	pairs    []string // addr code
	removed  []string
	pairHits int
}

func (f *fakePeers) IssueCode(o peer.Options) (peer.Code, time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.issued = append(f.issued, o)
	c, err := peer.NewCode()
	f.live = time.Now().Add(peer.CodeTTL)
	return c, f.live, err
}

func (f *fakePeers) CodeLive() (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.live, !f.live.IsZero()
}

func (f *fakePeers) Pair(_ context.Context, addr, code string, o peer.Options) (peer.Peer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pairs = append(f.pairs, addr+" "+code)
	if f.pairErr != nil {
		return peer.Peer{}, f.pairErr
	}
	id, _ := keys.NewIdentity()
	p := peer.Peer{Name: o.Name, Address: addr, Identity: id.Public(), Role: peer.RoleBoard}
	if o.Trunk {
		p.Trunk = o.Name
	}
	f.peers = append(f.peers, peer.Status{Peer: p})
	return p, nil
}

func (f *fakePeers) Peers() []peer.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]peer.Status(nil), f.peers...)
}

func (f *fakePeers) Peer(name string) (peer.Peer, bool) {
	for _, s := range f.Peers() {
		if s.Name == name {
			return s.Peer, true
		}
	}
	return peer.Peer{}, false
}

func (f *fakePeers) RemovePeer(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, s := range f.peers {
		if s.Name == name {
			f.peers = append(f.peers[:i], f.peers[i+1:]...)
			f.removed = append(f.removed, name)
			return nil
		}
	}
	return peer.ErrNoPeer
}

func (f *fakePeers) Attempts() peer.Attempts { return peer.Attempts{} }
func (f *fakePeers) CertFP() string          { return "AB:CD" }

func (f *fakePeers) PairHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.pairHits++
		f.mu.Unlock()
		w.WriteHeader(http.StatusTeapot)
	})
}

// peersAdmin is what the daemon gives the page: Admin and Peers in one.
type peersAdmin struct {
	control.Admin
	*fakePeers
}

func newPeersEnv(t *testing.T) (*env, *fakePeers) {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "hushbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	live, fp := &fakeLive{}, &fakePeers{}
	s, err := New(Config{Admin: peersAdmin{NewLiveAdmin(control.NewLocal(db), live), fp}, Store: db,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), SetupToken: testToken})
	if err != nil {
		t.Fatal(err)
	}
	s.argon = argonParams{memory: 64, time: 1, threads: 1}
	ts := httptest.NewTLSServer(s.Handler())
	t.Cleanup(ts.Close)
	return &env{t: t, db: db, live: live, srv: s, ts: ts, client: newClient(t, ts), logs: &syncBuffer{}}, fp
}

// The pairing endpoint is public (no session, before setup too); the
// Peers page is not.
func TestPeersRoutesAccess(t *testing.T) {
	e, fp := newPeersEnv(t)
	c := newClient(t, e.ts)
	if r := e.do(c, "POST", peer.PairPath, strings.NewReader("{}"), map[string]string{"Content-Type": "application/json"}); r.StatusCode != http.StatusTeapot || fp.pairHits != 1 {
		t.Fatalf("POST %s before setup = %d, want it handed to the peer manager", peer.PairPath, r.StatusCode)
	}
	if r := e.get(c, "/peers"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("GET /peers without a session = %d, want a redirect", r.StatusCode)
	}
	c, _ = e.ready()
	if r := e.postForm(c, "/peers/code", url.Values{"code_trunk": {"on"}}); r.StatusCode != http.StatusForbidden || len(fp.issued) != 0 {
		t.Fatalf("POST /peers/code without CSRF = %d, issued %d codes", r.StatusCode, len(fp.issued))
	}
	if r := e.get(c, "/peers"); r.StatusCode != http.StatusOK || !strings.Contains(r.body, `href="/peers" aria-current="page"`) {
		t.Fatalf("GET /peers = %d, or no current nav link", r.StatusCode)
	}
}

// Without a peer manager there is no Peers page and no pairing endpoint.
func TestPeersHiddenWithoutManager(t *testing.T) {
	e := newEnv(t)
	c, _ := e.ready()
	if r := e.get(c, "/peers"); r.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /peers without peering = %d, want 404", r.StatusCode)
	}
}

func TestPeersShowCodeOnce(t *testing.T) {
	e, fp := newPeersEnv(t)
	c, csrf := e.ready()
	r := e.postForm(c, "/peers/code", url.Values{"csrf": {csrf}, "code_name": {"cloud"}, "code_trunk": {"on"}, "code_prefix": {"7"}})
	m := regexp.MustCompile(`<code class="secret" id="code">([A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7])</code>`).FindStringSubmatch(r.body)
	if r.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("POST /peers/code = %d, no code shown", r.StatusCode)
	}
	if len(fp.issued) != 1 || fp.issued[0] != (peer.Options{Name: "cloud", Trunk: true, Prefix: "7"}) {
		t.Fatalf("issued with %+v", fp.issued)
	}
	again := e.get(c, "/peers")
	if strings.Contains(again.body, m[1]) || !strings.Contains(again.body, "A pairing code is live until") {
		t.Fatal("the code is shown again on the next visit, or its expiry is not")
	}
}

func TestPeersFormErrors(t *testing.T) {
	e, fp := newPeersEnv(t)
	c, csrf := e.ready()
	if _, err := fp.Pair(context.Background(), "x:1", "c", peer.Options{Name: "taken"}); err != nil {
		t.Fatal(err)
	}
	good, _ := peer.NewCode()
	for _, tc := range []struct {
		name, path string
		form       url.Values
		field, msg string
	}{
		{"code: bad name", "/peers/code", url.Values{"code_name": {"Bad Name"}}, "code_name", "a-z, 0-9"},
		{"code: taken name", "/peers/code", url.Values{"code_name": {"taken"}}, "code_name", "exists already"},
		{"code: bad prefix", "/peers/code", url.Values{"code_prefix": {"9a"}}, "code_prefix", "digits"},
		{"pair: no address", "/peers/pair", url.Values{"code": {good.String()}}, "address", "host or host:port"},
		{"pair: bad address", "/peers/pair", url.Values{"address": {"https://x/"}, "code": {good.String()}}, "address", "host or host:port"},
		{"pair: typo in code", "/peers/pair", url.Values{"address": {"192.0.2.7"}, "code": {"ABCD-EFGH-2"}}, "code", "typo"},
		{"pair: taken name", "/peers/pair", url.Values{"address": {"192.0.2.7"}, "code": {good.String()}, "name": {"taken"}}, "name", "exists already"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.form.Set("csrf", csrf)
			r := e.postForm(c, tc.path, tc.form)
			if r.StatusCode != http.StatusBadRequest {
				t.Fatalf("= %d, want 400", r.StatusCode)
			}
			re := regexp.MustCompile(`<span class="field-error" id="` + tc.field + `-err">([^<]*)</span>`)
			if m := re.FindStringSubmatch(r.body); m == nil || !strings.Contains(m[1], tc.msg) {
				t.Fatalf("no %q error next to field %s", tc.msg, tc.field)
			}
		})
	}
	if len(fp.issued) != 0 || len(fp.pairs) != 1 {
		t.Fatalf("invalid forms reached the manager: %d codes, %d pairings", len(fp.issued), len(fp.pairs)-1)
	}

	// A refusal by the other box shows next to the code, which is cleared.
	fp.pairErr = fmt.Errorf("%w by 192.0.2.7:8443: wrong pairing code", peer.ErrRefused)
	r := e.postForm(c, "/peers/pair", url.Values{"csrf": {csrf}, "address": {"192.0.2.7"}, "code": {good.String()}, "name": {"hq"}})
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, `id="code-err">refused: wrong pairing code`) || strings.Contains(r.body, good.String()) {
		t.Fatalf("refused pairing = %d; want the refusal next to the code and the code not kept", r.StatusCode)
	}
}

func TestPeersPairAndRemove(t *testing.T) {
	e, fp := newPeersEnv(t)
	c, csrf := e.ready()
	code, _ := peer.NewCode()
	r := e.postForm(c, "/peers/pair", url.Values{"csrf": {csrf}, "address": {"192.0.2.7"}, "code": {strings.ToLower(code.String())}, "name": {"hq"}, "trunk": {"on"}})
	if r.StatusCode != http.StatusSeeOther || len(fp.pairs) != 1 || fp.pairs[0] != "192.0.2.7:8443 "+strings.ToLower(code.String()) {
		t.Fatalf("pair = %d, manager got %v", r.StatusCode, fp.pairs)
	}
	page := e.get(c, "/peers")
	if !strings.Contains(page.body, "Paired with hq") || !regexp.MustCompile(`<td>hq</td><td>board</td><td>192\.0\.2\.7:8443</td>`).MatchString(page.body) {
		t.Fatal("the new peer is not listed, or no confirmation")
	}
	if r := e.postForm(c, "/peers/hq/delete", url.Values{"csrf": {csrf}}); r.StatusCode != http.StatusSeeOther || len(fp.removed) != 1 {
		t.Fatalf("delete = %d, removed %v", r.StatusCode, fp.removed)
	}
	if r := e.postForm(c, "/peers/hq/delete", url.Values{"csrf": {csrf}}); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("deleting an unknown peer = %d, want 400", r.StatusCode)
	}
}
