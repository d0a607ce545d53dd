package web

import (
	"sync"
	"time"
)

// Login throttling. A source that fails LoginFailures times within
// LoginWindow is locked out; each further lockout of the same source lasts
// twice as long, up to maxLockout. All sources together are held to
// globalFailures per window with the same doubling backoff, so a botnet
// spreading guesses over many addresses gains little.
const (
	LoginFailures  = 5
	LoginWindow    = 15 * time.Minute
	globalFailures = 50
	maxLockout     = 24 * time.Hour
	// maxSources bounds the per-source table; when full, failures count
	// only globally.
	maxSources = 4096
)

// failures is the record of one source (or of all of them).
type failures struct {
	times  []time.Time // failures within the window
	until  time.Time   // locked out until
	strike uint        // lockouts so far (backoff exponent)
}

// fail records a failure at now and locks out when there are max of them
// in the window.
func (f *failures) fail(now time.Time, max int) {
	f.prune(now)
	f.times = append(f.times, now)
	if len(f.times) >= max {
		d := LoginWindow << min(f.strike, 10)
		if d > maxLockout || d <= 0 {
			d = maxLockout
		}
		f.until = now.Add(d)
		f.strike++
		f.times = f.times[:0]
	}
}

func (f *failures) prune(now time.Time) {
	i := 0
	for i < len(f.times) && now.Sub(f.times[i]) >= LoginWindow {
		i++
	}
	f.times = append(f.times[:0], f.times[i:]...)
}

// idle reports whether the record carries nothing worth keeping.
func (f *failures) idle(now time.Time) bool {
	f.prune(now)
	return len(f.times) == 0 && !now.Before(f.until) && now.Sub(f.until) > maxLockout
}

// limiter throttles password (and setup token) guesses.
type limiter struct {
	mu     sync.Mutex
	now    func() time.Time
	source map[string]*failures
	global failures
}

func newLimiter(now func() time.Time) *limiter {
	return &limiter{now: now, source: make(map[string]*failures)}
}

// allow reports whether src may try now, and if not, for how long it must wait.
func (l *limiter) allow(src string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	wait := time.Duration(0)
	if now.Before(l.global.until) {
		wait = l.global.until.Sub(now)
	}
	if f, ok := l.source[src]; ok && now.Before(f.until) {
		wait = max(wait, f.until.Sub(now))
	}
	return wait == 0, wait
}

// fail records a failed attempt from src.
func (l *limiter) fail(src string) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.global.fail(now, globalFailures)
	f, ok := l.source[src]
	if !ok {
		if len(l.source) >= maxSources {
			for k, v := range l.source {
				if v.idle(now) {
					delete(l.source, k)
				}
			}
		}
		if len(l.source) >= maxSources {
			return
		}
		f = &failures{}
		l.source[src] = f
	}
	f.fail(now, LoginFailures)
}

// succeed forgets src's recent failures (not its strikes: a source that
// keeps guessing between successes still backs off).
func (l *limiter) succeed(src string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if f, ok := l.source[src]; ok {
		f.times = f.times[:0]
	}
}
