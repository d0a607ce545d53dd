package interop

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"hushbox/pbx/accounts"
	"hushbox/pbx/daemon"
	"hushbox/pbx/store"
)

// The malformed-input tests run the daemon in this process (daemon.Run,
// the same code `hushbox serve` runs) rather than as a subprocess: that is
// what lets them count the daemon's goroutines after each attack, and a
// panic that escapes a handler fails the test binary outright.

// livePBX is an in-process daemon.
type livePBX struct {
	addr    string // SIP UDP+TCP
	tlsAddr string // SIP TLS
	logs    *lockedLog
	cancel  context.CancelFunc
	done    chan error
}

// lockedLog collects the daemon's log, bounded.
type lockedLog struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf.Len() < 8<<20 {
		l.buf.Write(p)
	}
	return len(p), nil
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// readySignal closes ready when the daemon prints "hushbox: ready".
type readySignal struct {
	lockedLog
	once  sync.Once
	ready chan struct{}
}

func (r *readySignal) Write(p []byte) (int, error) {
	n, err := r.lockedLog.Write(p)
	if strings.Contains(r.String(), "hushbox: ready") {
		r.once.Do(func() { close(r.ready) })
	}
	return n, err
}

// startLivePBX provisions extension 101 (password malformedPassword) and
// runs the daemon on free loopback ports until the test ends.
func startLivePBX(t *testing.T) *livePBX {
	t.Helper()
	dir, err := os.MkdirTemp("", "hbmal") // short: the control socket path
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	db, err := store.Open(filepath.Join(dir, daemon.DBName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := accounts.Add(db, testRealm, "101", "", malformedPassword); err != nil {
		t.Fatal(err)
	}
	db.Close()
	p := &livePBX{
		addr:    fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		tlsAddr: fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		logs:    &lockedLog{},
		done:    make(chan error, 1),
	}
	lo := freeUDPRange(t, 20)
	out := &readySignal{ready: make(chan struct{})}
	cfg := daemon.Config{
		DataDir:      dir,
		SIPAddr:      p.addr,
		SIPTLSAddr:   p.tlsAddr,
		RTPPorts:     fmt.Sprintf("%d-%d", lo, lo+19),
		Realm:        testRealm,
		MediaIP:      "127.0.0.1",
		MediaTimeout: 30 * time.Second,
		RingTimeout:  20 * time.Second,
		UserAgent:    "hushbox/malformed",
		Digest:       "SHA-256,MD5",
		Log:          slog.New(slog.NewTextHandler(p.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Out:          out,
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	go func() { p.done <- daemon.Run(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-p.done:
			if err != nil {
				t.Errorf("daemon stopped with %v", err)
			}
		case <-time.After(stopTimeout):
			t.Errorf("daemon did not stop within %v", stopTimeout)
		}
		if t.Failed() {
			log := p.logs.String()
			if len(log) > 20000 {
				log = log[len(log)-20000:]
			}
			t.Logf("daemon log (tail):\n%s", log)
		}
	})
	select {
	case <-out.ready:
	case err := <-p.done:
		t.Fatalf("daemon stopped before ready: %v\n%s", err, p.logs.String())
	case <-time.After(startTimeout):
		t.Fatalf("daemon not ready:\n%s", out.String())
	}
	return p
}

const malformedPassword = "malformed-pw-101"

// optionsMsg is a well-formed OPTIONS for transport ("UDP", "TCP", "TLS").
// The branch names the transport: a server matches a request to a
// transaction by branch, sent-by and method alone (RFC 3261 17.2.3), so a
// TLS OPTIONS reusing the branch of a TCP one still in its transaction is a
// retransmission of it, answered on the TCP connection.
func optionsMsg(to, transport string, seq int) string {
	return fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\n"+
		"Via: SIP/2.0/%s 127.0.0.1:9;branch=z9hG4bK-health-%s-%d;rport\r\n"+
		"Max-Forwards: 70\r\n"+
		"From: <sip:health@127.0.0.1>;tag=h%d\r\n"+
		"To: <sip:%s>\r\n"+
		"Call-ID: health-%d-%s@malformed.test\r\n"+
		"CSeq: %d OPTIONS\r\n"+
		"Content-Length: 0\r\n\r\n", to, transport, strings.ToLower(transport), seq, seq, to, seq, transport, seq)
}

// readCodes reads from c until a final response, EOF, an error or wait of
// quiet, and returns the status codes seen and whether the peer closed.
func readCodes(c net.Conn, wait time.Duration) ([]int, bool) {
	var all []byte
	buf := make([]byte, 65536)
	closed := false
	for {
		_ = c.SetReadDeadline(time.Now().Add(wait))
		n, err := c.Read(buf)
		all = append(all, buf[:n]...)
		if err != nil {
			closed = err == io.EOF || !isTimeout(err)
			break
		}
		if finalCode(statusCodes(all)) != 0 {
			break
		}
	}
	return statusCodes(all), closed
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// healthy checks the daemon still serves: OPTIONS over UDP, TCP and TLS
// each get 200, its goroutines come back near baseline once the attack's
// connections are gone, and its log shows no panic.
func (p *livePBX) healthy(t *testing.T, baseline int, seq int) {
	t.Helper()
	if code, err := optionsPing(p.addr, seq); err != nil || code != 200 {
		t.Errorf("OPTIONS over UDP after the attack: %d, %v (want 200)", code, err)
	}
	if codes, err := sendTortureTCP(p.addr, []byte(optionsMsg(p.addr, "TCP", seq))); err != nil || finalCode(codes) != 200 {
		t.Errorf("OPTIONS over TCP after the attack: %v, %v (want 200)", codes, err)
	}
	if code, err := tlsOptions(p.tlsAddr, seq); err != nil || code != 200 {
		t.Errorf("OPTIONS over TLS after the attack: %d, %v (want 200)", code, err)
	}
	// Goroutines: the attack's connections are closed; the daemon's readers
	// for them must end. Poll (bounded) rather than assert at one instant.
	limit := baseline + 15
	n := runtime.NumGoroutine()
	for i := 0; i < 100 && n > limit; i++ {
		time.Sleep(100 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	if n > limit {
		t.Errorf("goroutines: %d after the attack, baseline %d (limit %d)", n, baseline, limit)
	}
	if log := p.logs.String(); strings.Contains(strings.ToLower(log), "panic") {
		t.Errorf("the daemon's log mentions a panic")
	}
}

// tlsOptions sends OPTIONS over TLS (the daemon's self-signed certificate
// is not checked: only that it answers) and returns the final code.
func tlsOptions(addr string, seq int) (int, error) {
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		return 0, fmt.Errorf("TLS dial: %w", err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(optionsMsg(addr, "TLS", seq))); err != nil {
		return 0, err
	}
	r := bufio.NewReader(c)
	// Generous: the package's other tests (browsers, phones) share the CPU,
	// and what is checked is that the daemon answers at all.
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := r.ReadString('\n')
	if err != nil {
		return 0, fmt.Errorf("TLS read: %w", err)
	}
	codes := statusCodes([]byte(line))
	return finalCode(codes), nil
}

// settle waits (bounded) until the goroutine count stops changing and
// returns it: the baseline before an attack.
func settle() int {
	prev := runtime.NumGoroutine()
	for range 20 {
		time.Sleep(100 * time.Millisecond)
		n := runtime.NumGoroutine()
		if n == prev {
			return n
		}
		prev = n
	}
	return prev
}
