package interop

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The network-namespace test bed (scripts/testbed.sh): a board and a cloud
// hushbox, a LAN phone, a remote phone behind the WAN router and an
// attacker, all in namespaces this test makes and removes. Traffic never
// leaves them.

// testbed is one running scripts/testbed.sh up.
type testbed struct {
	t      *testing.T
	script string
	env    map[string]string // its KEY=VALUE lines
	stdin  io.WriteCloser
	cmd    *exec.Cmd
	done   chan struct{}
}

// requireRoot skips a test that needs root, except in CI (which runs as
// root), where it fails it.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if inCI() {
			t.Fatal("the namespace test bed needs root (CI=true runs as root)")
		}
		t.Skip("the namespace test bed needs root")
	}
}

// repoFile is a file of the repository, from this package's folder.
func repoFile(t *testing.T, rel string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", rel))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// startTestbed brings the test bed up with the extra environment (e.g.
// BOARD_CPU_PCT=50) and tears it down when the test ends (closing the
// script's stdin ends it; `down` removes what a killed script left).
func startTestbed(t *testing.T, env ...string) *testbed {
	t.Helper()
	requireRoot(t)
	requireTool(t, "ip")
	script := repoFile(t, "scripts/testbed.sh")
	prefix := fmt.Sprintf("hbx-%d-", os.Getpid())
	tb := &testbed{t: t, script: script, env: map[string]string{}, done: make(chan struct{})}
	tb.cmd = exec.Command("bash", script, "up")
	tb.cmd.Env = append(append(os.Environ(), env...), "TESTBED_PREFIX="+prefix)
	var err error
	if tb.stdin, err = tb.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := tb.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	tb.cmd.Stderr = writerFunc(func(p []byte) (int, error) { stderr.WriteLine(string(p)); return len(p), nil })
	if err := tb.cmd.Start(); err != nil {
		t.Fatalf("testbed.sh up: %v", err)
	}
	ready := make(chan struct{})
	var mu sync.Mutex
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), "=")
			if !ok {
				continue
			}
			mu.Lock()
			tb.env[k] = v
			mu.Unlock()
			if k == "READY" {
				close(ready)
			}
		}
		tb.cmd.Wait()
		close(tb.done)
	}()
	t.Cleanup(func() {
		tb.stdin.Close()
		select {
		case <-tb.done:
		case <-time.After(30 * time.Second):
			t.Errorf("testbed.sh did not tear down in 30 s")
			tb.cmd.Process.Kill()
		}
		// Whatever a killed script left behind.
		if out, err := exec.Command("bash", script, "down", prefix).CombinedOutput(); err != nil {
			t.Errorf("testbed.sh down: %v %s", err, out)
		}
		if out, _ := exec.Command("ip", "netns", "list").Output(); strings.Contains(string(out), prefix) {
			t.Errorf("namespaces left after the test:\n%s", out)
		}
	})
	select {
	case <-ready:
	case <-tb.done:
		t.Fatalf("testbed.sh up stopped before READY:\n%s", stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("testbed.sh up not ready after 60 s:\n%s", stderr.String())
	}
	mu.Lock()
	defer mu.Unlock()
	for _, k := range []string{"PREFIX", "NS_LAN", "NS_BOARD", "NS_WAN", "NS_REMOTE", "NS_CLOUD", "NS_ATTACKER",
		"LAN_IP", "BOARD_LAN_IP", "BOARD_WAN_IP", "REMOTE_IP", "CLOUD_IP", "ATTACKER_IP"} {
		if tb.env[k] == "" {
			t.Fatalf("testbed.sh up printed no %s: %v", k, tb.env)
		}
	}
	if tb.env["PREFIX"] != prefix {
		t.Fatalf("prefix %q, asked for %q", tb.env["PREFIX"], prefix)
	}
	return tb
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// ns is the namespace name of a test bed role (lan, board, wan, ...).
func (tb *testbed) ns(role string) string { return tb.env["NS_"+strings.ToUpper(role)] }

// nsExec is the program and arguments that run name args... in role's
// namespace. The roles that stand for this host's other load (the phones,
// the attacker, the captures: all but the board and the cloud) go into
// the test bed's low-weight cgroup when it has one (LOAD_CGROUP, see
// scripts/testbed.sh), so they take the CPU the board and the cloud leave.
func (tb *testbed) nsExec(role, name string, args ...string) (string, []string) {
	full := append([]string{"netns", "exec", tb.ns(role), name}, args...)
	if cg := tb.env["LOAD_CGROUP"]; cg != "" && role != "board" && role != "cloud" {
		return "sh", append([]string{"-c", `echo $$ >"$0/cgroup.procs" 2>/dev/null; exec "$@"`, cg, "ip"}, full...)
	}
	return "ip", full
}

// run runs a command in a role's namespace, bounded in time.
func (tb *testbed) run(role string, bound time.Duration, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", tb.ns(role), name}, args...)...).CombinedOutput()
	return string(out), err
}

// tcpConnect reports whether a TCP connection from role to addr:port
// opens (bash's /dev/tcp: no extra tool in the namespace).
func (tb *testbed) tcpConnect(role, addr string, port int) (bool, string) {
	out, err := tb.run(role, 10*time.Second, "timeout", "5", "bash", "-c", fmt.Sprintf("exec 3<>/dev/tcp/%s/%d", addr, port))
	return err == nil, strings.TrimSpace(out)
}

// nsDaemon is a hushbox serve started in a namespace.
type nsDaemon struct {
	data   string
	stderr *lockedBuffer
	cmd    *exec.Cmd
	exited chan struct{}
}

// startNSDaemon runs `hushbox serve args...` in role's namespace through
// `testbed.sh exec` (the board's in its CPU cgroup, when there is one) and
// waits for "hushbox: ready"; it is stopped with SIGINT when the test ends.
func (tb *testbed) startNSDaemon(role, data string, args ...string) *nsDaemon {
	t := tb.t
	t.Helper()
	d := &nsDaemon{data: data, stderr: &lockedBuffer{}, exited: make(chan struct{})}
	d.cmd = exec.Command("bash", append([]string{tb.script, "exec", role, hushboxBin, "serve", "--data", data}, args...)...)
	d.cmd.Env = append(os.Environ(), "TESTBED_PREFIX="+tb.env["PREFIX"])
	pipe, err := d.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	d.cmd.Stdout = d.cmd.Stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("start hushbox in %s: %v", role, err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pipe)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		var once sync.Once
		for sc.Scan() {
			d.stderr.WriteLine(sc.Text())
			if strings.Contains(sc.Text(), "hushbox: ready") {
				once.Do(func() { close(ready) })
			}
		}
		d.cmd.Wait()
		close(d.exited)
	}()
	t.Cleanup(func() {
		d.cmd.Process.Signal(os.Interrupt)
		select {
		case <-d.exited:
		case <-time.After(15 * time.Second):
			d.cmd.Process.Kill()
			<-d.exited
		}
	})
	select {
	case <-ready:
	case <-d.exited:
		t.Fatalf("hushbox in %s exited before ready:\n%s", role, d.stderr.String())
	case <-time.After(startTimeout):
		t.Fatalf("hushbox in %s not ready:\n%s", role, d.stderr.String())
	}
	return d
}

