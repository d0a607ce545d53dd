package digest

import (
	"testing"
	"time"
)

// mint makes a genuine nonce issued at t, named for readable tests.
func mint(t0 time.Time, at time.Duration) string {
	return NewNonces(make([]byte, 32), time.Hour).New(t0.Add(at))
}

func TestReplayAccept(t *testing.T) {
	const ttl = time.Minute
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	// Nonces a, b, c, d issued one after another.
	names := map[string]string{}
	for i, n := range []string{"a", "b", "c", "d"} {
		names[n] = mint(t0, time.Duration(i)*time.Millisecond)
	}
	type step struct {
		nonce string
		nc    uint64
		at    time.Duration
		want  bool
	}
	tests := []struct {
		name  string
		max   int
		steps []step
	}{
		{"increasing nc accepted", 10, []step{{"a", 1, 0, true}, {"a", 2, 0, true}, {"a", 5, 0, true}}},
		{"same nc replayed", 10, []step{{"a", 1, 0, true}, {"a", 1, 0, false}}},
		{"lower nc replayed", 10, []step{{"a", 3, 0, true}, {"a", 2, 0, false}, {"a", 4, 0, true}}},
		{"nonces independent", 10, []step{{"a", 1, 0, true}, {"b", 1, 0, true}, {"a", 2, 0, true}, {"b", 1, 0, false}}},
		{"no qop: nonce usable once", 10, []step{{"a", 0, 0, true}, {"a", 0, 0, false}}},
		{"entry forgotten after ttl", 10, []step{{"a", 5, 0, true}, {"a", 1, ttl, true}}},
		// A full table forgets its oldest entry, and with it every nonce
		// issued before that entry's first use: a remembered nonce still
		// counts, a forgotten one can never be replayed, a fresh one passes.
		{"full table: oldest forgotten, never replayable", 2, []step{
			{"a", 1, 0, true}, {"b", 1, time.Second, true}, {"c", 1, 2 * time.Second, true},
			{"b", 2, 2 * time.Second, true}, {"a", 2, 2 * time.Second, false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReplay(ttl, tt.max)
			for i, s := range tt.steps {
				if got := r.Accept(names[s.nonce], s.nc, t0.Add(s.at)); got != s.want {
					t.Fatalf("step %d: Accept(%q, %d) = %v, want %v", i, s.nonce, s.nc, got, s.want)
				}
			}
		})
	}
}

// A flood of valid logins fills the table; fresh nonces (issued after the
// forgotten ones were used) are still accepted: nobody is locked out.
func TestReplayFullTableNoLockout(t *testing.T) {
	const ttl = 5 * time.Minute
	r := NewReplay(ttl, 100)
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range 5000 {
		now := t0.Add(time.Duration(i) * time.Millisecond)
		if !r.Accept(mint(now, -time.Microsecond), 1, now) {
			t.Fatalf("fresh nonce %d refused with %d entries", i, r.Len())
		}
		if r.Len() > 100 {
			t.Fatalf("%d entries kept, cap 100", r.Len())
		}
	}
	// An old nonce that was forgotten is refused.
	if r.Accept(mint(t0, 0), 2, t0.Add(6*time.Second)) {
		t.Fatal("a forgotten nonce was accepted again")
	}
}

func TestReplayBounded(t *testing.T) {
	const ttl = time.Minute
	r := NewReplay(ttl, 100)
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range 10000 {
		now := t0.Add(time.Duration(i) * time.Second)
		if !r.Accept(mint(now, -time.Millisecond), 1, now) {
			t.Fatalf("nonce %d refused with %d entries", i, r.Len())
		}
		if r.Len() > 61 {
			t.Fatalf("%d entries kept, want at most 61 with a one-minute ttl", r.Len())
		}
	}
	if c := cap(r.queue); c > 256 {
		t.Errorf("queue capacity grew to %d", c)
	}
}

func BenchmarkReplayAccept(b *testing.B) {
	r := NewReplay(time.Minute, 0)
	now := time.Now()
	var nc uint64
	nonce := mint(now, 0)
	for b.Loop() {
		nc++
		r.Accept(nonce, nc, now)
	}
}
