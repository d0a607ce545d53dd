package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Test realm and bounds. The start and stop bounds only keep a broken daemon
// from hanging the run; they are not performance assertions.
const (
	testRealm    = "interop.test"
	startTimeout = 20 * time.Second
	stopTimeout  = 15 * time.Second
)

// md5First makes the daemon offer its MD5 challenge before SHA-256: sipp
// and baresip compute MD5 digests only and answer the first challenge.
var md5First = []string{"--digest", "MD5,SHA-256"}

// md5Only makes the daemon offer MD5 alone: baresip 1.0 (libre) gives up
// with ENOSYS as soon as any challenge names an algorithm other than MD5.
var md5Only = []string{"--digest", "MD5"}

// pbx is one running `hushbox serve` owned by a test.
type pbx struct {
	t       testing.TB
	data    string // --data folder (a t.TempDir)
	host    string // 127.0.0.1
	port    int    // SIP UDP+TCP port
	tlsPort int
	rtpLo   int
	rtpHi   int
	cmd     *exec.Cmd
	stderr  *lockedBuffer
	exited  chan struct{}
	waitErr error
}

// addr is the SIP address "127.0.0.1:PORT" of the daemon.
func (p *pbx) addr() string { return fmt.Sprintf("%s:%d", p.host, p.port) }

// lockedBuffer collects the daemon's stderr for t.Log on failure.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) WriteLine(s string) {
	b.mu.Lock()
	b.buf.WriteString(s)
	b.buf.WriteByte('\n')
	b.mu.Unlock()
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startPBX starts a daemon on free ports with a fresh data folder, waits for
// its "hushbox: ready" line and registers cleanup: SIGTERM, which must end
// the daemon with exit status 0, and the daemon's stderr in the test log if
// the test failed.
func startPBX(t testing.TB, extra ...string) *pbx {
	t.Helper()
	return startPBXData(t, t.TempDir(), extra...)
}

// startPBXData is startPBX on an existing data folder (a restart, or a
// folder prepared by the test).
func startPBXData(t testing.TB, data string, extra ...string) *pbx {
	t.Helper()
	if buildErr != nil {
		t.Fatalf("hushbox binary: %v", buildErr)
	}
	p := &pbx{
		t:       t,
		data:    data,
		host:    "127.0.0.1",
		port:    freePort(t),
		tlsPort: freePort(t),
		stderr:  &lockedBuffer{},
		exited:  make(chan struct{}),
	}
	p.rtpLo = freeUDPRange(t, 40)
	p.rtpHi = p.rtpLo + 39
	args := []string{"serve",
		"--data", p.data,
		"--sip", p.addr(),
		"--sip-tls", fmt.Sprintf("%s:%d", p.host, p.tlsPort),
		"--rtp-ports", fmt.Sprintf("%d-%d", p.rtpLo, p.rtpHi),
		"--realm", testRealm,
		"--log-level", "debug",
		"--media-timeout", "60s",
		"--media-ip", p.host,
		"--user-agent", "hushbox/interop",
		"--web", "127.0.0.1:0",
	}
	args = append(args, extra...)
	p.cmd = exec.Command(hushboxBin, args...)
	pipe, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatalf("stderr pipe: %v", err)
	}
	p.cmd.Stdout = p.cmd.Stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start hushbox: %v", err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pipe)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		once := sync.Once{}
		for sc.Scan() {
			line := sc.Text()
			p.stderr.WriteLine(line)
			if strings.Contains(line, "hushbox: ready") {
				once.Do(func() { close(ready) })
			}
		}
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() { p.stop() })

	select {
	case <-ready:
	case <-p.exited:
		t.Fatalf("hushbox exited before ready: %v\n%s", p.waitErr, p.stderr.String())
	case <-time.After(startTimeout):
		t.Fatalf("hushbox not ready after %v:\n%s", startTimeout, p.stderr.String())
	}
	return p
}

