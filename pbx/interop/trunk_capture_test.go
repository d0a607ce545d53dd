package interop

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// capture is one tshark writing the loopback traffic that matches a
// capture filter to a classic pcap file.
type capture struct {
	t      testing.TB
	file   string
	cmd    *exec.Cmd
	log    *lockedBuffer
	exited chan struct{}
	err    error
	once   sync.Once
}

// startCapture runs `tshark -i lo -F pcap -w file -f filter`, bounded by
// tshark's own autostop after bound, and waits until tshark reports that it
// captures. A capture that cannot start (no capture permission) skips the
// test outside CI and fails it in CI, like a missing tool.
func startCapture(t testing.TB, file, filter string, bound time.Duration) *capture {
	t.Helper()
	bin := requireTool(t, "tshark")
	c := &capture{t: t, file: file, log: &lockedBuffer{}, exited: make(chan struct{})}
	c.cmd = exec.Command(bin, "-i", "lo", "-F", "pcap", "-w", file,
		"-a", fmt.Sprintf("duration:%d", int(bound.Seconds())), "-f", filter)
	out, err := c.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	c.cmd.Stdout = c.cmd.Stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("start tshark: %v", err)
	}
	capturing := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		var once sync.Once
		for sc.Scan() {
			line := sc.Text()
			c.log.WriteLine(line)
			if strings.Contains(line, "Capturing on") {
				once.Do(func() { close(capturing) })
			}
		}
		c.err = c.cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(c.stop)
	select {
	case <-capturing:
	case <-c.exited:
		msg := fmt.Sprintf("tshark could not capture on lo: %v\n%s", c.err, c.log.String())
		if inCI() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	case <-time.After(20 * time.Second):
		t.Fatalf("tshark did not start capturing within 20s:\n%s", c.log.String())
	}
	return c
}

// stop ends the capture with SIGINT (tshark then flushes and closes the
// file) and waits for tshark to exit; it kills tshark if it does not.
func (c *capture) stop() {
	c.once.Do(func() {
		select {
		case <-c.exited:
		default:
			_ = c.cmd.Process.Signal(os.Interrupt)
			select {
			case <-c.exited:
			case <-time.After(15 * time.Second):
				_ = c.cmd.Process.Kill()
				<-c.exited
				c.t.Errorf("tshark did not stop within 15s of SIGINT")
			}
		}
		if c.t.Failed() {
			c.t.Logf("tshark output:\n%s", c.log.String())
		}
	})
}

// datagrams stops the capture and returns the UDP datagrams it holds.
func (c *capture) datagrams() []udpDatagram {
	c.t.Helper()
	c.stop()
	data, err := os.ReadFile(c.file)
	if err != nil {
		c.t.Fatalf("read capture: %v\n%s", err, c.log.String())
	}
	d, err := parsePcapUDP(data)
	if err != nil {
		c.t.Fatalf("parse capture %s: %v", c.file, err)
	}
	return d
}
