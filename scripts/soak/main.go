// Command soak runs the hushbox daemon under steady load for a set time
// (make soak; docs/reliability.md) and checks that it does not leak:
// resident memory and goroutines stay flat, open file descriptors too, and
// every relay port is free again once the calls have ended.
//
// The daemon runs in this process (daemon.Run, the code `hushbox serve`
// runs) so its goroutines can be counted exactly (runtime.NumGoroutine;
// nothing has to listen for a debug endpoint). The load comes from
// pbx/endpoint phones over 127.0.0.1: pairs of phones call each other
// back to back (INVITE, digest challenge, answer, RTP, BYE), and every
// few calls a caller is replaced by a fresh one, which unregisters the old
// binding and registers a new one.
//
// The numbers it samples include the phones' own goroutines and memory;
// they are steady too, so growth still means a leak somewhere.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"hushbox/pbx/accounts"
	"hushbox/pbx/daemon"
	"hushbox/pbx/endpoint"
	"hushbox/pbx/store"
)

const realm = "soak.hushbox"

func main() {
	dur := flag.Duration("duration", 30*time.Minute, "how long to run the load")
	pairs := flag.Int("pairs", 4, "pairs of phones calling each other")
	hold := flag.Duration("hold", 2*time.Second, "how long each call stays up")
	every := flag.Duration("sample", 0, "sampling interval (0: a thirtieth of the duration, at least 2 s)")
	churn := flag.Int("churn", 5, "replace a caller (new registration) every N calls")
	flag.Parse()
	if *every <= 0 {
		*every = max(*dur/30, 2*time.Second)
	}
	if err := run(*dur, *pairs, *hold, *every, *churn); err != nil {
		fmt.Fprintln(os.Stderr, "soak: FAIL:", err)
		os.Exit(1)
	}
	fmt.Println("soak: PASS")
}

// sample is one measurement.
type sample struct {
	at         time.Duration
	rssKB      int64
	goroutines int
	fds        int
	portsHeld  int
	calls      int64
	failures   int64
}