// nsSipp runs one sipp scenario from testdata in role's namespace, bound
// to ip, and returns its error with its logs.
func (tb *testbed) nsSipp(role, ip string, port int, scenario, target string, args ...string) (*exec.Cmd, func() error) {
	t := tb.t
	t.Helper()
	bin := requireTool(t, "sipp")
	scen, err := filepath.Abs(filepath.Join("testdata", scenario))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	full := []string{"-sf", scen, "-i", ip, "-p", strconv.Itoa(port), "-nostdin",
		"-m", "1", "-timeout", "40s", "-timeout_error",
		"-trace_msg", "-message_file", filepath.Join(dir, "messages.log"),
		"-trace_err", "-error_file", filepath.Join(dir, "errors.log")}
	full = append(full, args...)
	if target != "" {
		full = append(full, target)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 70*time.Second)
	prog, argv := tb.nsExec(role, bin, full...)
	cmd := exec.CommandContext(ctx, prog, argv...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TERM=dumb")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("sipp %s in %s: %v", scenario, role, err)
	}
	var once sync.Once
	var werr error
	wait := func() error {
		once.Do(func() {
			defer cancel()
			if err := cmd.Wait(); err != nil {
				msgs, _ := os.ReadFile(filepath.Join(dir, "messages.log"))
				errs, _ := os.ReadFile(filepath.Join(dir, "errors.log"))
				werr = fmt.Errorf("sipp %s in %s: %v (%s)\n%s\n--- errors:\n%s\n--- messages:\n%s", scenario, role, err,
					sippExitMeaning(err), lastBytes([]byte(out.String()), 3000), lastBytes(errs, 3000), lastBytes(msgs, 8000))
			}
		})
		return werr
	}
	t.Cleanup(func() { cancel(); _ = wait() })
	return cmd, wait
}

