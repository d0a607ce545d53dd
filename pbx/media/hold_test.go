package media

import (
	"bytes"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for a logger on another goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestHoldRecorder: holds land in the right bucket, the longest is kept
// with its time, and long holds are logged at most once a second with the
// count of those not logged.
func TestHoldRecorder(t *testing.T) {
	const ms = int64(time.Millisecond)
	base := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC).UnixNano()
	var logs syncBuffer
	r := holdRecorder{log: slog.New(slog.NewTextHandler(&logs, nil))}
	steps := []struct {
		at, held int64 // ms after base, ms
		bucket   int   // index into HoldBounds (len: beyond the last)
	}{
		{0, 0, 0},
		{1, 1, 0},     // exactly 1 ms: "le 1ms"
		{2, 3, 2},     // 3 ms: le 5ms
		{10, 45, 6},   // logged: le 60ms
		{20, 80, 7},   // within a second of the last line: counted, not logged
		{30, -5, 0},   // clock stepped back: no hold
		{1200, 40, 5}, // a second later: logged, "1 more"
		{1300, 2000, len(HoldBounds)},
	}
	want := make([]uint64, len(HoldBounds)+1)
	for _, s := range steps {
		now := base + s.at*ms
		r.record(now-s.held*ms, now)
		want[s.bucket]++
	}
	h := r.snapshot()
	for i := range want {
		if h.Buckets[i] != want[i] {
			t.Errorf("bucket %d: %d holds, want %d (all: %v)", i, h.Buckets[i], want[i], h.Buckets)
		}
	}
	if h.Count != uint64(len(steps)) {
		t.Errorf("count %d, want %d", h.Count, len(steps))
	}
	if h.Max != 2*time.Second || !h.MaxAt.Equal(time.Unix(0, base+1300*ms)) {
		t.Errorf("max %v at %v, want 2s at +1.3s", h.Max, h.MaxAt)
	}
	if want := time.Duration(0+1+3+45+80+0+40+2000) * time.Millisecond; h.Sum != want {
		t.Errorf("sum %v, want %v", h.Sum, want)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d log lines, want 2 (one a second):\n%s", len(lines), logs.String())
	}
	for i, want := range []string{"held_ms=45 from_unix_ms=" + strconv.FormatInt((base-35*ms)/ms, 10) + " more_since_last=0",
		"held_ms=40 from_unix_ms=" + strconv.FormatInt((base+1160*ms)/ms, 10) + " more_since_last=1"} {
		if !strings.Contains(lines[i], `msg="media: relay held packets"`) || !strings.Contains(lines[i], want) {
			t.Errorf("line %d: %s\nwant %s", i, lines[i], want)
		}
	}
}