func run(dur time.Duration, pairs int, hold, every time.Duration, churn int) error {
	dir, err := os.MkdirTemp("", "hbsoak")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	db, err := store.Open(filepath.Join(dir, daemon.DBName))
	if err != nil {
		return err
	}
	exts := make([]string, 2*pairs)
	for i := range exts {
		exts[i] = strconv.Itoa(201 + i)
		if _, err := accounts.Add(db, realm, exts[i], "", password(exts[i])); err != nil {
			return err
		}
	}
	if err := db.Close(); err != nil {
		return err
	}
	sipAddr, err := freeAddr()
	if err != nil {
		return err
	}
	// Room to spare: other programs on the machine (other tests, an
	// rtpengine) may bind ports of the range while it is idle.
	rtpLo, rtpHi, err := freeRange(8*pairs + 8)
	if err != nil {
		return err
	}
	ready := &readyWriter{ready: make(chan struct{})}
	cfg := daemon.Config{
		DataDir: dir, SIPAddr: sipAddr, RTPPorts: fmt.Sprintf("%d-%d", rtpLo, rtpHi), Realm: realm,
		MediaIP: "127.0.0.1", MediaTimeout: 30 * time.Second, RingTimeout: 20 * time.Second,
		UserAgent: "hushbox-soak", Digest: "SHA-256,MD5", Out: ready,
		Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	dctx, stopDaemon := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- daemon.Run(dctx, cfg) }()
	defer func() {
		stopDaemon()
		<-done
	}()
	select {
	case <-ready.ready:
	case err := <-done:
		return fmt.Errorf("daemon stopped: %w", err)
	case <-time.After(20 * time.Second):
		return fmt.Errorf("daemon not ready")
	}
	baseline := runtime.NumGoroutine()
	fmt.Printf("soak: daemon on %s, relay %d-%d, %d pairs, %v calls, for %v\n", sipAddr, rtpLo, rtpHi, pairs, hold, dur)

	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	var calls, failures atomic.Int64
	lctx, stopLoad := context.WithTimeout(context.Background(), dur)
	defer stopLoad()
	var wg sync.WaitGroup
	for i := range pairs {
		callee, err := newPhone(lctx, sipAddr, exts[2*i+1], true, quiet)
		if err != nil {
			return err
		}
		wg.Go(func() {
			defer callee.close()
			n := 0
			var caller *phone
			for lctx.Err() == nil {
				if caller == nil || n%churn == 0 {
					if caller != nil {
						caller.close()
					}
					caller, err = newPhone(lctx, sipAddr, exts[2*i], false, quiet)
					if err != nil {
						if lctx.Err() == nil {
							failures.Add(1)
							fmt.Fprintf(os.Stderr, "soak: phone %s: %v\n", exts[2*i], err)
							time.Sleep(time.Second)
						}
						caller = nil
						continue
					}
				}
				n++
				if err := oneCall(lctx, caller, callee, hold); err != nil {
					if lctx.Err() == nil {
						failures.Add(1)
						fmt.Fprintf(os.Stderr, "soak: call %s -> %s: %v\n", caller.ext, callee.ext, err)
						time.Sleep(time.Second)
					}
					continue
				}
				calls.Add(1)
			}
			if caller != nil {
				caller.close()
			}
		})
	}

	start := time.Now()
	var samples []sample
	take := func() sample {
		s := sample{at: time.Since(start).Round(time.Second), rssKB: rssKB(), goroutines: runtime.NumGoroutine(),
			fds: openFDs(), portsHeld: ownPorts(rtpLo, rtpHi), calls: calls.Load(), failures: failures.Load()}
		fmt.Printf("soak: t=%-6v rss=%6d kB goroutines=%4d fds=%4d relay-ports-held=%2d calls=%6d failures=%d\n",
			s.at, s.rssKB, s.goroutines, s.fds, s.portsHeld, s.calls, s.failures)
		return s
	}
	tick := time.NewTicker(every)
	for lctx.Err() == nil {
		select {
		case <-tick.C:
			samples = append(samples, take())
		case <-lctx.Done():
		}
	}
	tick.Stop()
	wg.Wait()
	// Calls are over: every relay port must come back.
	var held int
	for range 50 {
		if held = ownPorts(rtpLo, rtpHi); held == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second)
	end := take()
	if err := judge(samples, end, held, calls.Load(), failures.Load()); err != nil {
		return err
	}
	if end.goroutines > baseline+10 {
		return fmt.Errorf("%d goroutines after the load ended, %d before it started", end.goroutines, baseline)
	}
	return nil
}

