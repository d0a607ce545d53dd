package peer

import (
	"sync"
	"time"
)

// The pairing endpoint is public, so it is held to a few requests: per
// source sourceBurst at once and one per sourceEvery after, and all sources
// together globalBurst and one per globalEvery. A refused request costs a
// map lookup; only an admitted one with a live code costs a key stretch.
const (
	sourceBurst = 3
	sourceEvery = 20 * time.Second
	globalBurst = 10
	globalEvery = 6 * time.Second
	maxTracked  = 1024
)

// bucket is a token bucket refilled at one token per every.
type bucket struct {
	tokens float64
	at     time.Time
}

func (b *bucket) take(now time.Time, burst int, every time.Duration) bool {
	if b.at.IsZero() {
		b.tokens, b.at = float64(burst), now
	}
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(float64(burst), b.tokens+float64(d)/float64(every))
		b.at = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// full reports whether the bucket has refilled to burst by now.
func (b *bucket) full(now time.Time, burst int, every time.Duration) bool {
	return b.tokens+float64(now.Sub(b.at))/float64(every) >= float64(burst)
}

// rateLimit admits pairing requests per source and overall.
type rateLimit struct {
	mu     sync.Mutex
	now    func() time.Time
	global bucket
	src    map[string]*bucket
}

func newRateLimit(now func() time.Time) *rateLimit {
	return &rateLimit{now: now, src: map[string]*bucket{}}
}

// allow reports whether a request from src may be served now.
func (l *rateLimit) allow(src string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.src[src]
	if b == nil {
		if len(l.src) >= maxTracked {
			// Forget sources that are full again; if none are, the table
			// is under attack: everyone shares the global bucket only.
			for k, v := range l.src {
				if v.full(now, sourceBurst, sourceEvery) {
					delete(l.src, k)
				}
			}
		}
		b = &bucket{}
		if len(l.src) < maxTracked {
			l.src[src] = b
		}
	}
	if !b.take(now, sourceBurst, sourceEvery) {
		return false
	}
	return l.global.take(now, globalBurst, globalEvery)
}
