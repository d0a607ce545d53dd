package interop

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// phoneRun is one `hushbox phone` process owned by a test.
type phoneRun struct {
	t      testing.TB
	name   string
	cmd    *exec.Cmd
	out    *lockedBuffer // stdout and stderr, line by line
	lines  chan string   // stdout "phone: ..." lines as they come
	exited chan struct{}
	err    error
}

// startPhone runs `hushbox phone` with args against p and kills it at the
// end of the test if it is still running.
func startPhone(t testing.TB, name string, p *pbx, args ...string) *phoneRun {
	t.Helper()
	if buildErr != nil {
		t.Fatalf("hushbox binary: %v", buildErr)
	}
	r := &phoneRun{t: t, name: name, out: &lockedBuffer{}, lines: make(chan string, 256), exited: make(chan struct{})}
	all := append([]string{"phone", "--server", p.addr(), "--listen", "127.0.0.1:0", "--log-level", "info"}, args...)
	r.cmd = exec.Command(hushboxBin, all...)
	stdout, err := r.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := r.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("start hushbox phone: %v", err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			r.out.WriteLine(sc.Text())
			select {
			case r.lines <- sc.Text():
			default:
			}
		}
	}()
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			r.out.WriteLine("stderr: " + sc.Text())
		}
	}()
	go func() {
		wg.Wait()
		r.err = r.cmd.Wait()
		close(r.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-r.exited:
		default:
			_ = r.cmd.Process.Kill()
			<-r.exited
		}
		if t.Failed() {
			t.Logf("phone %s output:\n%s", r.name, r.out.String())
		}
	})
	return r
}

// waitLine waits for a stdout line containing s.
func (r *phoneRun) waitLine(s string, bound time.Duration) string {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	for {
		select {
		case l := <-r.lines:
			if strings.Contains(l, s) {
				return l
			}
		case <-r.exited:
			r.t.Fatalf("phone %s exited (%v) before printing %q:\n%s", r.name, r.err, s, r.out.String())
		case <-ctx.Done():
			r.t.Fatalf("phone %s: no %q within %v:\n%s", r.name, s, bound, r.out.String())
		}
	}
}

// wait waits for the phone to exit by itself, with status 0.
func (r *phoneRun) wait(bound time.Duration) {
	r.t.Helper()
	select {
	case <-r.exited:
		if r.err != nil {
			r.t.Errorf("phone %s exit: %v", r.name, r.err)
		}
	case <-time.After(bound):
		r.t.Fatalf("phone %s still running after %v:\n%s", r.name, bound, r.out.String())
	}
}

var sasLine = regexp.MustCompile(`scrambled SAS=(\S+)`)

// sas is the SAS the phone printed, "" when none.
func (r *phoneRun) sas() string {
	if m := sasLine.FindStringSubmatch(r.out.String()); m != nil {
		return m[1]
	}
	return ""
}

// dtmfReceived is the keys the phone printed as received, in order.
func (r *phoneRun) dtmfReceived() string {
	var b strings.Builder
	for _, l := range strings.Split(r.out.String(), "\n") {
		if d, ok := strings.CutPrefix(l, "phone: dtmf "); ok && len(d) == 1 {
			b.WriteString(d)
		}
	}
	return b.String()
}

// frameEnergies is the energy of each 160-sample frame of x.
func frameEnergies(x []int16) []float64 {
	out := make([]float64, len(x)/160)
	for i := range out {
		out[i] = frameEnergy(x, i*160, (i+1)*160)
	}
	return out
}

// phoneArgs are the arguments of a phone for ext. The jitter buffer starts
// at 60 ms: these tests are about what is heard, not the delay, and a
// loaded test machine must not shift the audio in mid-call.
func phoneArgs(ext, password string, extra ...string) []string {
	return append([]string{"--user", ext, "--password", password, "--jitter", "3"}, extra...)
}

func portArg(r portRange) string { return fmt.Sprint(r.lo) }
