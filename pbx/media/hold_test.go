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
// with its time, and a batch with a hold of HoldLog or more is logged with
// the batch's longest (the stall): five lines at once, then one a second,
// the batches not logged counted in the next line; Info below HoldWarn,
// Warn from it.
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
		{[]read{{10, 45}, {10, 70}, {11, 5}}, []int{6, 7, 2}}, // line 1: held_ms=70, Warn
		{[]read{{20, 25}}, []int{5}},                          // line 2: Info
		{[]read{{30, -5}}, []int{0}},                          // clock stepped back: no hold
		{[]read{{40, 19}}, []int{4}},                          // under HoldLog: no line
		{[]read{{50, 30}}, []int{5}},                          // line 3
		{[]read{{60, 30}}, []int{5}},                          // line 4
		{[]read{{70, 30}}, []int{5}},                          // line 5: the burst is used up
		{[]read{{80, 200}}, []int{8}},                         // not logged
		{[]read{{90, 50}}, []int{6}},                          // not logged
		{[]read{{1200, 21}}, []int{5}},                        // line 6, a second later: 2 more, their max 200, Warn
		{[]read{{1300, 2000}}, []int{len(HoldBounds)}},        // not logged (0.1 token)
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
	from := func(at int64) string { return strconv.FormatInt((base+at*ms)/ms, 10) }
	wantLines := []string{
		"level=WARN msg=\"media: relay held packets\" held_ms=70 from_unix_ms=" + from(-60) + " more_since_last=0 their_max_ms=0",
		"level=INFO msg=\"media: relay held packets\" held_ms=25 from_unix_ms=" + from(-5) + " more_since_last=0 their_max_ms=0",
		"level=INFO msg=\"media: relay held packets\" held_ms=30 from_unix_ms=" + from(20) + " more_since_last=0",
		"level=INFO msg=\"media: relay held packets\" held_ms=30 from_unix_ms=" + from(30) + " more_since_last=0",
		"level=INFO msg=\"media: relay held packets\" held_ms=30 from_unix_ms=" + from(40) + " more_since_last=0",
		"level=WARN msg=\"media: relay held packets\" held_ms=21 from_unix_ms=" + from(1179) + " more_since_last=2 their_max_ms=200",
	}
	if len(lines) != len(wantLines) {
		t.Fatalf("%d log lines, want %d:\n%s", len(lines), len(wantLines), logs.String())
	}
	for i, want := range wantLines {
		if !strings.Contains(lines[i], want) {
			t.Errorf("line %d: %s\nwant %s", i, lines[i], want)
		}
	}
}
