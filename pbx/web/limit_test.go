package web

import (
	"fmt"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	ck := &clock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	for _, tc := range []struct {
		name string
		run  func(l *limiter) bool // reports whether 1.2.3.4 may try at the end
		want bool
	}{
		{"fresh source", func(l *limiter) bool { ok, _ := l.allow("1.2.3.4"); return ok }, true},
		{"four failures", func(l *limiter) bool {
			for i := 0; i < LoginFailures-1; i++ {
				l.fail("1.2.3.4")
			}
			ok, _ := l.allow("1.2.3.4")
			return ok
		}, true},
		{"five failures lock out", func(l *limiter) bool {
			for i := 0; i < LoginFailures; i++ {
				l.fail("1.2.3.4")
			}
			ok, _ := l.allow("1.2.3.4")
			return ok
		}, false},
		{"failures spread beyond the window", func(l *limiter) bool {
			for i := 0; i < LoginFailures*2; i++ {
				l.fail("1.2.3.4")
				ck.Add(LoginWindow / 4)
			}
			ok, _ := l.allow("1.2.3.4")
			return ok
		}, true},
		{"another source's failures", func(l *limiter) bool {
			for i := 0; i < LoginFailures; i++ {
				l.fail("5.6.7.8")
			}
			ok, _ := l.allow("1.2.3.4")
			return ok
		}, true},
		{"success forgets failures", func(l *limiter) bool {
			for i := 0; i < LoginFailures-1; i++ {
				l.fail("1.2.3.4")
			}
			l.succeed("1.2.3.4")
			l.fail("1.2.3.4")
			ok, _ := l.allow("1.2.3.4")
			return ok
		}, true},
		{"many sources lock out everyone", func(l *limiter) bool {
			for i := 0; i < globalFailures; i++ {
				l.fail(fmt.Sprintf("10.0.%d.%d", i/250, i%250))
			}
			ok, _ := l.allow("1.2.3.4")
			return ok
		}, false},
		{"lockout ends", func(l *limiter) bool {
			for i := 0; i < LoginFailures; i++ {
				l.fail("1.2.3.4")
			}
			ck.Add(LoginWindow + time.Second)
			ok, _ := l.allow("1.2.3.4")
			return ok
		}, true},
		{"second lockout lasts longer", func(l *limiter) bool {
			for round := 0; round < 2; round++ {
				for i := 0; i < LoginFailures; i++ {
					l.fail("1.2.3.4")
				}
				ck.Add(LoginWindow + time.Second)
			}
			ok, _ := l.allow("1.2.3.4")
			return ok
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLimiter(ck.Now)
			if got := tc.run(l); got != tc.want {
				t.Fatalf("allowed = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestLimiterBoundsSources(t *testing.T) {
	ck := &clock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := newLimiter(ck.Now)
	for i := 0; i < maxSources+100; i++ {
		l.fail(fmt.Sprintf("src-%d", i))
	}
	if n := len(l.source); n > maxSources {
		t.Fatalf("%d sources kept, bound %d", n, maxSources)
	}
}
