package guard

import (
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// clock is a fake clock the tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// memStore is the settings part of the store, in memory.
type memStore struct {
	mu sync.Mutex
	m  map[string]string
}

func newMemStore() *memStore { return &memStore{m: map[string]string{}} }

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

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newTestGuard(t testing.TB, c *clock, st Store) *Guard {
	t.Helper()
	cfg := Config{Now: c.Now, Log: quietLog()}
	if st != nil {
		cfg.Store = st
	}
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

var (
	stranger  = netip.MustParseAddr("203.0.113.7")
	stranger2 = netip.MustParseAddr("198.51.100.9")
	lanPhone  = netip.MustParseAddr("192.168.1.20")
)