// stop sends SIGTERM and checks for a clean exit (status 0).
func (p *pbx) stop() {
	t := p.t
	select {
	case <-p.exited:
	default:
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(stopTimeout):
			_ = p.cmd.Process.Kill()
			<-p.exited
			t.Errorf("hushbox did not stop within %v of SIGTERM", stopTimeout)
		}
		if p.waitErr != nil {
			t.Errorf("hushbox exit after SIGTERM: %v (want status 0)", p.waitErr)
		}
	}
	if t.Failed() {
		t.Logf("hushbox stderr:\n%s", p.stderr.String())
	}
}

// run runs a hushbox subcommand against this daemon's data folder and
// returns its combined output; a non-zero exit fails the test.
func (p *pbx) run(args ...string) string {
	p.t.Helper()
	out, err := p.tryRun(args...)
	if err != nil {
		p.t.Fatalf("hushbox %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// tryRun is run without failing the test.
func (p *pbx) tryRun(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args = append(args, "--data", p.data)
	out, err := exec.CommandContext(ctx, hushboxBin, args...).CombinedOutput()
	return string(out), err
}

// addExt creates extension num with a fixed password.
func (p *pbx) addExt(num, password string) {
	p.t.Helper()
	p.run("ext", "add", num, "--password", password, "--name", "Ext "+num)
}

// cdrRecord is one CDR row as printed by `hushbox cdr --csv`, by column name
// (lower case). The test matches on values, not on the column order.
type cdrRecord map[string]string

// cdrs returns the CDR rows of the daemon.
func (p *pbx) cdrs() []cdrRecord {
	p.t.Helper()
	out := p.run("cdr", "--csv")
	recs, err := parseCDRCSV(out)
	if err != nil {
		p.t.Fatalf("hushbox cdr --csv: %v\n%s", err, out)
	}
	return recs
}

// parseCDRCSV reads CSV with a header row into records keyed by lower-case
// column name.
func parseCDRCSV(s string) ([]cdrRecord, error) {
	r := csv.NewReader(strings.NewReader(s))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("parse cdr csv: %w", err)
	}
	if len(rows) == 0 {
		return nil, errors.New("parse cdr csv: no header row")
	}
	head := rows[0]
	var recs []cdrRecord
	for _, row := range rows[1:] {
		rec := cdrRecord{}
		for i, v := range row {
			if i < len(head) {
				rec[strings.ToLower(strings.TrimSpace(head[i]))] = strings.TrimSpace(v)
			}
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

// has reports whether some field of the record equals v, or is a SIP URI
// or name-addr whose user part is v (so "101", "sip:101@host" and
// "\"Ext 101\" <sip:101@host>" all match "101").
func (r cdrRecord) has(v string) bool {
	for _, f := range r {
		if strings.EqualFold(f, v) || uriUser(f) == v {
			return true
		}
	}
	return false
}

// uriUser returns the user part of the first sip:/sips: URI in s, or "".
func uriUser(s string) string {
	i := strings.Index(s, "sip:")
	if j := strings.Index(s, "sips:"); j >= 0 && (i < 0 || j < i) {
		i = j + 1
	}
	if i < 0 {
		return ""
	}
	rest := s[i+len("sip:"):]
	at := strings.IndexByte(rest, '@')
	if at < 0 {
		return ""
	}
	return rest[:at]
}

// findCDR returns the first record that involves caller and callee and has
// the disposition (ANSWERED, BUSY, CANCELLED, ...) in some field.
func findCDR(recs []cdrRecord, caller, callee, disposition string) (cdrRecord, bool) {
	for _, r := range recs {
		if r.has(caller) && r.has(callee) && r.has(disposition) {
			return r, true
		}
	}
	return nil, false
}

// waitCDR polls the CDRs until one matches: the CDR is written when the
// call ends, which races with the peers exiting. Bounded, not a timing
// assertion.
func (p *pbx) waitCDR(caller, callee, disposition string) cdrRecord {
	p.t.Helper()
	var recs []cdrRecord
	for deadline := time.Now().Add(10 * time.Second); ; {
		recs = p.cdrs()
		if r, ok := findCDR(recs, caller, callee, disposition); ok {
			return r
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	p.t.Fatalf("no CDR %s -> %s %s; CDRs: %v", caller, callee, disposition, recs)
	return nil
}
