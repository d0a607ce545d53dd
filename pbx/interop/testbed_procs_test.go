package interop

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// Processes of the hand-off test bed: hushbox phones and tshark captures
// run in the test bed's namespaces, each bounded in time and ended when
// the test ends.

// stampedLine is one output line with the time it was read.
type stampedLine struct {
	at   time.Time
	text string
}

// nsProc is a process in a namespace whose output lines are kept with the
// time each was read.
type nsProc struct {
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	mu     sync.Mutex
	lines  []stampedLine
	hook   func(string)  // called with each line, see onLine
	notify chan struct{} // closed and replaced on every line
	exited chan struct{}
	err    error
}

// startNSProc runs name args... in role's namespace for at most bound,
// killing it at the end of the test if it still runs.
func (tb *testbed) startNSProc(label, role string, bound time.Duration, name string, args ...string) *nsProc {
	t := tb.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	p := &nsProc{name: label, notify: make(chan struct{}), exited: make(chan struct{})}
	prog, argv := tb.nsExec(role, name, args...)
	p.cmd = exec.CommandContext(ctx, prog, argv...)
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = pw, pw
	if err := p.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start %s in %s: %v", label, role, err)
	}
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, stampedLine{time.Now(), sc.Text()})
			close(p.notify)
			p.notify = make(chan struct{})
			hook := p.hook
			p.mu.Unlock()
			if hook != nil {
				hook(sc.Text())
			}
		}
	}()
	go func() {
		p.err = p.cmd.Wait()
		pw.Close()
		cancel()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Signal(os.Interrupt)
			select {
			case <-p.exited:
			case <-time.After(5 * time.Second):
				_ = p.cmd.Process.Kill()
				<-p.exited
			}
		}
	})
	return p
}

// onLine calls f with every line read from now on (in the reading
// goroutine: f must not block for long).
func (p *nsProc) onLine(f func(string)) {
	p.mu.Lock()
	p.hook = f
	p.mu.Unlock()
}

// find returns the first line containing s, if there is one yet.
func (p *nsProc) find(s string) (stampedLine, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range p.lines {
		if strings.Contains(l.text, s) {
			return l, true
		}
	}
	return stampedLine{}, false
}

// waitFor waits up to bound for a line containing s; ok false when the
// process exited or the time ran out first.
func (p *nsProc) waitFor(s string, bound time.Duration) (stampedLine, bool) {
	deadline := time.After(bound)
	for {
		p.mu.Lock()
		ch := p.notify
		p.mu.Unlock()
		if l, ok := p.find(s); ok {
			return l, true
		}
		select {
		case <-ch:
		case <-p.exited:
			l, ok := p.find(s)
			return l, ok
		case <-deadline:
			return stampedLine{}, false
		}
	}
}

// output is every line read so far.
func (p *nsProc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	for _, l := range p.lines {
		fmt.Fprintf(&b, "%s %s\n", l.at.Format("15:04:05.000"), l.text)
	}
	return b.String()
}

// send writes a line to the process's stdin (hushbox phone --interactive).
func (p *nsProc) send(line string) error {
	_, err := io.WriteString(p.stdin, line+"\n")
	return err
}

// wait waits up to bound for the process to exit.
func (p *nsProc) wait(bound time.Duration) bool {
	select {
	case <-p.exited:
		return true
	case <-time.After(bound):
		return false
	}
}

// nsCapture runs tshark in role's namespace on iface, keeping the first
// 128 bytes of each packet that matches filter, for at most bound; it
// waits until tshark captures. A capture that cannot start fails the
// test (the test bed runs as root, so it can always capture).
func (tb *testbed) nsCapture(role, iface, file, filter string, bound time.Duration) *nsProc {
	t := tb.t
	t.Helper()
	bin := requireTool(t, "tshark")
	p := tb.startNSProc("tshark "+role, role, bound+10*time.Second, bin, "-i", iface, "-F", "pcap", "-s", "128",
		"-w", file, "-a", fmt.Sprintf("duration:%d", int(bound.Seconds())), "-f", filter)
	if _, ok := p.waitFor("Capturing on", 60*time.Second); !ok {
		t.Fatalf("tshark in %s did not start capturing:\n%s", role, p.output())
	}
	return p
}

// stopCapture ends a capture (SIGINT: tshark flushes) and parses it.
func stopCapture(t *testing.T, p *nsProc, file string) []timedDatagram {
	t.Helper()
	_ = p.cmd.Process.Signal(os.Interrupt)
	if !p.wait(15 * time.Second) {
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("read capture %s: %v\n%s", file, err, p.output())
	}
	ds, err := parsePcapTimed(data)
	if err != nil {
		t.Fatalf("parse capture %s: %v", file, err)
	}
	return ds
}