// judge applies the bounds (generous: a soak is noisy) and prints a
// summary. Samples of the first fifth are warm-up and left out.
func judge(samples []sample, end sample, held int, calls, failures int64) error {
	var errs []string
	if held != 0 {
		errs = append(errs, fmt.Sprintf("%d relay ports still held after every call ended", held))
	}
	if calls == 0 {
		errs = append(errs, "no call completed")
	}
	if failures*20 > calls {
		errs = append(errs, fmt.Sprintf("%d failed calls of %d (more than 5%%)", failures, calls))
	}
	warm := samples[len(samples)/5:]
	if len(warm) < 3 {
		errs = append(errs, fmt.Sprintf("only %d samples after warm-up: run longer or sample more often", len(warm)))
	} else {
		third := max(len(warm)/3, 1)
		first, last := warm[:third], warm[len(warm)-third:]
		rss0, rss1 := median(first, func(s sample) float64 { return float64(s.rssKB) }), median(last, func(s sample) float64 { return float64(s.rssKB) })
		g0, g1 := median(first, func(s sample) float64 { return float64(s.goroutines) }), median(last, func(s sample) float64 { return float64(s.goroutines) })
		f0, f1 := median(first, func(s sample) float64 { return float64(s.fds) }), median(last, func(s sample) float64 { return float64(s.fds) })
		rssSlope := slope(warm, func(s sample) float64 { return float64(s.rssKB) / 1024 })
		gSlope := slope(warm, func(s sample) float64 { return float64(s.goroutines) })
		fmt.Printf("soak: rss %.1f -> %.1f MB (slope %.2f MB/h), goroutines %.0f -> %.0f (slope %.1f/h), fds %.0f -> %.0f\n",
			rss0/1024, rss1/1024, rssSlope, g0, g1, gSlope, f0, f1)
		if rss1 > rss0*1.5 && rss1-rss0 > 32*1024 {
			errs = append(errs, fmt.Sprintf("resident memory grew from %.1f to %.1f MB", rss0/1024, rss1/1024))
		}
		if g1 > g0+50 {
			errs = append(errs, fmt.Sprintf("goroutines grew from %.0f to %.0f", g0, g1))
		}
		if f1 > f0+20 {
			errs = append(errs, fmt.Sprintf("open files grew from %.0f to %.0f", f0, f1))
		}
	}
	fmt.Printf("soak: %d calls, %d failures, relay ports held at the end: %d, goroutines at the end: %d\n", calls, failures, held, end.goroutines)
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

func median(ss []sample, f func(sample) float64) float64 {
	v := make([]float64, len(ss))
	for i, s := range ss {
		v[i] = f(s)
	}
	slices.Sort(v)
	return v[len(v)/2]
}

// slope is the least-squares slope of f over time, per hour.
func slope(ss []sample, f func(sample) float64) float64 {
	var n, sx, sy, sxx, sxy float64
	for _, s := range ss {
		x, y := s.at.Hours(), f(s)
		n++
		sx += x
		sy += y
		sxx += x * x
		sxy += x * y
	}
	d := n*sxx - sx*sx
	if d == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / d
}

// phone is one endpoint and the events it emitted, by kind.
type phone struct {
	ext    string
	ep     *endpoint.Endpoint
	events chan endpoint.Event
	cancel context.CancelFunc
	done   chan struct{}
}

func newPhone(ctx context.Context, server, ext string, autoAnswer bool, log *slog.Logger) (*phone, error) {
	ep, err := endpoint.New(endpoint.Config{Server: server, User: ext, Password: password(ext),
		Listen: "127.0.0.1:0", AutoAnswer: autoAnswer, UserAgent: "soak-" + ext, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("phone %s: %w", ext, err)
	}
	pctx, cancel := context.WithCancel(ctx)
	p := &phone{ext: ext, ep: ep, events: make(chan endpoint.Event, 64), cancel: cancel, done: make(chan struct{})}
	go func() { _ = ep.Run(pctx); close(p.done) }()
	go func() {
		for {
			select {
			case ev := <-ep.Events():
				select {
				case p.events <- ev:
				default:
				}
			case <-p.done:
				return
			}
		}
	}()
	if _, err := p.await(ctx, endpoint.EventRegistered, 10*time.Second); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

// close unregisters and closes the phone (Run does both when its context ends).
func (p *phone) close() {
	p.cancel()
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.ep.Close()
	}
}

// await waits for an event of kind k; EventEnded or a failed registration
// while waiting is an error.
func (p *phone) await(ctx context.Context, k endpoint.EventKind, d time.Duration) (endpoint.Event, error) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case ev := <-p.events:
			if ev.Kind == k {
				return ev, nil
			}
			if ev.Kind == endpoint.EventEnded || ev.Kind == endpoint.EventRegisterFail {
				return ev, fmt.Errorf("%s: %v (%s) while waiting for %v", p.ext, ev.Kind, ev.Reason, k)
			}
		case <-timer.C:
			return endpoint.Event{}, fmt.Errorf("%s: no %v within %v", p.ext, k, d)
		case <-ctx.Done():
			return endpoint.Event{}, ctx.Err()
		}
	}
}

