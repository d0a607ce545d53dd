package daemon

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"hushbox/pbx/accounts"
	"hushbox/pbx/control"
	"hushbox/pbx/store"
)

// The end-to-end tests run one hushbox daemon per test, in this process,
// with sipgo phones (phone_test.go) talking to it over 127.0.0.1. They do
// not run in parallel: daemon.Run sets sipgo's package-wide default logger,
// which would race with any other sipgo stack running at the same time.

const testRealm = "e2e.hushbox"

// testPasswords are the extensions every test daemon starts with.
var testPasswords = map[string]string{
	"101": "password-101",
	"102": "password-102",
	"103": "password-103",
	"104": "password-104",
}

// syncBuffer collects log output from goroutines that may outlive the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 8<<20 { // bounded: a runaway log must not eat memory
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// readyWriter is the daemon's Out: it closes ready at "hushbox: ready".
type readyWriter struct {
	syncBuffer
	once  sync.Once
	ready chan struct{}
}

func (w *readyWriter) Write(p []byte) (int, error) {
	n, err := w.syncBuffer.Write(p)
	if strings.Contains(w.String(), "hushbox: ready") {
		w.once.Do(func() { close(w.ready) })
	}
	return n, err
}

// pbx is a running daemon under test.
type pbx struct {
	t            *testing.T
	dir          string
	addr         string // SIP host:port (UDP and TCP)
	port         int
	rtpLo, rtpHi int
	tlsAddr      string // SIP TLS host:port when pbxOptions.tls
	freeAtStart  []int  // relay ports nobody held before the daemon started
	cancel       context.CancelFunc
	done         chan error
	logs         *syncBuffer
	out          *readyWriter
	stopOnce     sync.Once
	stopErr      error

	mu     sync.Mutex
	phones []*phone
}

func (p *pbx) addPhone(ph *phone) {
	p.mu.Lock()
	p.phones = append(p.phones, ph)
	p.mu.Unlock()
}

type pbxOptions struct {
	mediaTimeout time.Duration // default 30 s
	ringTimeout  time.Duration // default 20 s
	tls          bool          // also serve SIP over TLS (trunks)
}

// freeRTPRange picks n free UDP ports in a row for a daemon's relay, at
// random (other test binaries run daemons at the same time) and below the
// ephemeral range (so the phones' sockets never land in it).
func freeRTPRange(t *testing.T, n int) int {
	t.Helper()
	for range 200 {
		lo := 21000 + 2*rand.IntN(5500)
		if len(freePorts(lo, lo+n-1)) == n {
			return lo
		}
	}
	t.Fatalf("no %d free UDP ports in a row", n)
	return 0
}

// freeSIPPort finds a port free for both UDP and TCP on 127.0.0.1.
func freeSIPPort(t *testing.T) int {
	t.Helper()
	for range 50 {
		u, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		u.Close()
		if err != nil {
			continue
		}
		l.Close()
		return port
	}
	t.Fatal("no port free for both UDP and TCP")
	return 0
}