// TestTestbedBoardAndCloud brings the test bed up with the board and the
// cloud peer and shows what the hand-off tests build on: the remote phone
// registers with the board's WAN address through the router and calls the
// LAN phone, with RTP both ways through the board's relay; the attacker
// reaches the board; the cloud peer serves in its own namespace; the LAN
// stays unreachable from the WAN; and nothing of the test bed shows on the
// host's network.
func TestTestbedBoardAndCloud(t *testing.T) {
	requireRoot(t)
	requireTool(t, "sipp")
	requireFile(t, sippPcap)
	if buildErr != nil {
		t.Fatalf("hushbox binary: %v", buildErr)
	}
	tb := startTestbed(t, "BOARD_CPU_PCT=90")
	boardWAN, boardLAN := tb.env["BOARD_WAN_IP"], tb.env["BOARD_LAN_IP"]

	// The board's extensions: 101 on the LAN, 201 the remote phone.
	boardData := t.TempDir()
	for _, e := range [][2]string{{"101", "pw-101-testbed"}, {"201", "pw-201-testbed"}} {
		if out, err := exec.Command(hushboxBin, "ext", "add", e[0], "--password", e[1], "--data", boardData).CombinedOutput(); err != nil {
			t.Fatalf("ext add %s: %v %s", e[0], err, out)
		}
	}
	common := []string{"--sip", "0.0.0.0:5060", "--sip-tls", "0.0.0.0:5061", "--web", "0.0.0.0:8443",
		"--digest", "MD5,SHA-256", "--media-timeout", "60s", "--log-level", "debug"}
	board := tb.startNSDaemon("board", boardData, append([]string{"--media-ip", boardWAN, "--rtp-ports", "20000-20099"}, common...)...)
	cloud := tb.startNSDaemon("cloud", t.TempDir(), append([]string{"--role", "cloud", "--media-ip", tb.env["CLOUD_IP"]}, common...)...)
	if !strings.Contains(cloud.stderr.String(), "hushbox: role cloud") || !strings.Contains(board.stderr.String(), "hushbox: role board") {
		t.Fatalf("roles not announced:\nboard:\n%s\ncloud:\n%s", board.stderr.String(), cloud.stderr.String())
	}
	// The board runs in its CPU-limited cgroup where the kernel offers one,
	// and the board and the cloud both with the CPU reserved for them (the
	// highest weight: they stand for machines of their own).
	for _, c := range []struct {
		role, cg string
		pid      int
	}{{"board", tb.env["BOARD_CGROUP"], board.cmd.Process.Pid}, {"cloud", tb.env["CLOUD_CGROUP"], cloud.cmd.Process.Pid}} {
		if c.cg == "" {
			t.Logf("no writable cgroup cpu controller: the %s's CPU is not limited or reserved", c.role)
			continue
		}
		procs, err := os.ReadFile(filepath.Join(c.cg, "cgroup.procs"))
		if err != nil || !slices.Contains(strings.Fields(string(procs)), strconv.Itoa(c.pid)) {
			t.Errorf("%s hushbox (pid %d) not in its cgroup %s: %q %v", c.role, c.pid, c.cg, procs, err)
		}
		if w := cgroupWeight(c.cg); w != "10000" && w != "102400" {
			t.Errorf("%s cgroup %s: CPU weight %q, want the highest (v2 10000, v1 102400)", c.role, c.cg, w)
		}
	}
	if !strings.Contains(cloud.stderr.String(), "ports 20000-20099") {
		t.Errorf("the cloud role does not relay on its narrow default range:\n%s", cloud.stderr.String())
	}

	// Reachability through the router, and the LAN kept apart.
	for _, c := range []struct {
		from, to string
		port     int
		want     bool
	}{
		{"remote", boardWAN, 5060, true},
		{"attacker", boardWAN, 5060, true},
		{"attacker", boardWAN, 8443, true},
		{"remote", tb.env["CLOUD_IP"], 5060, true},
		{"board", tb.env["CLOUD_IP"], 8443, true},
		{"lan", boardLAN, 5060, true},
		{"remote", tb.env["LAN_IP"], 5060, false},
		{"attacker", boardLAN, 5060, false},
	} {
		if ok, out := tb.tcpConnect(c.from, c.to, c.port); ok != c.want {
			t.Errorf("TCP %s -> %s:%d connected=%v, want %v (%s)", c.from, c.to, c.port, ok, c.want, out)
		}
	}

	// The LAN phone registers 101 and answers, echoing the caller's RTP.
	lanIP := tb.env["LAN_IP"]
	_, reg101 := tb.nsSipp("lan", lanIP, 5070, "register.xml", boardLAN+":5060", "-s", "101", "-au", "101", "-ap", "pw-101-testbed")
	if err := reg101(); err != nil {
		t.Fatalf("LAN phone registration: %v\n%s", err, board.stderr.String())
	}
	_, uas := tb.nsSipp("lan", lanIP, 5070, "uas_answer.xml", "", "-s", "101", "-aa", "-mp", "6000", "-rtp_echo", "-key", "probe_port", "6000")
	// The remote phone registers 201 with the WAN address, then calls 101.
	remoteIP := tb.env["REMOTE_IP"]
	_, reg201 := tb.nsSipp("remote", remoteIP, 5080, "register.xml", boardWAN+":5060", "-s", "201", "-au", "201", "-ap", "pw-201-testbed")
	if err := reg201(); err != nil {
		t.Fatalf("remote phone registration through the router: %v\n%s", err, board.stderr.String())
	}
	_, uac := tb.nsSipp("remote", remoteIP, 5080, "uac_call.xml", boardWAN+":5060", "-s", "101", "-key", "caller", "201",
		"-au", "201", "-ap", "pw-201-testbed", "-mp", "6100")

	// While the call lasts, the board's relay counts packets both ways.
	var aToB, bToA uint64
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		out, err := exec.Command(hushboxBin, "calls", "--json", "--data", boardData).Output()
		if err == nil {
			var calls []struct {
				From        string `json:"from"`
				To          string `json:"to"`
				PacketsAtoB uint64 `json:"packets_a_to_b"`
				PacketsBtoA uint64 `json:"packets_b_to_a"`
			}
			if json.Unmarshal(out, &calls) == nil {
				for _, c := range calls {
					aToB, bToA = max(aToB, c.PacketsAtoB), max(bToA, c.PacketsBtoA)
				}
			}
		}
		if aToB >= 100 && bToA >= 100 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := uac(); err != nil {
		t.Errorf("remote caller: %v", err)
	}
	if err := uas(); err != nil {
		t.Errorf("LAN callee: %v", err)
	}
	t.Logf("board relay: %d packets remote->LAN, %d LAN->remote", aToB, bToA)
	if aToB < 100 || bToA < 100 {
		t.Errorf("RTP through the board: %d packets remote->LAN, %d back; want 100 each way (2 s)", aToB, bToA)
	}
	out, err := exec.Command(hushboxBin, "cdr", "--csv", "--data", boardData).Output()
	if err != nil {
		t.Fatalf("cdr: %v", err)
	}
	recs, err := parseCDRCSV(string(out))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := findCDR(recs, "201", "101", "ANSWERED"); !ok {
		t.Errorf("no ANSWERED 201 -> 101 call record:\n%s", out)
	}

	tb.assertContained(t)
	if t.Failed() {
		t.Logf("board log:\n%s", lastBytes([]byte(board.stderr.String()), 6000))
	}
}

