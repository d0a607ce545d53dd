package main

import (
	"bufio"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"hushbox/pbx/media"
	"hushbox/pbx/scrambler"
	"hushbox/pbx/srtp"
)

// runRelay is the hushbox side of the relay benchmark: a process holding
// one pbx/media.Relay with -calls sessions (the same code the daemon runs
// for every call), optionally with the scrambler hook or SRTP on both legs.
// It prints "session A_PORT B_PORT" per session, then "ready", and relays
// until its standard input closes. Legs latch on the first packet (the
// load generator sends from both ends).
func runRelay(args []string) error {
	fs := flag.NewFlagSet("relay", flag.ContinueOnError)
	calls := fs.Int("calls", 10, "sessions")
	ports := fs.String("ports", "30000-39999", "port range")
	useSRTP := fs.Bool("srtp", false, "SRTP (AES_CM_128_HMAC_SHA1_80) on both legs")
	scramble := fs.Bool("scramble", false, "scrambler hook: scramble A->B, descramble B->A")
	gcEvery := fs.Duration("gc-every", 0, "force a garbage collection this often (0: never)")
	liveMB := fs.Int("live-mb", 4, "live heap for the collections to mark, MB")
	burstEvery := fs.Duration("burst-every", 0, "start a burst of CPU work this often (0: never)")
	burstWork := fs.Int("burst-work", 4000, "SHA-256 hashes of 1 KiB per goroutine of a burst (about 3 us each on amd64)")
	burstGoroutines := fs.Int("burst-goroutines", 1, "goroutines per burst")
	if err := fs.Parse(args); err != nil {
		return err
	}
	lo, hi, err := parseRange(*ports)
	if err != nil {
		return err
	}
	r, err := media.NewRelay(media.Config{BindIP: netip.MustParseAddr("127.0.0.1"), PortMin: lo, PortMax: hi})
	if err != nil {
		return fmt.Errorf("relay: %w", err)
	}
	defer r.Close()
	out := bufio.NewWriter(os.Stdout)
	for i := 0; i < *calls; i++ {
		s, err := r.NewSession()
		if err != nil {
			return fmt.Errorf("relay: session %d: %w", i, err)
		}
		if *useSRTP {
			for _, leg := range []struct {
				l    *media.Leg
				name string
			}{{s.A(), "A"}, {s.B(), "B"}} {
				k := srtp.Keys{Remote: benchKey(i, leg.name, "party"), Local: benchKey(i, leg.name, "relay")}
				if err := leg.l.SetSRTP(&k); err != nil {
					return fmt.Errorf("relay: srtp: %w", err)
				}
			}
		}
		if *scramble {
			s.SetHook(scrambler.New(media.AtoB, scrambleKey, scrambleKey))
		}
		fmt.Fprintf(out, "session %d %d\n", s.A().Port(), s.B().Port())
	}
	if *gcEvery > 0 {
		stop := collectEvery(*gcEvery, *liveMB)
		defer stop()
	}
	if *burstEvery > 0 {
		stop := burstsEvery(*burstEvery, *burstGoroutines, *burstWork)
		defer stop()
	}
	fmt.Fprintln(out, "ready")
	if err := out.Flush(); err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
	return nil
}

// parseRange reads "LO-HI".
func parseRange(s string) (lo, hi int, err error) {
	a, b, ok := strings.Cut(s, "-")
	lo, err1 := strconv.Atoi(a)
	hi, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || lo < 1 || hi > 65535 || lo > hi {
		return 0, 0, fmt.Errorf("port range %q", s)
	}
	return lo, hi, nil
}

// parseSessionLine reads one "session A_PORT B_PORT" line of the harness.
func parseSessionLine(line string) (a, b int, err error) {
	f := strings.Fields(line)
	if len(f) != 3 || f[0] != "session" {
		return 0, 0, fmt.Errorf("harness line %q", line)
	}
	a, err1 := strconv.Atoi(f[1])
	b, err2 := strconv.Atoi(f[2])
	if err1 != nil || err2 != nil || a < 1 || a > 65535 || b < 1 || b > 65535 {
		return 0, 0, fmt.Errorf("harness line %q", line)
	}
	return a, b, nil
}

// node is a small heap object with a pointer: a live heap of these costs
// the collector's mark phase what the daemon's (dialogs, bindings, parsed
// messages) does.
type node struct {
	next *node
	pad  [48]byte
}

// collectEvery keeps liveMB of linked nodes alive and forces a garbage
// collection every period until the returned stop is called: the relay
// then runs through as many collections in a minute as the daemon has in
// a quarter of an hour, each marking a heap of the daemon's size.
func collectEvery(period time.Duration, liveMB int) (stop func()) {
	var head *node
	for range liveMB << 20 / 64 {
		head = &node{next: head}
	}
	stopTicks := every(period, runtime.GC)
	return func() { stopTicks(); runtime.KeepAlive(head) }
}

// burstsEvery starts goroutines goroutines of work SHA-256 hashes each every
// period until the returned stop is called (it waits for the last burst):
// the daemon's bursts of CPU besides the relay (a hand-off batch, the
// replication's TLS, a page of the web UI), for measuring how they hold
// the relay under a CPU quota.
func burstsEvery(period time.Duration, goroutines, work int) (stop func()) {
	var wg sync.WaitGroup
	stopTicks := every(period, func() {
		for range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var buf [1024]byte
				for i := range work {
					buf[0] = byte(i)
					sum := sha256.Sum256(buf[:])
					buf[1] = sum[0]
				}
			}()
		}
	})
	return func() { stopTicks(); wg.Wait() }
}

// every calls fn every period on a goroutine of its own until the returned
// stop is called; stop returns once fn is no longer running.
func every(period time.Duration, fn func()) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fn()
			}
		}
	}()
	return func() { close(done); <-finished }
}
