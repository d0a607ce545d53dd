package imagetest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// bootTimeout bounds one boot to "hushbox: ready". qemu TCG on two shared
// cores takes 30-90 s (docs/benchmarks.md); the bound only stops a hung test.
const bootTimeout = 8 * time.Minute

// vm is one qemu-system-arm run of scripts/qemu-boot.sh.
type vm struct {
	t        *testing.T
	cmd      *exec.Cmd
	dir      string // work folder: disk.img (the card copy), console.log
	log      string
	sip, web int // 127.0.0.1 ports forwarded to 5060/udp and 8443/tcp (virt)
	started  time.Time
}

// freePort returns a port that is free for both TCP and UDP on 127.0.0.1.
func freePort(t *testing.T) int {
	t.Helper()
	for i := 0; i < 50; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(port))
		l.Close()
		if err == nil {
			u.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// boot starts qemu on the card image img (copied into dir unless dir holds
// a copy already) and returns without waiting for the guest.
func boot(t *testing.T, machine, img, dir string, extra ...string) *vm {
	t.Helper()
	needTools(t, "qemu-system-arm", "mcopy", "sfdisk", "zstd")
	v := &vm{t: t, dir: dir, log: filepath.Join(dir, "console.log")}
	// The script empties the log too, but only after copying the card: a
	// previous boot's "ready" must not be read before then.
	if err := os.Remove(v.log); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	args := []string{"--machine", machine, "--dir", dir}
	if machine == "virt" {
		v.sip, v.web = freePort(t), freePort(t)
		args = append(args, "--sip-port", strconv.Itoa(v.sip), "--web-port", strconv.Itoa(v.web))
	}
	args = append(append(args, extra...), img)
	v.cmd = exec.Command(filepath.Join(repoRoot(t), "scripts", "qemu-boot.sh"), args...)
	v.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := os.Create(filepath.Join(dir, "qemu.out"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	v.cmd.Stdout, v.cmd.Stderr = out, out
	v.started = time.Now()
	if err := v.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.kill)
	return v
}

// kill stops qemu hard, like pulling the power (SIGKILL, no shutdown).
func (v *vm) kill() {
	if v.cmd == nil || v.cmd.Process == nil {
		return
	}
	syscall.Kill(-v.cmd.Process.Pid, syscall.SIGKILL)
	v.cmd.Wait()
	v.cmd = nil
}

// console is the serial console so far.
func (v *vm) console() string {
	b, _ := os.ReadFile(v.log)
	return string(b)
}

// waitFor waits until the console matches re and returns the match's
// submatches; it fails the test with the console's tail when qemu exits or
// the bound passes.
func (v *vm) waitFor(re *regexp.Regexp, bound time.Duration) []string {
	v.t.Helper()
	deadline := time.Now().Add(bound)
	for {
		if m := re.FindStringSubmatch(v.console()); m != nil {
			return m
		}
		if v.cmd.ProcessState != nil || (v.cmd.Process != nil && v.cmd.Process.Signal(syscall.Signal(0)) != nil) {
			out, _ := os.ReadFile(filepath.Join(v.dir, "qemu.out"))
			v.t.Fatalf("qemu exited before %q appeared:\n%s\nconsole:\n%s", re, out, tail(v.console(), 3000))
		}
		if time.Now().After(deadline) {
			v.t.Fatalf("no %q on the console after %v:\n%s", re, bound, tail(v.console(), 4000))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// ready waits for the daemon's "hushbox: ready" line and logs the time it took.
func (v *vm) ready() {
	v.t.Helper()
	v.waitFor(regexp.MustCompile(`(?m)^hushbox: ready`), bootTimeout)
	v.t.Logf("boot to ready: %v", time.Since(v.started).Round(100*time.Millisecond))
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// sipOptions sends one SIP OPTIONS over UDP to 127.0.0.1:port and returns the
// status line of the first answer.
func sipOptions(t *testing.T, port int) (string, error) {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return "", err
	}
	defer c.Close()
	lp := c.LocalAddr().(*net.UDPAddr).Port
	dst := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	buf := make([]byte, 4096)
	for try := 1; try <= 5; try++ {
		msg := fmt.Sprintf("OPTIONS sip:hushbox@127.0.0.1:%d SIP/2.0\r\n"+
			"Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-imagetest-%d;rport\r\n"+
			"Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=it%d\r\nTo: <sip:hushbox@127.0.0.1>\r\n"+
			"Call-ID: imagetest-%d@127.0.0.1\r\nCSeq: %d OPTIONS\r\nContact: <sip:probe@127.0.0.1:%d>\r\n"+
			"Accept: application/sdp\r\nContent-Length: 0\r\n\r\n", port, lp, try, try, try, try, lp)
		if _, err := c.WriteTo([]byte(msg), dst); err != nil {
			return "", err
		}
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			continue // UDP: lost or slow guest; send again
		}
		line, _, _ := strings.Cut(string(buf[:n]), "\r\n")
		return line, nil
	}
	return "", fmt.Errorf("no answer to 5 OPTIONS on 127.0.0.1:%d", port)
}
