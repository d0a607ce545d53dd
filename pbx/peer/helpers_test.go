package peer

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hushbox/crypto/keys"
	"hushbox/pbx/store"
	"hushbox/pbx/tlscert"
)

// memStore is a Store in memory.
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
	if s.m == nil {
		s.m = map[string]string{}
	}
	s.m[k] = v
	return nil
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeTrunks records the trunks a Manager makes.
type fakeTrunks struct {
	mu     sync.Mutex
	trunks map[string]store.Trunk
}

func (f *fakeTrunks) AddTrunk(_ context.Context, t store.Trunk, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := t.Validate(); err != nil {
		return err
	}
	if _, ok := f.trunks[t.Name]; ok {
		return store.ErrExists
	}
	if f.trunks == nil {
		f.trunks = map[string]store.Trunk{}
	}
	f.trunks[t.Name] = t
	return nil
}

func (f *fakeTrunks) RemoveTrunk(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.trunks[name]; !ok {
		return store.ErrNotFound
	}
	delete(f.trunks, name)
	return nil
}

func (f *fakeTrunks) get(name string) (store.Trunk, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.trunks[name]
	return t, ok
}

// box is one Manager with its web (pairing) server and peer endpoint on
// 127.0.0.1.
type box struct {
	m       *Manager
	st      *memStore
	trunks  *fakeTrunks
	id      keys.PublicKey
	cert    tls.Certificate
	web     *httptest.Server // serves PairPath with the box's certificate
	peerLn  *countingListener
	webAddr string
}

// countingListener counts the connections its peer endpoint accepted.
type countingListener struct {
	net.Listener
	accepted atomic.Int32
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepted.Add(1)
	}
	return c, err
}

func testCert(t *testing.T) tls.Certificate {
	t.Helper()
	c, _, err := tlscert.Ensure(t.TempDir(), "web", []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newBox(t *testing.T, name string, clock *fakeClock) *box {
	t.Helper()
	id, err := keys.NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	b := &box{st: &memStore{}, trunks: &fakeTrunks{}, id: id.Public(), cert: testCert(t)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b.peerLn = &countingListener{Listener: ln}
	now := time.Now
	if clock != nil {
		now = clock.now
	}
	b.m, err = New(Config{Store: b.st, Identity: b.id, Name: name, Certificate: b.cert,
		PeerPort: b.peerLn.Addr().(*net.TCPAddr).Port, SIPPort: 5061, Trunks: b.trunks, Now: now,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), HeartbeatEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST "+PairPath, b.m.PairHandler())
	b.web = httptest.NewUnstartedServer(mux)
	b.web.TLS = &tls.Config{Certificates: []tls.Certificate{b.cert}}
	b.web.StartTLS()
	t.Cleanup(b.web.Close)
	b.webAddr = b.web.Listener.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { b.m.Serve(ctx, b.peerLn); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return b
}

// pairedBoxes is two boxes, b paired with a's code: a names b "b", b
// names a "a".
func pairedBoxes(t *testing.T) (a, b *box) {
	t.Helper()
	a, b = newBox(t, "a", nil), newBox(t, "b", nil)
	code, _, err := a.m.IssueCode(Options{Name: "b"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.m.Pair(ctxT(t), a.webAddr, code.String(), Options{Name: "a"}); err != nil {
		t.Fatal(err)
	}
	return a, b
}

func (b *box) peerPort() string { return strconv.Itoa(b.peerLn.Addr().(*net.TCPAddr).Port) }

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