// startPBX provisions the test extensions and starts a daemon; it is
// stopped (and its folder removed) when the test ends.
func startPBX(t *testing.T, o pbxOptions) *pbx {
	t.Helper()
	// A short folder: the control socket's path must fit in sun_path.
	dir, err := os.MkdirTemp("", "hbe2e")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	db, err := store.Open(filepath.Join(dir, DBName))
	if err != nil {
		t.Fatal(err)
	}
	for _, num := range []string{"101", "102", "103", "104"} {
		if _, err := accounts.Add(db, testRealm, num, "Ext "+num, testPasswords[num]); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	if o.mediaTimeout == 0 {
		o.mediaTimeout = 30 * time.Second
	}
	if o.ringTimeout == 0 {
		o.ringTimeout = 20 * time.Second
	}
	p := &pbx{t: t, dir: dir, port: freeSIPPort(t), logs: &syncBuffer{}, done: make(chan error, 1),
		out: &readyWriter{ready: make(chan struct{})}}
	p.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(p.port))
	p.rtpLo = freeRTPRange(t, 20)
	p.rtpHi = p.rtpLo + 19
	p.freeAtStart = freePorts(p.rtpLo, p.rtpHi)
	level := slog.LevelInfo
	if os.Getenv("HUSHBOX_E2E_DEBUG") != "" {
		level = slog.LevelDebug
	}
	cfg := Config{
		DataDir:      dir,
		SIPAddr:      p.addr,
		RTPPorts:     fmt.Sprintf("%d-%d", p.rtpLo, p.rtpHi),
		Realm:        testRealm,
		MediaIP:      "127.0.0.1",
		MediaTimeout: o.mediaTimeout,
		RingTimeout:  o.ringTimeout,
		UserAgent:    "hushbox-e2e",
		Digest:       "SHA-256,MD5",
		Log:          slog.New(slog.NewTextHandler(p.logs, &slog.HandlerOptions{Level: level})),
		Out:          p.out,
	}
	if o.tls {
		p.tlsAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(freeSIPPort(t)))
		cfg.SIPTLSAddr = p.tlsAddr
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	go func() { p.done <- Run(ctx, cfg) }()
	t.Cleanup(func() {
		p.stop()
		p.mu.Lock()
		for _, ph := range p.phones {
			ph.close()
		}
		p.mu.Unlock()
		if t.Failed() || os.Getenv("HUSHBOX_E2E_DEBUG") != "" {
			t.Logf("daemon output:\n%s\ndaemon log:\n%s", p.out.String(), p.logs.String())
		}
	})
	select {
	case <-p.out.ready:
	case err := <-p.done:
		p.done <- err
		t.Fatalf("daemon did not start: %v\n%s", err, p.logs.String())
	case <-time.After(10 * time.Second):
		t.Fatal("daemon not ready after 10 s")
	}
	return p
}

// stop cancels Run's context and waits (bounded) for Run to return.
func (p *pbx) stop() error {
	p.stopOnce.Do(func() {
		p.cancel()
		select {
		case p.stopErr = <-p.done:
		case <-time.After(20 * time.Second):
			p.stopErr = fmt.Errorf("daemon still running 20 s after its context ended")
		}
	})
	return p.stopErr
}

// admin is the daemon's management API, over its control socket.
func (p *pbx) admin() control.Admin {
	p.t.Helper()
	a, err := control.Connect(p.dir, DBName)
	if err != nil {
		p.t.Fatalf("control socket: %v", err)
	}
	return a
}

func (p *pbx) registrations(ctx context.Context) []control.Registration {
	p.t.Helper()
	regs, err := p.admin().Registrations(ctx)
	if err != nil {
		p.t.Fatalf("registrations: %v", err)
	}
	return regs
}

// waitCDR waits for the CDR of the call with callID.
func (p *pbx) waitCDR(ctx context.Context, callID string) store.CDR {
	p.t.Helper()
	var found store.CDR
	waitUntil(p.t, ctx, "CDR of "+callID, func() bool {
		cdrs, err := p.admin().CDRs(ctx, store.CDRQuery{})
		if err != nil {
			p.t.Fatalf("cdrs: %v", err)
		}
		for _, c := range cdrs {
			if c.CallID == callID {
				found = c
				return true
			}
		}
		return false
	})
	return found
}

// inRange reports whether port is one of the relay's.
func (p *pbx) inRange(port int) bool { return port >= p.rtpLo && port <= p.rtpHi }

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

// relayPortsFree reports whether every relay port that was free before the
// daemon started can be bound again, i.e. no media session holds one.
func (p *pbx) relayPortsFree() bool {
	return len(freePorts(p.rtpLo, p.rtpHi)) == len(p.freeAtStart)
}

// waitUntil polls cond until it holds or ctx ends (then the test fails).
func waitUntil(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

// testCtx bounds one test.
func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// runDaemon runs Run(cfg) until the returned stop is called (or the test
// ends), after waiting for "hushbox: ready". cfg.Out and a quiet cfg.Log
// are filled in when unset; the announcements are returned.
func runDaemon(t *testing.T, cfg Config) (*readyWriter, func()) {
	t.Helper()
	out := &readyWriter{ready: make(chan struct{})}
	if cfg.Out == nil {
		cfg.Out = out
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(15 * time.Second):
				t.Error("daemon did not stop")
			}
		})
	}
	t.Cleanup(stop)
	select {
	case <-out.ready:
	case err := <-done:
		t.Fatalf("daemon stopped before ready: %v\n%s", err, out.String())
	case <-time.After(10 * time.Second):
		t.Fatalf("daemon not ready:\n%s", out.String())
	}
	return out, stop
}
