package peer

import (
	"testing"
	"time"
)

func TestIssuerSingleUseAndExpiry(t *testing.T) {
	clock := newClock()
	i := &issuer{now: clock.now}
	if _, ok := i.take(); ok {
		t.Fatal("a code was taken before any was issued")
	}
	c, exp, err := i.issue(Options{Name: "office"})
	if err != nil {
		t.Fatal(err)
	}
	if want := clock.now().Add(CodeTTL); !exp.Equal(want) {
		t.Fatalf("expires %v, want %v", exp, want)
	}
	if e, ok := i.live(); !ok || !e.Equal(exp) {
		t.Fatalf("live() = %v %v", e, ok)
	}
	got, ok := i.take()
	if !ok || got.code != c || got.opts.Name != "office" {
		t.Fatalf("take() = %+v %v, want the code issued", got, ok)
	}
	if _, ok := i.take(); ok {
		t.Fatal("a code served a second attempt")
	}
	if _, ok := i.live(); ok {
		t.Fatal("a used code is still shown as live")
	}

	// A code taken one second before expiry works; at expiry it does not.
	if _, _, err := i.issue(Options{}); err != nil {
		t.Fatal(err)
	}
	clock.add(CodeTTL - time.Second)
	if _, ok := i.take(); !ok {
		t.Fatal("code refused before its expiry")
	}
	if _, _, err := i.issue(Options{}); err != nil {
		t.Fatal(err)
	}
	clock.add(CodeTTL)
	if _, ok := i.take(); ok {
		t.Fatal("expired code accepted")
	}

	// A new code replaces the old one.
	c1, _, _ := i.issue(Options{})
	c2, _, _ := i.issue(Options{})
	got, ok = i.take()
	if !ok || got.code != c2 || c1 == c2 {
		t.Fatalf("after two issues take() = %q, want the second %q", got.code, c2)
	}
}

func TestRateLimit(t *testing.T) {
	clock := newClock()
	l := newRateLimit(clock.now)
	for k := range sourceBurst {
		if !l.allow("192.0.2.1") {
			t.Fatalf("request %d of a burst refused", k+1)
		}
	}
	if l.allow("192.0.2.1") {
		t.Fatal("request beyond the per-source burst allowed")
	}
	if !l.allow("192.0.2.2") {
		t.Fatal("another source refused")
	}
	clock.add(sourceEvery)
	if !l.allow("192.0.2.1") {
		t.Fatal("source still refused after the refill period")
	}
	// All sources together: globalBurst in all (some used above).
	n := 0
	for k := range 100 {
		if l.allow("198.51.100." + string(rune('0'+k%10)) + string(rune('0'+k/10))) {
			n++
		}
	}
	if n >= globalBurst {
		t.Fatalf("%d requests from many sources allowed at once, want fewer than %d", n, globalBurst)
	}
}

func TestStatusRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		rtt  time.Duration
		want string
	}{
		{0, ""},
		{123456 * time.Nanosecond, "120µs"},
		{12345678 * time.Nanosecond, "12.3ms"},
	} {
		if got := (Status{RTT: tc.rtt}).RoundTrip(); got != tc.want {
			t.Errorf("RoundTrip(%v) = %q, want %q", tc.rtt, got, tc.want)
		}
	}
}
