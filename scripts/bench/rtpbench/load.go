package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	"sync"
	"sync/atomic"
	"time"

	"hushbox/pbx/srtp"
)

const (
	frameBytes = 160 // 20 ms of G.711 at 8 kHz
	ptime      = 20 * time.Millisecond
	ringSize   = 1024 // send times kept per stream: 20 s at 50 packets/s
	sendTick   = time.Millisecond
	maxCalls   = 5000 // every load is bounded
)

// party is one end of a call: a UDP socket that sends a G.711 stream to
// dst and receives the other end's stream. ring holds the send time of its
// recent packets, (seq << 48) | nanoseconds since start, for the peer's
// receiver to compute latency.
type party struct {
	conn *net.UDPConn
	dst  netip.AddrPort
	ssrc uint32
	seq  uint16
	ts   uint32
	enc  *srtp.Context // nil without SRTP: encrypts what it sends
	dec  *srtp.Context // decrypts what it receives
	peer *party
	ring [ringSize]atomic.Uint64
}

// loadConfig is one load step.
type loadConfig struct {
	target         string // hushbox, rtpengine or direct
	calls          int
	warmup, window time.Duration
	srtp, scramble bool
	ng             string // rtpengine NG address
	pid            int    // rtpengine's PID (hushbox: the harness child)
	ports          string // hushbox harness port range
	// The relay child's conditions (hushbox only): its GOMAXPROCS (0: Go's
	// default), a CPU cgroup directory it is moved into (a capped board),
	// and a collection forced every gcEvery over a live heap of liveMB
	// (the daemon's collections, denser).
	relayProcs  int
	relayCgroup string
	gcEvery     time.Duration
	liveMB      int
	// Bursts of CPU work in the relay process besides the relay (the
	// daemon's other goroutines): every burstEvery, burstGoroutines
	// goroutines of burstWork hashes each.
	burstEvery      time.Duration
	burstWork       int
	burstGoroutines int
	self            string // this program, for the harness child
}

// runLoad parses the load flags, runs one step and prints its result line.
func runLoad(args []string) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	var c loadConfig
	fs.StringVar(&c.target, "target", "hushbox", "hushbox, rtpengine or direct (no relay: the loopback floor)")
	fs.IntVar(&c.calls, "calls", 10, "concurrent calls (two G.711 streams each)")
	fs.DurationVar(&c.warmup, "warmup", time.Second, "load before the measured window")
	fs.DurationVar(&c.window, "window", 4*time.Second, "measured window")
	fs.BoolVar(&c.srtp, "srtp", false, "hushbox: SRTP on both legs")
	fs.BoolVar(&c.scramble, "scramble", false, "hushbox: scrambler hook on")
	fs.StringVar(&c.ng, "ng", "127.0.0.1:2223", "rtpengine NG control address")
	fs.IntVar(&c.pid, "pid", 0, "rtpengine PID (CPU accounting)")
	fs.StringVar(&c.ports, "ports", "30000-39999", "hushbox harness port range")
	fs.IntVar(&c.relayProcs, "relay-gomaxprocs", 0, "hushbox: the relay process's GOMAXPROCS (0: Go's default)")
	fs.StringVar(&c.relayCgroup, "relay-cgroup", "", "hushbox: CPU cgroup directory to move the relay process into")
	fs.DurationVar(&c.gcEvery, "gc-every", 0, "hushbox: force a collection in the relay process this often (0: never)")
	fs.IntVar(&c.liveMB, "live-mb", 4, "hushbox: live heap the collections mark, MB (with -gc-every)")
	fs.DurationVar(&c.burstEvery, "burst-every", 0, "hushbox: a burst of CPU work in the relay process this often (0: never)")
	fs.IntVar(&c.burstWork, "burst-work", 4000, "hushbox: SHA-256 hashes of 1 KiB per goroutine of a burst")
	fs.IntVar(&c.burstGoroutines, "burst-goroutines", 1, "hushbox: goroutines per burst")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.calls < 1 || c.calls > maxCalls {
		return fmt.Errorf("load: -calls %d outside 1..%d", c.calls, maxCalls)
	}
	if c.window <= 0 || c.window > 5*time.Minute || c.warmup < 0 || c.warmup > time.Minute {
		return fmt.Errorf("load: -window/-warmup out of range")
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	c.self = self
	res, err := loadStep(c)
	if err != nil {
		return err
	}
	fmt.Println(res)
	return nil
}