// drain drops events left from an earlier call.
func (p *phone) drain() {
	for {
		select {
		case <-p.events:
		default:
			return
		}
	}
}

// oneCall: caller dials callee, both see the call up, it stays up for
// hold, the caller hangs up and both see it end.
func oneCall(ctx context.Context, caller, callee *phone, hold time.Duration) error {
	caller.drain()
	callee.drain()
	if err := caller.ep.Dial(ctx, callee.ext); err != nil {
		return err
	}
	if _, err := caller.await(ctx, endpoint.EventInCall, 10*time.Second); err != nil {
		caller.ep.Hangup()
		return err
	}
	if _, err := callee.await(ctx, endpoint.EventInCall, 10*time.Second); err != nil {
		caller.ep.Hangup()
		return err
	}
	select {
	case <-time.After(hold):
	case <-ctx.Done():
	}
	caller.ep.Hangup()
	if _, err := caller.await(context.Background(), endpoint.EventEnded, 10*time.Second); err != nil {
		return err
	}
	if _, err := callee.await(context.Background(), endpoint.EventEnded, 10*time.Second); err != nil {
		return err
	}
	return nil
}

func password(ext string) string { return "soak-password-" + ext }

// readyWriter closes ready when the daemon prints "hushbox: ready".
type readyWriter struct {
	mu    sync.Mutex
	buf   strings.Builder
	once  sync.Once
	ready chan struct{}
}

func (w *readyWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.buf.Len() < 1<<16 {
		w.buf.Write(p)
	}
	if strings.Contains(w.buf.String(), "hushbox: ready") {
		w.once.Do(func() { close(w.ready) })
	}
	return len(p), nil
}

// freeAddr is a 127.0.0.1 port free for both UDP and TCP.
func freeAddr() (string, error) {
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		addr := l.Addr().String()
		u, err := net.ListenPacket("udp", addr)
		l.Close()
		if err == nil {
			u.Close()
			return addr, nil
		}
	}
	return "", fmt.Errorf("no port free for UDP and TCP")
}

// freeRange finds n free UDP ports in a row below the ephemeral range, at
// a random place (other programs pick ranges there too).
func freeRange(n int) (int, int, error) {
	for range 1000 {
		lo := 10000 + 2*rand.IntN(11000)
		if len(freePorts(lo, lo+n-1)) == n {
			return lo, lo + n - 1, nil
		}
	}
	return 0, 0, fmt.Errorf("no %d free UDP ports in a row", n)
}

// freePorts lists the ports of lo-hi that can be bound now.
func freePorts(lo, hi int) []int {
	var out []int
	for port := lo; port <= hi; port++ {
		c, err := net.ListenPacket("udp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			c.Close()
			out = append(out, port)
		}
	}
	return out
}

// ownPorts counts the UDP sockets of this process bound to a port of
// lo-hi: /proc/net/udp{,6} lists every socket with its inode, and
// /proc/self/fd links name ours. Sockets of other programs in the range do
// not count (they are not the relay's).
func ownPorts(lo, hi int) int {
	mine := map[string]bool{}
	ents, _ := os.ReadDir("/proc/self/fd")
	for _, e := range ents {
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil {
			if ino, ok := strings.CutPrefix(l, "socket:["); ok {
				mine[strings.TrimSuffix(ino, "]")] = true
			}
		}
	}
	n := 0
	for _, f := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fields := strings.Fields(line)
			if len(fields) < 10 {
				continue
			}
			i := strings.LastIndexByte(fields[1], ':')
			port, err := strconv.ParseInt(fields[1][i+1:], 16, 32)
			if err != nil || int(port) < lo || int(port) > hi {
				continue
			}
			if mine[fields[9]] {
				n++
			}
		}
	}
	return n
}

// rssKB reads VmRSS from /proc/self/status (0 when unavailable).
func rssKB() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// openFDs counts this process's open file descriptors.
func openFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0
	}
	return len(ents)
}
