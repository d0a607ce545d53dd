package interop

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sippRun is one sipp process of a test.
type sippRun struct {
	t      testing.TB
	name   string
	dir    string // working directory: sipp writes its logs here
	cmd    *exec.Cmd
	cancel context.CancelFunc
	done   chan struct{}
	err    error
	out    []byte
}

// sippOpts describes one sipp invocation. Scenario is a file in testdata/.
type sippOpts struct {
	Scenario  string
	Target    string // PBX address host:port (omitted for a UAS)
	Port      int    // local SIP port (-p); 0 picks a free one
	Service   string // -s: request-URI user (callee, or the registering user)
	User      string // -au
	Password  string // -ap
	Calls     int    // -m, default 1
	Rate      string // -r
	MediaPort int    // -mp
	Keys      map[string]string
	Extra     []string
	Timeout   time.Duration // sipp -timeout, default 40s
}

// startSipp starts sipp in the background. Each run is bounded by sipp's
// own -timeout plus a kill deadline, and logs messages and errors into a
// temp folder that is dumped into the test log if the run fails.
func startSipp(t testing.TB, name string, o sippOpts) *sippRun {
	t.Helper()
	bin := requireTool(t, "sipp")
	scen, err := filepath.Abs(filepath.Join("testdata", o.Scenario))
	if err != nil {
		t.Fatal(err)
	}
	if o.Calls == 0 {
		o.Calls = 1
	}
	if o.Timeout == 0 {
		o.Timeout = 40 * time.Second
	}
	dir := t.TempDir()
	args := []string{"-sf", scen, "-i", "127.0.0.1", "-nostdin",
		"-m", strconv.Itoa(o.Calls),
		"-timeout", fmt.Sprintf("%ds", int(o.Timeout.Seconds())), "-timeout_error",
		"-trace_msg", "-message_file", filepath.Join(dir, "messages.log"),
		"-trace_err", "-error_file", filepath.Join(dir, "errors.log"),
		"-trace_screen", "-screen_file", filepath.Join(dir, "screen.log"),
	}
	if o.Port == 0 {
		o.Port = freePort(t) // sipp would try 5060 first
	}
	args = append(args, "-p", strconv.Itoa(o.Port))
	if o.Service != "" {
		args = append(args, "-s", o.Service)
	}
	if o.User != "" {
		args = append(args, "-au", o.User, "-ap", o.Password)
	}
	if o.Rate != "" {
		args = append(args, "-r", o.Rate)
	}
	if o.MediaPort != 0 {
		args = append(args, "-mp", strconv.Itoa(o.MediaPort))
	}
	for k, v := range o.Keys {
		args = append(args, "-key", k, v)
	}
	args = append(args, o.Extra...)
	if o.Target != "" {
		args = append(args, o.Target)
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.Timeout+20*time.Second)
	s := &sippRun{t: t, name: name, dir: dir, cancel: cancel, done: make(chan struct{})}
	s.cmd = exec.CommandContext(ctx, bin, args...)
	s.cmd.Dir = dir
	s.cmd.Env = append(os.Environ(), "TERM=dumb")
	if err := startCmd(s); err != nil {
		cancel()
		t.Fatalf("start sipp %s: %v", name, err)
	}
	t.Cleanup(func() {
		s.cancel()
		<-s.done
	})
	return s
}

func startCmd(s *sippRun) error {
	var buf strings.Builder
	s.cmd.Stdout = &buf
	s.cmd.Stderr = &buf
	if err := s.cmd.Start(); err != nil {
		return err
	}
	go func() {
		s.err = s.cmd.Wait()
		s.out = []byte(buf.String())
		close(s.done)
	}()
	return nil
}

// wait waits for sipp to end and fails the test unless every call of the
// scenario succeeded (sipp exit status 0).
func (s *sippRun) wait() {
	s.t.Helper()
	<-s.done
	if s.err != nil {
		s.t.Errorf("sipp %s: %v (%s)\n%s", s.name, s.err, sippExitMeaning(s.err), s.logs())
	}
}

// logs returns sipp's output and trace files for a failure message.
func (s *sippRun) logs() string {
	var b strings.Builder
	fmt.Fprintf(&b, "--- sipp %s output:\n%s\n", s.name, lastBytes(s.out, 4000))
	for _, f := range []string{"errors.log", "messages.log"} {
		data, err := os.ReadFile(filepath.Join(s.dir, f))
		if err == nil {
			fmt.Fprintf(&b, "--- sipp %s %s:\n%s\n", s.name, f, lastBytes(data, 12000))
		}
	}
	return b.String()
}

func lastBytes(b []byte, n int) string {
	if len(b) > n {
		return "...\n" + string(b[len(b)-n:])
	}
	return string(b)
}

// sippExitMeaning explains sipp's exit status (from sipp's manual).
func sippExitMeaning(err error) string {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return "not started or killed"
	}
	switch ee.ExitCode() {
	case 0:
		return "all calls succeeded"
	case 1:
		return "at least one call failed"
	case 97:
		return "exit on internal command"
	case 99:
		return "normal exit without calls processed"
	case 254, 255:
		return "fatal error (socket bind or scenario)"
	}
	return "unknown sipp status"
}

// registerSipp registers user with password from local port (so that later
// a UAS sipp on the same port receives the calls for user).
func registerSipp(t testing.TB, p *pbx, user, password string, port int) {
	t.Helper()
	s := startSipp(t, "register "+user, sippOpts{
		Scenario: "register.xml", Target: p.addr(), Port: port,
		Service: user, User: user, Password: password,
	})
	s.wait()
	if t.Failed() {
		t.FailNow()
	}
}
