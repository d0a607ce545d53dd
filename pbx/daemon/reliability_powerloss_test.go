package daemon

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"hushbox/pbx/accounts"
	"hushbox/pbx/control"
	"hushbox/pbx/digest"
	"hushbox/pbx/store"
)

// The power-loss test kills a process that is writing to the store with
// SIGKILL at a random moment, many times, and checks after each kill that
// the store opens, passes bbolt's consistency check and holds every write
// the writer had acknowledged. Two writers take turns:
//
//   - `hushbox serve` (the real binary, built once), driven over its control
//     socket: extension adds and password changes, acknowledged when the
//     daemon's HTTP answer arrived;
//   - a store writer helper (this test binary run again with
//     powerLossHelperEnv set), appending CDRs and settings through the store
//     API, acknowledged by a line on its stdout after the call returned.
//
// SIGKILL leaves the page cache intact, so this checks the store's
// transactional atomicity under a crash at any point; that acknowledged
// means fsynced (NoSync false) is checked in pbx/store, and a real power cut
// of the appliance is rootfs/imagetest's TestQemuPowerLoss.

const powerLossHelperEnv = "HUSHBOX_POWERLOSS_HELPER_DIR"

// powerLossBudget bounds the whole test; rounds stop early when it is spent.
const (
	powerLossRounds = 30
	powerLossBudget = 50 * time.Second
)

// acked is the set of writes a writer acknowledged, by kind.
type acked struct {
	mu        sync.Mutex
	exts      map[string]string // number -> password last acknowledged
	pending   map[string]string // number -> password change sent, maybe applied
	cdrs      map[string]bool   // call IDs
	settings  map[string]string
	nextExt   int
	nextCDR   int
	nextSetID int
}

func (a *acked) extNumber() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.nextExt++
	return strconv.Itoa(1000 + a.nextExt)
}

func (a *acked) ackExt(num, pw string) {
	a.mu.Lock()
	a.exts[num] = pw
	a.mu.Unlock()
}

// TestReliabilityPowerLossHelper is the store writer the power-loss test
// runs in a child process; it does nothing in a normal test run.
func TestReliabilityPowerLossHelper(t *testing.T) {
	dir := os.Getenv(powerLossHelperEnv)
	if dir == "" {
		t.Skip("helper process of TestReliabilityPowerLoss only")
	}
	first, _ := strconv.Atoi(os.Getenv(powerLossHelperEnv + "_FIRST"))
	db, err := store.Open(filepath.Join(dir, DBName), store.WithTimeout(10*time.Second))
	if err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
	fmt.Println("ready")
	now := time.Now().UTC()
	for i := first; ; i++ {
		c := store.CDR{CallID: fmt.Sprintf("powerloss-%d@test", i), From: "101", To: "102",
			Start: now, Answer: now, End: now.Add(time.Second), Disposition: store.DispAnswered,
			SIPCode: 200, Codec: "PCMU", Hangup: store.HangupCaller}
		if err := db.AppendCDR(&c); err != nil {
			fmt.Println("error", err)
			os.Exit(3)
		}
		fmt.Println("cdr", c.CallID)
		k, v := fmt.Sprintf("powerloss.key%d", i), fmt.Sprintf("value-%d", i)
		if err := db.SetSetting(k, v); err != nil {
			fmt.Println("error", err)
			os.Exit(3)
		}
		fmt.Println("setting", k, v)
	}
}

func TestReliabilityPowerLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and kills it 30 times")
	}
	dir, err := os.MkdirTemp("", "hbpl")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "hushbox")
	if out, err := exec.Command("go", "build", "-o", bin, "hushbox/cmd/hushbox").CombinedOutput(); err != nil {
		t.Fatalf("go build hushbox/cmd/hushbox: %v\n%s", err, out)
	}
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(data, DBName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := accounts.Add(db, testRealm, "101", "", testPasswords["101"]); err != nil {
		t.Fatal(err)
	}
	db.Close()

	a := &acked{exts: map[string]string{"101": testPasswords["101"]}, pending: map[string]string{}, cdrs: map[string]bool{}, settings: map[string]string{}}
	deadline := time.Now().Add(powerLossBudget)
	rounds := 0
	for r := 0; r < powerLossRounds && time.Now().Before(deadline); r++ {
		killAfter := time.Duration(rand.IntN(250)) * time.Millisecond
		if r%2 == 0 {
			powerLossDaemonRound(t, bin, data, a, killAfter)
		} else {
			powerLossHelperRound(t, data, a, killAfter)
		}
		checkAcked(t, data, a, r)
		if t.Failed() {
			return
		}
		rounds++
	}
	t.Logf("%d rounds: %d extensions, %d CDRs, %d settings acknowledged and found", rounds, len(a.exts), len(a.cdrs), len(a.settings))
	if rounds < 4 {
		t.Fatalf("only %d rounds ran", rounds)
	}

	// The daemon starts on the store after the last kill and lists every
	// acknowledged extension.
	cmd, _ := startServe(t, bin, data)
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	adm := remoteAdmin(t, data)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	list, err := adm.Extensions(ctx)
	if err != nil {
		t.Fatalf("extensions after the last kill: %v", err)
	}
	have := map[string]bool{}
	for _, e := range list {
		have[e.Number] = true
	}
	for num := range a.exts {
		if !have[num] {
			t.Errorf("daemon restarted after the kills does not list acknowledged extension %s", num)
		}
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
}

// startServe runs `hushbox serve` on data with free loopback ports and
// waits for its ready line; the daemon's output is returned for failures.
func startServe(t *testing.T, bin, data string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	port := freeSIPPort(t)
	lo := freeRTPRange(t, 10)
	cmd := exec.Command(bin, "serve", "--data", data, "--sip", "127.0.0.1:"+strconv.Itoa(port), "--sip-tls", "",
		"--rtp-ports", fmt.Sprintf("%d-%d", lo, lo+9), "--web", "", "--peer", "", "--firewall", "off",
		"--realm", testRealm, "--media-ip", "127.0.0.1", "--log-level", "warn")
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	out := &syncBuffer{}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pipe)
		once := sync.Once{}
		for sc.Scan() {
			out.Write([]byte(sc.Text() + "\n"))
			if strings.Contains(sc.Text(), "hushbox: ready") {
				once.Do(func() { close(ready) })
			}
		}
		once.Do(func() { close(ready) })
	}()
	select {
	case <-ready:
	case <-time.After(15 * time.Second):
	}
	if !strings.Contains(out.String(), "hushbox: ready") {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("hushbox serve did not start after a kill:\n%s", out.String())
	}
	return cmd, out
}

// remoteAdmin connects to the running daemon's control socket (never the
// store directly: that would not test the daemon).
func remoteAdmin(t *testing.T, data string) *control.Remote {
	t.Helper()
	adm, err := control.Connect(data, DBName)
	if err != nil {
		t.Fatalf("control socket: %v", err)
	}
	r, ok := adm.(*control.Remote)
	if !ok {
		adm.Close()
		t.Fatal("control.Connect opened the store: the daemon's socket does not answer")
	}
	return r
}

// powerLossDaemonRound starts the daemon, has two clients write over its
// control socket, and SIGKILLs it killAfter later.
func powerLossDaemonRound(t *testing.T, bin, data string, a *acked, killAfter time.Duration) {
	t.Helper()
	cmd, out := startServe(t, bin, data)
	adm := remoteAdmin(t, data)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for ctx.Err() == nil {
				num := a.extNumber()
				pw := "powerloss-pw-" + num
				if _, err := adm.AddExtension(ctx, num, "", pw); err != nil {
					return // the daemon is gone
				}
				a.ackExt(num, pw)
				if w == 1 {
					// Change the password of the extension just added: an
					// update of an existing record.
					pw2 := pw + "-changed"
					a.mu.Lock()
					a.pending[num] = pw2
					a.mu.Unlock()
					if _, err := adm.SetPassword(ctx, num, pw2); err != nil {
						return
					}
					a.ackExt(num, pw2)
				}
			}
		})
	}
	time.Sleep(killAfter)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	cancel()
	wg.Wait()
	if t.Failed() {
		t.Logf("daemon output:\n%s", out.String())
	}
}

