package digest

import (
	"fmt"
	"testing"
	"time"
)

func TestReplayAccept(t *testing.T) {
	const ttl = time.Minute
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
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
		{"full table refuses new nonces", 2, []step{{"a", 1, 0, true}, {"b", 1, 0, true}, {"c", 1, 0, false}, {"a", 2, 0, true}}},
		{"full table frees after ttl", 2, []step{{"a", 1, 0, true}, {"b", 1, time.Second, true}, {"c", 1, ttl, true}, {"d", 1, ttl, false}, {"d", 1, ttl + time.Second, true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReplay(ttl, tt.max)
			for i, s := range tt.steps {
				if got := r.Accept(s.nonce, s.nc, t0.Add(s.at)); got != s.want {
					t.Fatalf("step %d: Accept(%q, %d) = %v, want %v", i, s.nonce, s.nc, got, s.want)
				}
			}
		})
	}
}

func TestReplayBounded(t *testing.T) {
	const ttl = time.Minute
	r := NewReplay(ttl, 100)
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range 10000 {
		now := t0.Add(time.Duration(i) * time.Second)
		if !r.Accept(fmt.Sprint(i), 1, now) {
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
	for b.Loop() {
		nc++
		r.Accept("nonce", nc, now)
	}
}
