package interop

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The host-stall probe: how long the machine under the test bed (a virtual
// machine on a shared host) did not run one of its own CPUs. A stolen
// virtual CPU freezes whatever runs on it, the board's relay included,
// while the other CPU goes on: the path then holds packets for as long as
// the host kept the CPU, a silence no code in the box can shorten. This
// VM's /proc/stat reports no steal time, so the probe measures it: one
// thread per CPU, pinned to it at real-time priority (SCHED_FIFO 1, above
// every ordinary task, so the guest's own scheduler never delays it),
// sleeps stallTick at a time; a wake-up later than stallMin means the CPU
// ran nothing of this machine's tasks for that long. stallMin is above
// what the guest's own kernel can take a CPU for: a softirq's network
// work stops after 2 ticks (8 ms here) and hands the rest to ksoftirqd, an
// ordinary task. On an idle 2-CPU VM here the probe saw 7-18 ms late
// wake-ups within seconds, and 90-155 ms ones during hand-off runs; one of
// 155 ms was that run's longest heard gap, to the millisecond.
//
// The probe runs in a process of its own (this test binary started with
// stallProbeEnv set, see TestMain), whose threads may block in a system
// call without taking a P from the test's own goroutines.
const (
	stallProbeEnv = "HUSHBOX_STALL_PROBE"
	stallTick     = 2 * time.Millisecond
	stallMin      = 20 * time.Millisecond
)

// hostStall is a time the host did not run one of this machine's CPUs.
type hostStall struct {
	cpu  int
	from time.Time
	d    time.Duration
}

func (s hostStall) end() time.Time { return s.from.Add(s.d) }

// runStallProbe is the probe process: it prints "rt" or "nort" (whether it
// got real-time priority), then one line per stall, "UNIXNANO CPU NS",
// until its stdin closes.
func runStallProbe() {
	runtime.GOMAXPROCS(runtime.NumCPU() + 2) // a thread back from its sleep always finds a P
	var out sync.Mutex
	rt := true
	var ready sync.WaitGroup
	start := make(chan struct{}) // closed once the first line is out
	for cpu := range runtime.NumCPU() {
		ready.Add(1)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread ends with the process
			var set unix.CPUSet
			set.Set(cpu)
			err := unix.SchedSetaffinity(0, &set)
			if err == nil {
				err = unix.SchedSetAttr(0, &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_FIFO, Priority: 1}, 0)
			}
			out.Lock()
			rt = rt && err == nil
			out.Unlock()
			ready.Done()
			<-start
			ts := unix.NsecToTimespec(int64(stallTick))
			last := time.Now()
			for {
				unix.Nanosleep(&ts, nil)
				now := time.Now()
				if late := now.Sub(last) - stallTick; late >= stallMin {
					out.Lock()
					fmt.Printf("%d %d %d\n", last.Add(stallTick).UnixNano(), cpu, int64(late))
					out.Unlock()
				}
				last = now
			}
		}()
	}
	ready.Wait()
	out.Lock()
	if rt {
		fmt.Println("rt")
	} else {
		fmt.Println("nort")
	}
	out.Unlock()
	close(start)
	bufio.NewReader(os.Stdin).ReadString('\n') // until the test closes stdin
	os.Exit(0)
}

// stallProbe is a running probe process.
type stallProbe struct {
	cmd    *exec.Cmd
	stdin  interface{ Close() error }
	rt     bool
	mu     sync.Mutex
	stalls []hostStall
	done   chan struct{}
}