// powerLossHelperRound runs the store writer helper and SIGKILLs it
// killAfter after it opened the store.
func powerLossHelperRound(t *testing.T, data string, a *acked, killAfter time.Duration) {
	t.Helper()
	a.mu.Lock()
	first := a.nextCDR
	a.nextCDR += 1_000_000
	a.mu.Unlock()
	cmd := exec.Command(os.Args[0], "-test.run", "^TestReliabilityPowerLossHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), powerLossHelperEnv+"="+data, powerLossHelperEnv+"_FIRST="+strconv.Itoa(first))
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1024)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var killed bool
	var timer <-chan time.Time
	var errs []string
	for line := range lines {
		f := strings.Fields(line)
		switch {
		case line == "ready":
			timer = time.After(killAfter)
		case len(f) == 2 && f[0] == "cdr":
			a.mu.Lock()
			a.cdrs[f[1]] = true
			a.mu.Unlock()
		case len(f) == 3 && f[0] == "setting":
			a.mu.Lock()
			a.settings[f[1]] = f[2]
			a.mu.Unlock()
		case len(f) > 0 && f[0] == "error":
			errs = append(errs, line)
		}
		if !killed && timer != nil {
			select {
			case <-timer:
				_ = cmd.Process.Signal(syscall.SIGKILL)
				killed = true
			default:
			}
		}
	}
	_ = cmd.Wait()
	if !killed {
		t.Fatalf("store writer helper ended on its own: %v", errs)
	}
	if len(errs) > 0 {
		t.Fatalf("store writer helper: %v", errs)
	}
}

// checkAcked checks the store after a kill: bbolt's consistency check and
// a full decode (store.ValidateSnapshot), then every acknowledged write.
func checkAcked(t *testing.T, data string, a *acked, round int) {
	t.Helper()
	path := filepath.Join(data, DBName)
	if err := store.ValidateSnapshot(path); err != nil {
		t.Fatalf("round %d: store damaged after SIGKILL: %v", round, err)
	}
	db, err := store.Open(path)
	if err != nil {
		t.Fatalf("round %d: store does not open after SIGKILL: %v", round, err)
	}
	defer db.Close()
	a.mu.Lock()
	defer a.mu.Unlock()
	for num, pw := range a.exts {
		e, err := db.Extension(num)
		if err != nil {
			t.Errorf("round %d: acknowledged extension %s lost: %v", round, num, err)
			continue
		}
		got := e.HA1("MD5")
		if got != digest.HA1(digest.MD5, num, testRealm, pw) &&
			(a.pending[num] == "" || got != digest.HA1(digest.MD5, num, testRealm, a.pending[num])) {
			t.Errorf("round %d: extension %s does not have its last acknowledged password", round, num)
		}
	}
	cdrs, err := db.CDRs(store.CDRQuery{})
	if err != nil {
		t.Fatalf("round %d: CDRs: %v", round, err)
	}
	have := map[string]bool{}
	for _, c := range cdrs {
		have[c.CallID] = true
	}
	for id := range a.cdrs {
		if !have[id] {
			t.Errorf("round %d: acknowledged CDR %s lost", round, id)
		}
	}
	for k, v := range a.settings {
		got, ok, err := db.Setting(k)
		if err != nil || !ok || got != v {
			t.Errorf("round %d: acknowledged setting %s=%s reads %q, %v, %v", round, k, v, got, ok, err)
		}
	}
}
