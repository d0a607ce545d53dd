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
// with its time, and a batch with a long hold is logged with the batch's
// longest (the stall), at most once a second, the batches not logged
// counted in the next line.
func TestHoldRecorder(t *testing.T) {
	const ms = int64(time.Millisecond)
	base := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC).UnixNano()
	var logs syncBuffer
	r := holdRecorder{log: slog.New(slog.NewTextHandler(&logs, nil))}
	type read struct{ at, held int64 } // ms after base, ms
	batches := []struct {
		reads   []read
		buckets []int // index into HoldBounds of each read's hold (len: beyond the last)
	}{
		{[]read{{0, 0}, {1, 1}, {2, 3}}, []int{0, 0, 2}},      // 1 ms is "le 1ms"; nothing logged
		{[]read{{10, 45}, {10, 70}, {11, 5}}, []int{6, 7, 2}}, // logged: held_ms=70
		{[]read{{20, 80}}, []int{7}},                          // within a second: counted
		{[]read{{30, -5}}, []int{0}},                          // clock stepped back: no hold
		{[]read{{500, 200}, {501, 50}}, []int{8, 6}},          // counted: their_max_ms=200
		{[]read{{1200, 40}}, []int{5}},                        // logged: 2 more since, their max 200
		{[]read{{1300, 2000}}, []int{len(HoldBounds)}},        // within a second of the last line
	}
	want := make([]uint64, len(HoldBounds)+1)
	var count uint64
	var sum int64
	for _, b := range batches {
		for i, rd := range b.reads {
			now := base + rd.at*ms
			r.record(now-rd.held*ms, now)
			want[b.buckets[i]]++
			count++
			sum += max(rd.held, 0)
		}
		r.endBatch()
	}
	h := r.snapshot()
	for i := range want {
		if h.Buckets[i] != want[i] {
			t.Errorf("bucket %d: %d holds, want %d (all: %v)", i, h.Buckets[i], want[i], h.Buckets)
		}
	}
	if h.Count != count || h.Sum != time.Duration(sum)*time.Millisecond {
		t.Errorf("count %d sum %v, want %d and %v ms", h.Count, h.Sum, count, sum)
	}
	if h.Max != 2*time.Second || !h.MaxAt.Equal(time.Unix(0, base+1300*ms)) {
		t.Errorf("max %v at %v, want 2s at +1.3s", h.Max, h.MaxAt)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d log lines, want 2 (one a second):\n%s", len(lines), logs.String())
	}
	for i, want := range []string{
		"held_ms=70 from_unix_ms=" + strconv.FormatInt((base-60*ms)/ms, 10) + " more_since_last=0 their_max_ms=0",
		"held_ms=40 from_unix_ms=" + strconv.FormatInt((base+1160*ms)/ms, 10) + " more_since_last=2 their_max_ms=200",
	} {
		if !strings.Contains(lines[i], `msg="media: relay held packets"`) || !strings.Contains(lines[i], want) {
			t.Errorf("line %d: %s\nwant %s", i, lines[i], want)
		}
	}
}