// startStallProbe starts the probe; it is stopped with stop (and when the
// test ends).
func startStallProbe(t *testing.T) *stallProbe {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProbe{cmd: exec.Command(self), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), stallProbeEnv+"=1")
	stdin, err := p.cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.stdin = stdin
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("host-stall probe: %v", err)
	}
	sc := bufio.NewScanner(stdout)
	if !sc.Scan() {
		p.cmd.Process.Kill()
		p.cmd.Wait()
		t.Fatalf("host-stall probe did not start: %v", sc.Err())
	}
	p.rt = sc.Text() == "rt"
	go func() {
		defer close(p.done)
		for sc.Scan() {
			if s, ok := parseStall(sc.Text()); ok {
				p.mu.Lock()
				p.stalls = append(p.stalls, s)
				p.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { p.stop() })
	return p
}

// parseStall reads one probe line, "UNIXNANO CPU NS".
func parseStall(line string) (hostStall, bool) {
	f := strings.Fields(line)
	if len(f) != 3 {
		return hostStall{}, false
	}
	at, err1 := strconv.ParseInt(f[0], 10, 64)
	cpu, err2 := strconv.Atoi(f[1])
	d, err3 := strconv.ParseInt(f[2], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || d <= 0 {
		return hostStall{}, false
	}
	return hostStall{cpu: cpu, from: time.Unix(0, at), d: time.Duration(d)}, true
}

// stop ends the probe and returns the stalls it saw, in time order.
func (p *stallProbe) stop() []hostStall {
	if p.stdin != nil {
		p.stdin.Close()
		p.stdin = nil
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			p.cmd.Process.Kill()
			<-p.done
		}
		p.cmd.Wait()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	slices.SortFunc(p.stalls, func(a, b hostStall) int { return a.from.Compare(b.from) })
	return slices.Clone(p.stalls)
}

// stalledWithin is how much of [from, to) some CPU of the host was
// stalled (the union of the stalls, so two CPUs stalled at once count
// once): the share of a silence in that window the host alone explains.
func stalledWithin(stalls []hostStall, from, to time.Time) time.Duration {
	var total time.Duration
	cover := from              // everything before cover is counted already
	for _, s := range stalls { // in time order
		a, b := s.from, s.end()
		if b.Before(cover) || !a.Before(to) {
			continue
		}
		a = maxTime(a, cover)
		b = minTime(b, to)
		if b.After(a) {
			total += b.Sub(a)
			cover = b
		}
	}
	return total
}

// stallsWithin lists the stalls that overlap [from, to), for the log.
func stallsWithin(stalls []hostStall, from, to time.Time) string {
	var parts []string
	for _, s := range stalls {
		if s.end().After(from) && s.from.Before(to) {
			parts = append(parts, fmt.Sprintf("cpu%d %d ms at %s", s.cpu, s.d.Milliseconds(), s.from.Format("15:04:05.000")))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func TestStalledWithin(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 1, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	st := func(cpu, from, d int) hostStall { return hostStall{cpu, ms(from), time.Duration(d) * time.Millisecond} }
	for _, tc := range []struct {
		name     string
		stalls   []hostStall
		from, to int
		want     time.Duration
	}{
		{"none", nil, 0, 100, 0},
		{"inside", []hostStall{st(0, 10, 30)}, 0, 100, 30 * time.Millisecond},
		{"before and after the window", []hostStall{st(0, 0, 10), st(1, 200, 50)}, 20, 100, 0},
		{"cut at the edges", []hostStall{st(0, 0, 30), st(1, 90, 30)}, 20, 100, 20 * time.Millisecond},
		{"two CPUs at once count once", []hostStall{st(0, 10, 40), st(1, 20, 40)}, 0, 100, 50 * time.Millisecond},
		{"one inside another", []hostStall{st(0, 10, 60), st(1, 20, 10)}, 0, 100, 60 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := stalledWithin(tc.stalls, ms(tc.from), ms(tc.to)); got != tc.want {
				t.Errorf("stalledWithin = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseStall(t *testing.T) {
	s, ok := parseStall("1795827492530000000 1 12500000")
	if !ok || s.cpu != 1 || s.d != 12500*time.Microsecond || s.from.UnixNano() != 1795827492530000000 {
		t.Errorf("parseStall = %+v, %v", s, ok)
	}
	for _, bad := range []string{"", "rt", "1 2", "x 1 2", "1 x 2", "1 2 x", "1 2 -5", "1 2 3 4"} {
		if _, ok := parseStall(bad); ok {
			t.Errorf("parseStall(%q) accepted", bad)
		}
	}
}

// The probe sees a stall it is made to have: its own process stopped
// (SIGSTOP) for 150 ms is, to its threads, a CPU the host did not run.
func TestStallProbeSeesAStop(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a probe process")
	}
	p := startStallProbe(t)
	time.Sleep(50 * time.Millisecond)
	if err := p.cmd.Process.Signal(unix.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	time.Sleep(150 * time.Millisecond)
	p.cmd.Process.Signal(unix.SIGCONT)
	time.Sleep(50 * time.Millisecond)
	stalls := p.stop()
	found := false
	for _, s := range stalls {
		if s.d >= 120*time.Millisecond && s.d < 2*time.Second && s.from.Sub(stopped).Abs() < 50*time.Millisecond {
			found = true
		}
	}
	if !found {
		t.Errorf("a 150 ms stop at %s not seen; stalls: %s", stopped.Format("15:04:05.000"),
			stallsWithin(stalls, stopped.Add(-time.Second), stopped.Add(time.Second)))
	}
	if os.Geteuid() == 0 && !p.rt {
		t.Errorf("the probe runs as root but got no real-time priority")
	}
}