// loadStep sets up the calls, runs warm-up and window, and returns the
// result line.
func loadStep(c loadConfig) (string, error) {
	parties, pid, teardown, err := setupCalls(&c)
	if teardown != nil {
		defer teardown()
	}
	if err != nil {
		return "", err
	}
	defer func() {
		for _, p := range parties {
			p.conn.Close()
		}
	}()

	start := time.Now()
	now := func() int64 { return int64(time.Since(start)) }
	w0 := int64(c.warmup)
	w1 := w0 + int64(c.window)
	var sent atomic.Int64

	// Receivers: one goroutine per party socket.
	type recvResult struct {
		lat []int64
		jit float64
	}
	results := make([]recvResult, len(parties))
	var rwg sync.WaitGroup
	for i, p := range parties {
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			var j jitter
			lat := make([]int64, 0, int(c.window/ptime)+16)
			buf := make([]byte, 2048)
			for {
				n, err := p.conn.Read(buf)
				t := now()
				if err != nil {
					if errors.Is(err, net.ErrClosed) {
						break
					}
					continue
				}
				pkt := buf[:n]
				if p.dec != nil {
					if pkt, err = p.dec.DecryptRTP(pkt); err != nil {
						continue
					}
				}
				if len(pkt) < 12 {
					continue
				}
				seq := binary.BigEndian.Uint16(pkt[2:])
				v := p.peer.ring[int(seq)%ringSize].Load()
				if uint16(v>>48) != seq {
					continue
				}
				sentAt := int64(v & (1<<48 - 1))
				if sentAt < w0 || sentAt >= w1 {
					continue
				}
				lat = append(lat, t-sentAt)
				j.add(t - sentAt)
			}
			results[i] = recvResult{lat: lat, jit: j.j}
		}()
	}

	// Senders: two goroutines, each stream at its own phase in the 20 ms
	// period, paced on a 1 ms tick from an absolute schedule.
	const senders = 2
	var swg sync.WaitGroup
	end := w1 + int64(200*time.Millisecond) // a tail so the window's packets drain
	for g := 0; g < senders; g++ {
		var mine []*party
		for i := g; i < len(parties); i += senders {
			mine = append(mine, parties[i])
		}
		swg.Add(1)
		go func() {
			defer swg.Done()
			send(mine, now, end, w0, w1, &sent)
		}()
	}
	// The relay's CPU over the window, read on the senders' timeline.
	var cpuS float64
	if pid > 0 {
		sleepUntil(now, w0)
		c0, err0 := procCPU(pid)
		sleepUntil(now, w1)
		c1, err1 := procCPU(pid)
		if err := errors.Join(err0, err1); err != nil {
			fmt.Fprintln(os.Stderr, "rtpbench:", err)
		} else {
			cpuS = c1 - c0
		}
	}
	swg.Wait()
	time.Sleep(300 * time.Millisecond)

	// CPU is taken over the window by a separate sampler; see measureCPU.
	for _, p := range parties {
		p.conn.Close()
	}
	rwg.Wait()
	var lat []int64
	var jit []float64
	for _, r := range results {
		lat = append(lat, r.lat...)
		jit = append(jit, r.jit)
	}
	s := summarise(sent.Load(), lat, jit)
	return formatResult(c, s, cpuS), nil
}

// sleepUntil sleeps until now() reaches t (ns since start).
func sleepUntil(now func() int64, t int64) {
	if d := t - now(); d > 0 {
		time.Sleep(time.Duration(d))
	}
}

// formatResult is the one line a step prints (parsed by scripts/bench/run.sh).
func formatResult(c loadConfig, s summary, cpuS float64) string {
	mode := "plain"
	switch {
	case c.srtp && c.scramble:
		mode = "srtp+scramble"
	case c.srtp:
		mode = "srtp"
	case c.scramble:
		mode = "scramble"
	}
	win := c.window.Seconds()
	pps := float64(s.Received) / win
	ppc := 0.0
	if cpuS > 0 {
		ppc = float64(s.Received) / cpuS
	}
	return fmt.Sprintf("relay target=%s mode=%s calls=%d sent=%d received=%d loss_pct=%.3f pps=%.0f cpu_s=%.2f cpu_pct=%.0f pps_per_core=%.0f p50_us=%.0f p99_us=%.0f max_us=%.0f jitter_us=%.1f",
		c.target, mode, c.calls, s.Sent, s.Received, s.lossPct(), pps, cpuS, cpuS/win*100, ppc,
		float64(s.P50)/1e3, float64(s.P99)/1e3, float64(s.Max)/1e3, s.JitterMean/1e3)
}

// send paces the streams of ps until end (ns since start), counting the
// packets sent inside [w0, w1).
func send(ps []*party, now func() int64, end, w0, w1 int64, sent *atomic.Int64) {
	slots := int(ptime / sendTick)
	bySlot := make([][]*party, slots)
	for i, p := range ps {
		bySlot[i%slots] = append(bySlot[i%slots], p)
	}
	payload := make([]byte, frameBytes)
	for i := range payload {
		payload[i] = byte(rand.IntN(256))
	}
	buf := make([]byte, 12+frameBytes, 12+frameBytes+64)
	var inWindow int64
	for k := int64(0); ; k++ {
		due := k * int64(sendTick)
		if due >= end {
			break
		}
		if d := due - now(); d > 0 {
			time.Sleep(time.Duration(d))
		}
		for _, p := range bySlot[k%int64(slots)] {
			p.seq++
			p.ts += frameBytes
			buf = buf[:12+frameBytes]
			buf[0], buf[1] = 0x80, 0 // V=2, PT 0 (PCMU)
			binary.BigEndian.PutUint16(buf[2:], p.seq)
			binary.BigEndian.PutUint32(buf[4:], p.ts)
			binary.BigEndian.PutUint32(buf[8:], p.ssrc)
			copy(buf[12:], payload)
			t := now()
			p.ring[int(p.seq)%ringSize].Store(uint64(p.seq)<<48 | uint64(t)&(1<<48-1))
			out := buf
			if p.enc != nil {
				var err error
				if out, err = p.enc.EncryptRTP(buf); err != nil {
					continue
				}
			}
			if _, err := p.conn.WriteToUDPAddrPort(out, p.dst); err != nil {
				continue
			}
			if t >= w0 && t < w1 {
				inWindow++
			}
		}
	}
	sent.Add(inWindow)
}