// assertContained checks that the test bed is invisible from the host: no
// test-bed address or interface in the host's namespace, every interface
// of the test bed paired with another of its namespaces, and every route
// inside the test bed's 10.71.0.0/16.
func (tb *testbed) assertContained(t *testing.T) {
	t.Helper()
	host, err := exec.Command("ip", "-o", "addr").Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(host), "10.71.") {
		t.Errorf("a test-bed address is on the host:\n%s", host)
	}
	links, err := exec.Command("ip", "-o", "link").Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(links), tb.env["PREFIX"]) {
		t.Errorf("a host interface is paired with the test bed:\n%s", links)
	}
	for _, role := range []string{"lan", "board", "wan", "remote", "cloud", "attacker"} {
		out, err := tb.run(role, 10*time.Second, "ip", "-o", "link")
		if err != nil {
			t.Fatalf("links in %s: %v %s", role, err, out)
		}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if strings.Contains(line, "LOOPBACK") {
				continue
			}
			_, peerNS, ok := strings.Cut(line, "link-netns ")
			if !ok || !strings.HasPrefix(strings.Fields(peerNS)[0], tb.env["PREFIX"]) {
				t.Errorf("%s: interface not paired inside the test bed: %s", role, line)
			}
		}
		routes, err := tb.run(role, 10*time.Second, "ip", "-4", "route")
		if err != nil {
			t.Fatalf("routes in %s: %v", role, err)
		}
		for _, line := range strings.Split(strings.TrimSpace(routes), "\n") {
			if line != "" && !strings.Contains(line, "10.71.") {
				t.Errorf("%s: route outside the test bed: %s", role, line)
			}
		}
	}
}

// cgroupWeight is a cgroup's CPU weight: cgroup v2 cpu.weight, else v1
// cpu.shares ("" when neither can be read).
func cgroupWeight(cg string) string {
	for _, f := range []string{"cpu.weight", "cpu.shares"} {
		if b, err := os.ReadFile(filepath.Join(cg, f)); err == nil {
			return strings.TrimSpace(string(b))
		}
	}
	return ""
}
