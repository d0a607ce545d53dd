package web

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"hushbox/pbx/call"
	"hushbox/pbx/control"
	"hushbox/pbx/store"
)

const (
	testToken    = "setup-token-0123456789"
	testPassword = "correct horse battery"
)

// fakeLive is the daemon's live view: two bindings of 101, one call.
type fakeLive struct {
	mu      sync.Mutex
	removed []string
	changed int
}

func (f *fakeLive) Registrations() []control.Registration {
	return []control.Registration{
		{Extension: "101", Contact: "sip:101@127.0.0.1:5070", Source: "127.0.0.1:5070", Transport: "udp", Expires: time.Now().Add(time.Minute)},
		{Extension: "101", Contact: "sip:101@127.0.0.1:5072", Source: "127.0.0.1:5072", Transport: "tcp", Expires: time.Now().Add(time.Minute)},
	}
}
func (f *fakeLive) RegistrationCount(ext string) int {
	if ext == "101" {
		return 2
	}
	return 0
}
func (f *fakeLive) ExtensionRemoved(ext string) {
	f.mu.Lock()
	f.removed = append(f.removed, ext)
	f.mu.Unlock()
}
func (f *fakeLive) Calls() []call.Info {
	return []call.Info{{CallID: "c1", From: "101", To: "201", State: "answered", Codec: "PCMU", SAS: "k7m2",
		Start: time.Now().Add(-time.Minute), PacketsAtoB: 3000, PacketsBtoA: 2990}}
}
func (f *fakeLive) Identity() string          { return "hbx1:test-identity" }
func (f *fakeLive) TrunkStatus(string) string { return "up" }
func (f *fakeLive) TrunksChanged() {
	f.mu.Lock()
	f.changed++
	f.mu.Unlock()
}

// clock is a settable time source safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a web server over a real store, served by httptest over TLS, and
// a browser-like client (cookie jar, redirects not followed).
type env struct {
	t      testing.TB
	db     *store.DB
	live   *fakeLive
	srv    *Server
	ts     *httptest.Server
	client *http.Client
	clock  *clock
	logs   *syncBuffer
}

// syncBuffer collects log output from server goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func newEnv(t testing.TB) *env {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "hushbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	live := &fakeLive{}
	logs := &syncBuffer{}
	s, err := New(Config{
		Admin:       NewLiveAdmin(control.NewLocal(db), live),
		Store:       db,
		Version:     "v0.test",
		Role:        "board",
		SIPMessages: func() uint64 { return 4321 },
		Log:         slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		SetupToken:  testToken,
	})
	if err != nil {
		t.Fatal(err)
	}
	ck := &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	s.now = ck.Now
	s.cfg.Started = ck.Now().Add(-90 * time.Minute)
	s.argon = argonParams{memory: 64, time: 1, threads: 1} // fast; real cost tested in password_test.go
	ts := httptest.NewTLSServer(s.Handler())
	t.Cleanup(ts.Close)
	return &env{t: t, db: db, live: live, srv: s, ts: ts, client: newClient(t, ts), clock: ck, logs: logs}
}

// newClient is a fresh browser: its own cookie jar.
func newClient(t testing.TB, ts *httptest.Server) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := ts.Client()
	return &http.Client{Transport: c.Transport, Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type resp struct {
	*http.Response
	body string
}

func (e *env) do(c *http.Client, method, path string, body io.Reader, hdr map[string]string) resp {
	e.t.Helper()
	req, err := http.NewRequest(method, e.ts.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	r, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp{r, string(b)}
}

func (e *env) get(c *http.Client, path string) resp { return e.do(c, "GET", path, nil, nil) }

func (e *env) postForm(c *http.Client, path string, v url.Values) resp {
	return e.do(c, "POST", path, strings.NewReader(v.Encode()), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
var csrfMeta = regexp.MustCompile(`<meta name="csrf-token" content="([^"]*)">`)

// formToken GETs a page and returns the CSRF token of its first form.
func (e *env) formToken(c *http.Client, path string) string {
	e.t.Helper()
	r := e.get(c, path)
	m := csrfInput.FindStringSubmatch(r.body)
	if m == nil {
		e.t.Fatalf("GET %s (%d): no CSRF input in page", path, r.StatusCode)
	}
	return m[1]
}

func (e *env) setup(c *http.Client, token, pw string) resp {
	e.t.Helper()
	return e.postForm(c, "/setup", url.Values{"csrf": {e.formToken(c, "/setup")}, "token": {token}, "password": {pw}, "confirm": {pw}})
}

func (e *env) login(c *http.Client, pw string) resp {
	e.t.Helper()
	return e.postForm(c, "/login", url.Values{"csrf": {e.formToken(c, "/login")}, "password": {pw}})
}

// ready sets the admin password and returns a logged-in client and its
// session's CSRF token.
func (e *env) ready() (*http.Client, string) {
	e.t.Helper()
	c := newClient(e.t, e.ts)
	if r := e.setup(c, testToken, testPassword); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/" {
		e.t.Fatalf("setup: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	return c, e.sessionCSRF(c)
}

// sessionCSRF reads the session's CSRF token from the dashboard's meta tag.
func (e *env) sessionCSRF(c *http.Client) string {
	e.t.Helper()
	r := e.get(c, "/")
	m := csrfMeta.FindStringSubmatch(r.body)
	if r.StatusCode != http.StatusOK || m == nil || m[1] == "" {
		e.t.Fatalf("dashboard: %d, no CSRF meta tag", r.StatusCode)
	}
	return m[1]
}