// setupCalls opens two sockets per call and routes them through the
// target; it also starts the CPU sampler of the relay process.
func setupCalls(c *loadConfig) (ps []*party, relayPID int, teardown func(), err error) {
	parties := ps
	lo := netip.MustParseAddr("127.0.0.1")
	for i := 0; i < c.calls; i++ {
		for leg := 0; leg < 2; leg++ {
			conn, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(lo, 0)))
			if err != nil {
				return parties, 0, nil, fmt.Errorf("load: socket: %w", err)
			}
			_ = conn.SetReadBuffer(1 << 20)
			parties = append(parties, &party{conn: conn, ssrc: rand.Uint32(), seq: uint16(rand.IntN(65536))})
		}
		a, b := parties[2*i], parties[2*i+1]
		a.peer, b.peer = b, a
	}
	addr := func(p *party) netip.AddrPort { return p.conn.LocalAddr().(*net.UDPAddr).AddrPort() }
	pid := c.pid
	switch c.target {
	case "direct":
		for i := 0; i < c.calls; i++ {
			a, b := parties[2*i], parties[2*i+1]
			a.dst, b.dst = addr(b), addr(a)
		}
	case "rtpengine":
		ng, err := dialNG(c.ng)
		if err != nil {
			return parties, 0, nil, err
		}
		tag := strconv.FormatInt(time.Now().UnixNano(), 36)
		ids := make([]string, c.calls)
		teardown = func() {
			for _, id := range ids {
				if id != "" {
					_ = ng.ngDelete(id)
				}
			}
			ng.Close()
		}
		for i := 0; i < c.calls; i++ {
			a, b := parties[2*i], parties[2*i+1]
			ids[i] = fmt.Sprintf("bench-%s-%d", tag, i)
			toB, toA, err := ng.ngSetup(ids[i], addr(a), addr(b), i+1)
			if err != nil {
				return parties, 0, teardown, err
			}
			a.dst, b.dst = toB, toA
		}
	case "hushbox":
		args := []string{"relay", "-calls", strconv.Itoa(c.calls), "-ports", c.ports}
		if c.srtp {
			args = append(args, "-srtp")
		}
		if c.scramble {
			args = append(args, "-scramble")
		}
		if c.gcEvery > 0 {
			args = append(args, "-gc-every", c.gcEvery.String(), "-live-mb", strconv.Itoa(c.liveMB))
		}
		if c.burstEvery > 0 {
			args = append(args, "-burst-every", c.burstEvery.String(), "-burst-work", strconv.Itoa(c.burstWork),
				"-burst-goroutines", strconv.Itoa(c.burstGoroutines))
		}
		cmd := exec.Command(c.self, args...)
		if c.relayProcs > 0 {
			cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(c.relayProcs))
		}
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return parties, 0, nil, err
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return parties, 0, nil, err
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			return parties, 0, nil, fmt.Errorf("load: harness: %w", err)
		}
		teardown = func() { stdin.Close(); _ = cmd.Wait() }
		pid = cmd.Process.Pid
		if c.relayCgroup != "" {
			if err := os.WriteFile(filepath.Join(c.relayCgroup, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
				return parties, 0, teardown, fmt.Errorf("load: relay cgroup: %w", err)
			}
		}
		sc := bufio.NewScanner(stdout)
		for i := 0; ; i++ {
			if !sc.Scan() {
				return parties, 0, teardown, fmt.Errorf("load: harness ended early: %v", sc.Err())
			}
			line := sc.Text()
			if line == "ready" {
				break
			}
			pa, pb, err := parseSessionLine(line)
			if err != nil || i >= c.calls {
				return parties, 0, teardown, fmt.Errorf("load: %v", err)
			}
			a, b := parties[2*i], parties[2*i+1]
			a.dst = netip.AddrPortFrom(lo, uint16(pa))
			b.dst = netip.AddrPortFrom(lo, uint16(pb))
			if c.srtp {
				for _, x := range []struct {
					p   *party
					leg string
				}{{a, "A"}, {b, "B"}} {
					if x.p.enc, err = srtp.NewEncrypter(benchKey(i, x.leg, "party")); err != nil {
						return parties, 0, teardown, err
					}
					if x.p.dec, err = srtp.NewDecrypter(benchKey(i, x.leg, "relay")); err != nil {
						return parties, 0, teardown, err
					}
				}
			}
		}
		go func() { _, _ = io.Copy(io.Discard, stdout) }()
	default:
		return parties, 0, nil, fmt.Errorf("load: unknown target %q", c.target)
	}
	return parties, pid, teardown, nil
}
