package interop

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"hushbox/audio/wav"
	"hushbox/pbx/control"
	"hushbox/pbx/guard"
	"hushbox/pbx/handoff"
	"hushbox/pbx/store"
	"hushbox/pbx/web"
)

// The hand-off scenario of issue 7 ("Show it works"), in the namespace test
// bed: a board (CPU limited by its cgroup to a Pi 2's worth of this host's
// CPU) and its paired cloud peer; 20 remote phones on the WAN each in a call
// with a LAN phone, RTP both ways all along; the board's unguarded capacity
// is measured first (testbed_capacity_test.go), then an attacker floods the
// board's WAN address at 10 times it from 50 source addresses while a few
// legitimate calls are tried from the WAN; the board
// moves the remote legs to the cloud (pressure trigger, or forced through
// `hushbox handoff` when the trigger does not fire, which the summary says)
// and back once the flood is over. tshark in the phone namespaces records
// when each RTP packet arrived at each party.
//
// Asserted: no call dropped (no phone saw its call end before the test
// hung up), RTP reached every party all along (no silence of 2 s or more),
// every remote call was on the cloud and came back, and one call's speech
// still correlates with its source after both hand-offs. Measured and
// printed (targets in docs/benchmarks.md, not asserted): the longest RTP
// gap of each party, the time to move all calls, the SIP datagrams per
// second the guard refused, and call setup success during the flood. The
// last line is the summary:
//
//	testbed-handoff: dropped=0 max_gap_ms=X heard_max_gap_ms=H moved_ms=Y ... setup_success=S% ... unguarded_cps=C flood_x=F ... gap_ms=before:..,flood:..,handoff:..,cloud:..,handback:..,after:.. heard_gap_ms=... host_stall_max_ms=S max_gap_ms_less_host_stalls=U relay_hold_max_ms=board:B,cloud:C
//
// max_gap_ms and gap_ms are the gaps the path made (pathGap: what a party
// would hear from a peer that sends on time); heard_max_gap_ms and
// heard_gap_ms what the test bed's phones heard, their own senders' stalls
// on this shared host included. host_stall_max_ms is the longest time the
// host kept one of this machine's CPUs (the probe in
// testbed_hoststall_test.go), and max_gap_ms_less_host_stalls the longest
// path silence less the time within it that some CPU was so stalled.
// relay_hold_max_ms is the longest time the board's and the cloud's relay
// left datagrams in their sockets (their logs' "media: relay held packets"
// lines, holds of 20 ms or more; 0: none that long).

// Sizes and bounds of the scenario.
const (
	hoCalls     = 20               // concurrent remote <-> LAN calls
	hoProbes    = 4                // phones trying calls in parallel during the flood
	hoFloodX    = 10               // the flood is this many times the board's unguarded capacity (HUSHBOX_TESTBED_FLOOD_X overrides)
	hoFloodMax  = 200000           // attacker datagrams per second at most (the flooder's cap: 4 000 000 in hoFloodTime)
	hoFloodRate = 10000            // attacker datagrams per second when the capacity is unknown
	hoFloodTime = 20 * time.Second // how long the attacker floods
	hoFloodSrcs = 50               // attacker source addresses
	// hoBoardCPU: the board's share of one of this host's cores, in CFS
	// periods of 10 ms (scripts/testbed.sh): a Raspberry Pi 2's four
	// 900 MHz Cortex-A7 cores against one 2.1 GHz Zen core (the estimate is
	// in docs/benchmarks.md, "DoS and hand-off").
	hoBoardCPU   = "40"
	hoRTPBase    = 30000                  // phone i uses RTP port hoRTPBase+2i
	hoSIPBase    = 5100                   // phone i uses SIP port hoSIPBase+i
	hoMoveWait   = 15 * time.Second       // how long the pressure trigger may take to move the calls
	hoHighFor    = 500 * time.Millisecond // high pressure this long moves the calls
	hoLowFor     = 15 * time.Second       // normal pressure this long brings the calls back
	hoReturnWait = 40 * time.Second       // how long that may take after the flood
	hoPhoneBound = 6 * time.Minute        // the longest any phone process may live
	// hoStallLimit: a silence this long means the media stopped (a call
	// whose media really stops, e.g. to a freed relay, stays silent until
	// the hang-up, tens of seconds). Shorter gaps are the figure measured
	// against the 60 ms target and printed (max_gap_ms), not a failure: on
	// a shared 2-core host the 40 phone processes alone pause for 1-2 s.
	hoStallLimit = 5 * time.Second
)

// handoffStatus is `hushbox handoff status` (GET /api/handoff).
type handoffStatus struct {
	Where    string         `json:"where"`
	Forced   bool           `json:"forced"`
	Pressure int            `json:"pressure"`
	Calls    int            `json:"calls"`
	OnCloud  int            `json:"on_cloud"`
	Log      []handoffEntry `json:"log"`
}

// handoffEntry is one leg's move in the hand-off log.
type handoffEntry struct {
	Time    time.Time `json:"time"`
	CallID  string    `json:"call_id"`
	Leg     string    `json:"leg"`
	To      string    `json:"to"`
	OK      bool      `json:"ok"`
	Error   string    `json:"error"`
	MS      int64     `json:"ms"`
	Trigger string    `json:"trigger"`
	Batch   uint64    `json:"batch"`
}

// handoffResult is what `hushbox handoff cloud|board` prints.
type handoffResult struct {
	To      string `json:"to"`
	Moved   int    `json:"moved"`
	Failed  int    `json:"failed"`
	Skipped int    `json:"skipped"`
	MS      int64  `json:"ms"`
}

// hoSentences are Harvard sentences (IEEE 1969), distinct so that the
// speech has no period a correlation could lock onto: about 135 s spoken,
// so that speech is still playing 10 s after a late hand-back.
var hoSentences = []string{
	"The birch canoe slid on the smooth planks.", "Glue the sheet to the dark blue background.",
	"It's easy to tell the depth of a well.", "These days a chicken leg is a rare dish.",
	"Rice is often served in round bowls.", "The juice of lemons makes fine punch.",
	"The box was thrown beside the parked truck.", "The hogs were fed chopped corn and garbage.",
	"Four hours of steady work faced us.", "A large size in stockings is hard to sell.",
	"The boy was there when the sun rose.", "A rod is used to catch pink salmon.",
	"The source of the huge river is the clear spring.", "Kick the ball straight and follow through.",
	"Help the woman get back to her feet.", "A pot of tea helps to pass the evening.",
	"Smoky fires lack flame and heat.", "The soft cushion broke the man's fall.",
	"The salt breeze came across from the sea.", "The girl at the booth sold fifty bonds.",
	"The small pup gnawed a hole in the sock.", "The fish twisted and turned on the bent hook.",
	"Press the pants and sew a button on the vest.", "The swan dive was far short of perfect.",
	"The beauty of the view stunned the young boy.", "Two blue fish swam in the tank.",
	"Her purse was full of useless trash.", "The colt reared and threw the tall rider.",
	"It snowed, rained, and hailed the same morning.", "Read verse out loud for pleasure.",
	"Hoist the load to your left shoulder.", "Take the winding path to reach the lake.",
	"Note closely the size of the gas tank.", "Wipe the grease off his dirty face.",
	"Mend the coat before you go out.", "The wrist was badly strained and hung limp.",
	"The stray cat gave birth to kittens.", "The young girl gave no clear response.",
	"The meal was cooked before the bell rang.", "What joy there is in living.",
	"The small red neon lamp went out.", "Clams are small, round, soft, and tasty.",
	"The wide road shimmered in the hot sun.", "The lazy cow lay in the cool grass.",
	"Lift the square stone over the fence.", "The rope will bind the seven books at once.",
	"Hop over the fence and plunge in.", "The friendly gang left the drug store.",
	"Mesh wire keeps chicks inside.", "The frosty air passed through the coat.",
	"The crooked maze failed to fool the mouse.", "Adding fast leads to wrong sums.",
	"The show was a flop from the very start.", "A saw is a tool used for making boards.",
	"The wagon moved on well oiled wheels.", "March the soldiers past the next hill.",
	"A cup of sugar makes sweet fudge.", "Place a rosebush near the porch steps.",
	"Both lost their lives in the raging storm.", "We talked of the side show in the circus.",
}

func TestTestbedHandoff(t *testing.T) {
	// Opt-in (docs/benchmarks.md, "DoS and hand-off"): 2-4 minutes of a
	// 2-core machine; `make testbed-handoff` runs it.
	if os.Getenv("HUSHBOX_TESTBED_HANDOFF") != "1" {
		t.Skip("the hand-off scenario runs with make testbed-handoff (HUSHBOX_TESTBED_HANDOFF=1)")
	}
	requireRoot(t)
	for _, tool := range []string{"tshark", "curl", "espeak-ng", "sox", "go", "nft"} {
		requireTool(t, tool)
	}
	if buildErr != nil {
		t.Fatalf("hushbox binary: %v", buildErr)
	}
	work := t.TempDir()
	speech, source := speechWAV(t, work, "speech", strings.Join(hoSentences, " "))
	flood := buildFlood(t, work)

	tb := startTestbed(t, "BOARD_CPU_PCT="+hoBoardCPU, "BOARD_CPU_PERIOD_US=10000")
	boardWAN, boardLAN := tb.env["BOARD_WAN_IP"], tb.env["BOARD_LAN_IP"]
	lanIP, remoteIP, cloudIP := tb.env["LAN_IP"], tb.env["REMOTE_IP"], tb.env["CLOUD_IP"]
	if tb.env["BOARD_CGROUP"] == "" {
		t.Log("no writable cgroup cpu controller: the board's CPU is not limited")
	} else {
		t.Logf("board cgroup cpu.max %q", tb.env["BOARD_CPU_MAX"])
	}

	// The attacker's hoFloodSrcs source addresses.
	var addAddrs strings.Builder
	for k := range hoFloodSrcs {
		fmt.Fprintf(&addAddrs, "ip addr add 10.71.5.%d/24 dev eth0 && ", 10+k)
	}
	addAddrs.WriteString("true")
	if out, err := tb.run("attacker", 20*time.Second, "bash", "-c", addAddrs.String()); err != nil {
		t.Fatalf("attacker addresses: %v %s", err, out)
	}
	floodSrcs := fmt.Sprintf("10.71.5.10-10.71.5.%d", 10+hoFloodSrcs-1)

	// What the board serves without its guard (testbed_capacity_test.go),
	// and a flood of hoFloodX times that (or HUSHBOX_TESTBED_FLOOD_X
	// times: `make test` uses 2, a flood the unguarded board cannot serve
	// that leaves this 2-core host's CPU to the phones; 10 times, the
	// issue's figure, is `make testbed-handoff`).
	askedX := floodMultiple(t)
	unguarded, saturated, _ := measureUnguarded(t, tb, work, flood, floodSrcs)
	floodRate := hoFloodRate
	switch {
	case unguarded <= 0:
		t.Errorf("the unguarded capacity was not measured: flooding at %d/s", floodRate)
	default:
		if !saturated {
			t.Logf("the ramp did not saturate the unguarded board: %.0f/s is a lower bound", unguarded)
		}
		floodRate = min(hoFloodMax, int(askedX*unguarded+0.5))
	}
	t.Logf("unguarded capacity %.0f INVITE/s; flood at %d/s", unguarded, floodRate)

	// The board: extensions, a guard that trusts only loopback and its LAN
	// (the default trusts every private address, which in the test bed
	// would include the attacker), and a metrics token to read the guard's
	// counters with.
	boardData := filepath.Join(work, "board")
	token := prepareBoard(t, boardData)
	pw := func(ext int) string { return fmt.Sprintf("pw-%d-handoff", ext) }
	var exts []string
	for i := range hoCalls {
		exts = append(exts, strconv.Itoa(101+i), strconv.Itoa(201+i))
	}
	for k := range hoProbes {
		exts = append(exts, strconv.Itoa(150+k), strconv.Itoa(250+k))
	}
	for _, e := range exts {
		n, _ := strconv.Atoi(e)
		if out, err := exec.Command(hushboxBin, "ext", "add", e, "--password", pw(n), "--data", boardData).CombinedOutput(); err != nil {
			t.Fatalf("ext add %s: %v %s", e, err, out)
		}
	}
	// Every party in the test bed has a private address: the remote
	// phones' subnet is the WAN for the hand-off (docs/handoff.md). The
	// calls come back after 15 s of normal pressure (default 30 s), which
	// keeps the test short.
	t.Setenv("HUSHBOX_HANDOFF_WAN", "10.71.3.0/24")
	t.Setenv("HUSHBOX_HANDOFF_LOW_FOR", hoLowFor.String())
	// Hand off at the first half second of high pressure: a flood that
	// fills the board is no spike to sit out (critical hands off at once).
	t.Setenv("HUSHBOX_HANDOFF_HIGH_FOR", hoHighFor.String())
	common := []string{"--sip", "0.0.0.0:5060", "--web", "0.0.0.0:8443", "--media-timeout", "60s", "--log-level", "info"}
	// The board: no --media-ip, so each party gets the address of the
	// side it reaches (LAN or WAN); the guard's limits in the kernel
	// (nftables, in the board's own namespace) so a flood is cut before
	// it fills the SIP socket.
	// HUSHBOX_TESTBED_PROFILE=dir: each daemon writes CPU and heap
	// profiles and an execution trace there when it stops
	// (board.cpu.pprof, cloud.mem.pprof, board.trace, ...), and its log
	// (board.log, cloud.log). HUSHBOX_TESTBED_LOGS=dir keeps only the
	// logs (no profiler, no tracer: they add bursts of their own).
	profileDir := os.Getenv("HUSHBOX_TESTBED_PROFILE")
	logDir := cmp.Or(profileDir, os.Getenv("HUSHBOX_TESTBED_LOGS"))
	profile := func(role string) {
		if profileDir != "" {
			t.Setenv("HUSHBOX_CPUPROFILE", filepath.Join(profileDir, role+".cpu.pprof"))
			t.Setenv("HUSHBOX_MEMPROFILE", filepath.Join(profileDir, role+".mem.pprof"))
			t.Setenv("HUSHBOX_TRACE", filepath.Join(profileDir, role+".trace"))
		}
	}
	profile("board")
	board := tb.startNSDaemon("board", boardData, append([]string{"--rtp-ports", "20000-20399", "--firewall", "nft"}, common...)...)
	cloudData := filepath.Join(work, "cloud")
	profile("cloud")
	cloud := tb.startNSDaemon("cloud", cloudData, append([]string{"--role", "cloud", "--media-ip", cloudIP}, common...)...)
	if profileDir != "" {
		os.Unsetenv("HUSHBOX_CPUPROFILE") // restored by t.Setenv's cleanup
		os.Unsetenv("HUSHBOX_MEMPROFILE")
		os.Unsetenv("HUSHBOX_TRACE")
	}
	defer func() {
		if logDir != "" {
			for name, d := range map[string]*nsDaemon{"board": board, "cloud": cloud} {
				if err := os.WriteFile(filepath.Join(logDir, name+".log"), []byte(d.stderr.String()), 0o644); err != nil {
					t.Log(err)
				}
			}
		}
		if t.Failed() {
			t.Logf("board log:\n%s", lastBytes([]byte(board.stderr.String()), 12000))
			t.Logf("cloud log:\n%s", lastBytes([]byte(cloud.stderr.String()), 6000))
		}
	}()
	// The board sees its CPU cap as a board under systemd would (the test
	// bed mounts its cgroup hierarchy in the board's namespace): its hold
	// lines then count the cgroup's throttled time.
	boardLimit, boardProcs, _ := parseDaemonCPU(board.stderr.String())
	t.Logf("board: CPU limit %s, GOMAXPROCS %d", boardLimit, boardProcs)
	if pct, err := strconv.Atoi(hoBoardCPU); err == nil && tb.env["BOARD_CPU_MAX"] != "" {
		if want := strconv.FormatFloat(float64(pct)/100, 'f', 2, 64); boardLimit != want {
			t.Errorf("the board under a %s%% CPU cap logs CPU limit %q, want %q", hoBoardCPU, boardLimit, want)
		}
	}
	pairBoardWithCloud(t, tb, boardData, cloudData, cloudIP)
	// Without the hand-off (an older binary) the rest still runs and
	// measures, and the test fails.
	handoffReady := true
	if _, err := handoffCLI(tb, boardData, "status"); err != nil {
		t.Errorf("hushbox handoff status: %v", err)
		handoffReady = false
	}

	// Captures in both phone namespaces: arrival times of the phones' RTP.
	rtpFilter := fmt.Sprintf("udp and portrange %d-%d", hoRTPBase, hoRTPBase+2*hoCalls)
	capRemote := tb.nsCapture("remote", "eth0", filepath.Join(work, "remote.pcap"), rtpFilter, 5*time.Minute)
	capLAN := tb.nsCapture("lan", "eth0", filepath.Join(work, "lan.pcap"), rtpFilter, 5*time.Minute)

	// The LAN phones answer; the remote phones call them, a few at a time
	// (the guard rate-limits the remote phones' shared address too). The
	// speech goes from LAN phone 101 to remote phone 201: the remote side
	// is the one that moves, so what it hears crosses both hand-offs.
	heard := filepath.Join(work, "heard.wav")
	lan := make([]*nsProc, hoCalls)
	remote := make([]*nsProc, hoCalls)
	for i := range hoCalls {
		args := phoneNSArgs(boardLAN, lanIP, 101+i, pw(101+i), i, filepath.Join(work, fmt.Sprintf("id-lan-%d", i)), "--answer")
		if i == 0 {
			args = append(args, "--audio", "wav:"+source+",")
		} else {
			args = append(args, "--no-scramble")
		}
		lan[i] = tb.startNSProc(fmt.Sprintf("lan %d", 101+i), "lan", hoPhoneBound, hushboxBin, args...)
	}
	for i, p := range lan {
		if _, ok := p.waitFor("phone: registered", 30*time.Second); !ok {
			t.Fatalf("LAN phone %d did not register:\n%s", 101+i, p.output())
		}
	}
	for i := range hoCalls {
		args := phoneNSArgs(boardWAN, remoteIP, 201+i, pw(201+i), i, filepath.Join(work, fmt.Sprintf("id-remote-%d", i)),
			"--dial", strconv.Itoa(101+i), "--interactive")
		if i == 0 {
			args = append(args, "--audio", "wav:,"+heard)
		} else {
			args = append(args, "--no-scramble")
		}
		remote[i] = tb.startNSProc(fmt.Sprintf("remote %d", 201+i), "remote", hoPhoneBound, hushboxBin, args...)
		time.Sleep(250 * time.Millisecond)
	}
	var speechStart time.Time
	for i, p := range remote {
		if _, ok := p.waitFor("phone: in call with", 40*time.Second); !ok {
			t.Fatalf("remote phone %d did not get its call answered:\n%s\nLAN phone:\n%s", 201+i, p.output(), lan[i].output())
		}
		if i == 0 {
			l, _ := lan[0].waitFor("phone: in call with", 5*time.Second)
			speechStart = l.at
		}
	}
	if l, ok := remote[0].waitFor("scrambled SAS=", 10*time.Second); !ok {
		t.Errorf("the speech call is not scrambled:\n%s", remote[0].output())
	} else {
		t.Logf("speech call: %s", l.text)
	}
	// The LAN phones that answer the legitimate calls of the flood: up
	// and registered before it, answering every call.
	for k := range hoProbes {
		ans := tb.startNSProc(fmt.Sprintf("probe answer %d", 150+k), "lan", hoPhoneBound, hushboxBin,
			phoneNSArgs(boardLAN, lanIP, 150+k, pw(150+k), 100+k, filepath.Join(work, fmt.Sprintf("id-probe-lan-%d", k)),
				"--interactive", "--no-scramble")...)
		ans.onLine(func(line string) {
			if strings.Contains(line, "phone: incoming call") {
				_ = ans.send("answer")
			}
		})
		if _, ok := ans.waitFor("phone: registered", 30*time.Second); !ok {
			t.Fatalf("LAN phone %d did not register:\n%s", 150+k, ans.output())
		}
	}
	callsUp := time.Now()
	// How long the host kept a CPU from this machine while the calls ran
	// (testbed_hoststall_test.go): a silence of the path no code can
	// shorten, printed beside every gap it overlaps.
	probe := startStallProbe(t)
	throttle := startThrottleSampler(tb.env["BOARD_CGROUP"], 5*time.Millisecond) // testbed_throttle_test.go
	t.Logf("%d calls up; board cgroup %s", hoCalls, cgroupCPU(tb))
	time.Sleep(3 * time.Second)

	// The flood, from hoFloodSrcs addresses of the attacker's namespace.
	t.Logf("before the flood: board cgroup %s", cgroupCPU(tb))
	refusedBefore := guardRefused(t, tb, boardLAN, token)
	kernelBefore := udpRcvbufErrors(tb)
	mon := watchHandoff(t, boardData)
	defer mon.stop()
	floodStart := time.Now()
	attacker := tb.startNSProc("flood", "attacker", hoFloodTime+30*time.Second, flood,
		"-target", boardWAN+":5060", "-rate", strconv.Itoa(floodRate), "-duration", hoFloodTime.String(),
		"-max", strconv.Itoa(floodRate*int(hoFloodTime/time.Second)),
		"-sources", floodSrcs, "-method", "INVITE")

	// Legitimate calls from the WAN while the flood lasts.
	var attempts, setups atomic.Int64
	var probeWG sync.WaitGroup
	for k := range hoProbes {
		probeWG.Add(1)
		go func() {
			defer probeWG.Done()
			for n := 0; time.Since(floodStart) < hoFloodTime-3*time.Second; n++ {
				ok := probeCall(tb, work, k, n, boardWAN, remoteIP, pw)
				attempts.Add(1)
				if ok {
					setups.Add(1)
				}
			}
		}()
	}

	// The move to the cloud: by the pressure trigger, else forced.
	trigger := "pressure"
	var forcedMoveMS int64 = -1
	var movedAt time.Time
	moved := false
	if !handoffReady {
		trigger = "unavailable"
	} else {
		movedAt, moved = mon.waitOnCloud(hoCalls, hoMoveWait)
	}
	if handoffReady && !moved && mon.last().Where == "cloud" && !mon.last().Forced {
		// The trigger fired and its batch still runs (a party that does
		// not answer holds it up to the re-INVITE timeout): let it finish.
		t.Logf("pressure trigger fired; its batch is still running (last status %+v)", mon.last())
		movedAt, moved = mon.waitOnCloud(hoCalls, 40*time.Second)
		if !moved {
			t.Errorf("pressure trigger: the %d remote calls never were all on the cloud; last status %+v", hoCalls, mon.last())
		}
	}
	if handoffReady && !moved && !(mon.last().Where == "cloud" && !mon.last().Forced) {
		trigger = "forced"
		t.Logf("pressure did not move the calls within %v of the flood's start (last status %+v): forcing the hand-off", hoMoveWait, mon.last())
		res, err := handoffCLI(tb, boardData, "cloud")
		if err != nil {
			t.Errorf("hushbox handoff cloud: %v", err)
		} else {
			t.Logf("forced hand-off: %+v", res)
			forcedMoveMS = res.MS
		}
		movedAt, moved = mon.waitOnCloud(hoCalls, 10*time.Second)
	}
	if handoffReady && !moved && trigger == "forced" {
		t.Errorf("the %d remote calls never were all on the cloud; last status %+v", hoCalls, mon.last())
	}
	probeWG.Wait()
	if !attacker.wait(hoFloodTime + 20*time.Second) {
		t.Errorf("flooder did not stop")
	}
	floodEnd := time.Now()
	floodLine, _ := attacker.find("flood: sent=")
	refusedAfter := guardRefused(t, tb, boardLAN, token)
	kernelDropped := udpRcvbufErrors(tb) - kernelBefore
	t.Logf("%s; over %.1f s the guard refused %d datagrams, the board's kernel dropped %d (socket buffer full); board cgroup %s",
		floodLine.text, floodEnd.Sub(floodStart).Seconds(), refusedAfter-refusedBefore, kernelDropped, cgroupCPU(tb))
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		t.Logf("host load: %s", strings.TrimSpace(string(b)))
	}
	t.Logf("pressure in the hand-off status: %v", mon.pressureChanges())
	blog := board.stderr.String()
	t.Logf("board log: %d bans, pressure changes: %q", strings.Count(blog, `msg="source banned"`),
		regexp.MustCompile(`msg="pressure changed".*? from=(\S+) to=(\S+)`).FindAllString(blog, -1))

	// And back once the flood is over.
	var forcedBackMS int64 = -1
	var backAt time.Time
	backBound := hoReturnWait
	if trigger == "forced" {
		backBound = 3 * time.Second // a forced state stays until forced back
	}
	back := false
	if handoffReady {
		backAt, back = mon.waitOnBoard(backBound)
	}
	if handoffReady && !back {
		if trigger == "pressure" {
			trigger = "pressure+forced-back"
			t.Logf("calls not back %v after the flood (last status %+v): forcing the hand-back", backBound, mon.last())
		}
		res, err := handoffCLI(tb, boardData, "board")
		if err != nil {
			t.Errorf("hushbox handoff board: %v", err)
		} else {
			t.Logf("forced hand-back: %+v", res)
			forcedBackMS = res.MS
		}
		backAt, back = mon.waitOnBoard(10 * time.Second)
	}
	if handoffReady && !back {
		t.Errorf("the calls did not come back to the board; last status %+v", mon.last())
	}
	time.Sleep(12 * time.Second) // speech after the hand-back, for the audio check
	windowEnd := time.Now()
	status := mon.last()
	stalls := probe.stop()
	throttled := throttle.stop()
	// The relays' own holds (their logs): a stall of the board's or the
	// cloud's relay holds every stream through it. The board's, with how
	// long its cgroup's quota stopped it within the hold.
	holds := append(parseRelayHolds("board", board.stderr.String()), parseRelayHolds("cloud", cloud.stderr.String())...)
	for i, h := range holds {
		if h.who == "board" {
			holds[i].throttled, holds[i].throttledOK = throttledWithin(throttled, h.from, h.end())
		}
	}
	if !probe.rt {
		t.Log("host-stall probe without real-time priority: its stalls include the guest's own scheduling")
	}

	// Hang up, and see whether any call had ended before.
	hangup := time.Now()
	for _, p := range remote {
		_ = p.send("hangup")
	}
	dropped := 0
	for i := range hoCalls {
		for _, p := range []*nsProc{remote[i], lan[i]} {
			if l, ok := p.find("phone: ended"); ok && l.at.Before(hangup) {
				dropped++
				t.Errorf("%s: call dropped at %s: %s", p.name, l.at.Format("15:04:05.000"), l.text)
				break
			}
		}
	}
	endBy := time.Now().Add(20 * time.Second) // one bound for all of them
	for _, p := range append(append([]*nsProc{}, remote...), lan...) {
		if !p.wait(max(0, time.Until(endBy))) {
			t.Errorf("%s did not end after the hang-up:\n%s", p.name, p.output())
		}
	}

	// RTP at every party, from a second after all calls were up until the
	// hang-up: the silence each heard (heard) and the part of it the path
	// made (path: the sending phone's own stalls on this shared host taken
	// out; pathGap). The sender of what a party hears is captured on the
	// other side.
	from := callsUp.Add(time.Second)
	captured := map[string][]timedDatagram{
		"remote": stopCapture(t, capRemote, filepath.Join(work, "remote.pcap")),
		"lan":    stopCapture(t, capLAN, filepath.Join(work, "lan.pcap")),
	}
	sentBy := map[string]sentRTP{"remote": departures(captured["lan"]), "lan": departures(captured["remote"])}
	type party struct {
		name, side string
		i          int
		addr       netip.AddrPort
	}
	var parties []party
	for _, side := range []string{"lan", "remote"} {
		ip := netip.MustParseAddr(map[string]string{"remote": remoteIP, "lan": lanIP}[side])
		for i := range hoCalls {
			ext := 101 + i
			if side == "remote" {
				ext = 201 + i
			}
			parties = append(parties, party{fmt.Sprintf("%s %d", side, ext), side, i, netip.AddrPortFrom(ip, uint16(hoRTPBase+2*i))})
		}
	}
	heardGap := func(p party, a, b time.Time) flowGap { return longestGap(captured[p.side], p.addr, a, b) }
	// The path's silences over the whole window, each counted in the
	// phase it began in (measured phase by phase, a silence across a
	// boundary would be cut in two and each part under-counted).
	silences := map[string][]flowGap{}
	for _, p := range parties {
		var n int
		silences[p.name] = pathSilences(captured[p.side], sentBy[p.side], p.addr, 8000, from, windowEnd, &n)
	}
	// The same per phase, to tell the flood's own effect from the moves'.
	moveFrom, moveTo, _ := batchSpan(status.Log, "cloud")
	backFrom, backTo, _ := batchSpan(status.Log, "board")
	var phaseGaps, phasePath []string
	for _, ph := range hoPhases(from, floodStart, moveFrom, moveTo, backFrom, backTo, windowEnd) {
		var worst, worstPath time.Duration
		var who, whoPath string
		var worstAt, worstPathAt time.Time
		for _, p := range parties {
			if g := heardGap(p, ph.from, ph.to); g.longest > worst {
				worst, who, worstAt = g.longest, fmt.Sprintf("%s at %s", p.name, g.at.Format("15:04:05.000")), g.at
			}
			for _, g := range silences[p.name] {
				if !g.at.Before(ph.from) && g.at.Before(ph.to) && g.longest > worstPath {
					worstPath, whoPath, worstPathAt = g.longest, fmt.Sprintf("%s at %s", p.name, g.at.Format("15:04:05.000")), g.at
				}
			}
		}
		// Who else was silent in the middle half of that gap: many
		// parties on both sides at once is a stall of the host (or of
		// the board), one party alone its own path.
		shared := map[string]int{}
		if worst >= 100*time.Millisecond {
			a, b := worstAt.Add(worst/4), worstAt.Add(3*worst/4)
			for _, p := range parties {
				if heardGap(p, a, b).packets == 0 {
					shared[p.side]++
				}
			}
		}
		t.Logf("longest RTP gap %s (%s - %s, %.1f s): heard %d ms (%s; silent in its middle half: %d remote, %d LAN parties; host stalls: %s), path %d ms (%s; host stalls: %s; relay holds: %s)",
			ph.name, ph.from.Format("15:04:05.000"), ph.to.Format("15:04:05.000"), ph.to.Sub(ph.from).Seconds(),
			worst.Milliseconds(), who, shared["remote"], shared["lan"], stallsWithin(stalls, worstAt, worstAt.Add(worst)),
			worstPath.Milliseconds(), whoPath, stallsWithin(stalls, worstPathAt, worstPathAt.Add(worstPath)),
			holdsWithin(holds, worstPathAt, worstPathAt.Add(worstPath)))
		phaseGaps = append(phaseGaps, fmt.Sprintf("%s:%d", ph.name, worst.Milliseconds()))
		phasePath = append(phasePath, fmt.Sprintf("%s:%d", ph.name, worstPath.Milliseconds()))
	}
	if !movedAt.IsZero() {
		t.Logf("all calls on the cloud at %s, back at %s; flood %s to %s", movedAt.Format("15:04:05.000"),
			backAt.Format("15:04:05.000"), floodStart.Format("15:04:05.000"), floodEnd.Format("15:04:05.000"))
	}
	var maxGap, maxPath, maxUnstalled time.Duration
	var worstParty party
	var worstSilence, worstUnstalled flowGap
	for _, p := range parties {
		g, pg := heardGap(p, from, windowEnd), longestSilence(silences[p.name], from)
		maxGap, maxPath = max(maxGap, g.longest), max(maxPath, pg.longest)
		// Each silence less the part of it the host held a CPU.
		for _, s := range silences[p.name] {
			if u := s.longest - stalledWithin(stalls, s.at, s.at.Add(s.longest)); u > maxUnstalled {
				maxUnstalled, worstUnstalled = u, s
			}
		}
		if pg.longest > worstSilence.longest {
			worstParty, worstSilence = p, pg
		}
		t.Logf("%-10s %5d packets, longest gap heard %4d ms at %s, path %4d ms at %s", p.name, g.packets,
			g.longest.Milliseconds(), g.at.Format("15:04:05.000"), pg.longest.Milliseconds(), pg.at.Format("15:04:05.000"))
		if g.longest >= hoStallLimit {
			t.Errorf("%s: RTP stopped for %v (from %s)", p.name, g.longest, g.at.Format("15:04:05.000"))
		}
	}
	var hostMax time.Duration
	hostN := 0
	for _, s := range stalls {
		if s.end().After(from) && s.from.Before(windowEnd) {
			hostMax, hostN = max(hostMax, s.d), hostN+1
		}
	}
	t.Logf("host stalls of %v or more during the calls: %d, the longest %d ms; the longest path silence less its host stalls: %d ms (at %s)",
		stallMin, hostN, hostMax.Milliseconds(), maxUnstalled.Milliseconds(), worstUnstalled.at.Format("15:04:05.000"))
	// The longest silence the path made, packet by packet: loss or delay,
	// and which way the packets came (board or cloud).
	if worstSilence.longest > 0 && worstSilence.longest < hoStallLimit {
		t.Logf("the longest path silence, %s at %s (%d ms; host stalls: %s; relay holds: %s), packet by packet (times from its start):", worstParty.name,
			worstSilence.at.Format("15:04:05.000"), worstSilence.longest.Milliseconds(),
			stallsWithin(stalls, worstSilence.at, worstSilence.at.Add(worstSilence.longest)),
			holdsWithin(holds, worstSilence.at, worstSilence.at.Add(worstSilence.longest)))
		for _, line := range silenceTimeline(captured[worstParty.side], sentBy[worstParty.side], worstParty.addr,
			worstSilence.at, worstSilence.longest, 60*time.Millisecond) {
			t.Log("    " + line)
		}
	}

	// The speech call's audio after both hand-offs.
	// The speech call's phones, each captured where it sends: a pause in
	// its sending is its own process not running (this host's load),
	// which the recording shows as a gap no relay made.
	speechPaused := func(a, b time.Time) (string, time.Duration) {
		lanP := longestSendPause(captured["lan"], netip.AddrPortFrom(netip.MustParseAddr(lanIP), hoRTPBase), a, b)
		remP := longestSendPause(captured["remote"], netip.AddrPortFrom(netip.MustParseAddr(remoteIP), hoRTPBase), a, b)
		if lanP.longest >= remP.longest {
			return "lan 101", lanP.longest
		}
		return "remote 201", remP.longest
	}
	checkSpeechAcrossHandoffs(t, speech, heard, speechStart, movedAt, backAt, windowEnd, speechPaused)

	// Times the moves took, from the hand-off log.
	movedMS, movedN := batchMS(status.Log, "cloud", forcedMoveMS)
	backMS, backN := batchMS(status.Log, "board", forcedBackMS)
	t.Logf("hand-off: %d legs in %d ms (first re-INVITE to last 2xx); hand-back: %d legs in %d ms", movedN, movedMS, backN, backMS)
	secs := floodEnd.Sub(floodStart).Seconds()
	refusedCPS := float64(refusedAfter-refusedBefore) / secs
	kernelCPS := float64(kernelDropped) / secs
	success := 0.0
	if attempts.Load() > 0 {
		success = 100 * float64(setups.Load()) / float64(attempts.Load())
	}
	t.Logf("legitimate calls during the flood: %d of %d set up", setups.Load(), attempts.Load())
	if attempts.Load() == 0 {
		t.Errorf("no legitimate call was tried during the flood")
	}
	// The flood's rate as sent, against the unguarded capacity.
	floodSent, _, _ := parseFloodLine(floodLine.text)
	floodX := 0.0
	if unguarded > 0 {
		floodX = floodSent / unguarded
	}
	summary := fmt.Sprintf("testbed-handoff: dropped=%d max_gap_ms=%d heard_max_gap_ms=%d moved_ms=%d moved=%d/%d back_ms=%d refused_cps=%.0f kernel_dropped_cps=%.0f setup_success=%.1f%% (%d/%d) calls=%d trigger=%s board_cpu=%s%%/10ms unguarded_cps=%.0f flood_x=%.1f flood_pps=%.0f gap_ms=%s heard_gap_ms=%s host_stall_max_ms=%d max_gap_ms_less_host_stalls=%d relay_hold_max_ms=board:%d,cloud:%d board_gomaxprocs=%d",
		dropped, maxPath.Milliseconds(), maxGap.Milliseconds(), movedMS, movedN, hoCalls, backMS, refusedCPS, kernelCPS, success, setups.Load(), attempts.Load(), hoCalls, trigger, hoBoardCPU,
		unguarded, floodX, floodSent, strings.Join(phasePath, ","), strings.Join(phaseGaps, ","), hostMax.Milliseconds(), maxUnstalled.Milliseconds(),
		longestHold(holds, "board", from, windowEnd).Milliseconds(), longestHold(holds, "cloud", from, windowEnd).Milliseconds(), boardProcs)
	t.Log(summary)
	fmt.Println(summary)
	tb.assertContained(t)
}

// prepareBoard writes the board's store before it starts: the guard's
// allow-list (loopback and the test bed's LAN only) and the metrics token,
// which it returns.
func prepareBoard(t *testing.T, data string) string {
	t.Helper()
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(data, "hushbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.SetSetting(guard.SettingAllow, `["127.0.0.0/8","10.71.1.0/24"]`); err != nil {
		t.Fatal(err)
	}
	tok, err := db.Secret(web.SecretMetricsToken, 32)
	if err != nil {
		t.Fatal(err)
	}
	// The web page is set up (an admin password nobody knows), so that
	// /metrics answers: a fresh box sends everything to /setup.
	pw, salt := make([]byte, 16), make([]byte, 16)
	rand.Read(pw)
	rand.Read(salt)
	sum := argon2.IDKey(pw, salt, 1, 8*1024, 1, 32)
	phc := fmt.Sprintf("$argon2id$v=%d$m=%d,t=1,p=1$%s$%s", argon2.Version, 8*1024,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(sum))
	if err := db.SetSetting(web.SettingAdminHash, phc); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(tok)
}

// buildFlood builds scripts/flood (the bounded flooder) into dir.
func buildFlood(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "flood")
	if out, err := exec.Command("go", "build", "-o", bin, "hushbox/scripts/flood").CombinedOutput(); err != nil {
		t.Fatalf("build scripts/flood: %v\n%s", err, out)
	}
	return bin
}

// pairBoardWithCloud pairs the board with the cloud peer: the cloud shows
// a code, the board (which reaches the cloud, not the other way round)
// pairs with it.
func pairBoardWithCloud(t *testing.T, tb *testbed, boardData, cloudData, cloudIP string) {
	t.Helper()
	out, err := tb.run("cloud", 30*time.Second, hushboxBin, "peer", "code", "--name", "board", "--data", cloudData)
	if err != nil {
		t.Fatalf("peer code on the cloud: %v %s", err, out)
	}
	m := regexp.MustCompile(`pairing code (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no code in %q", out)
	}
	out, err = tb.run("board", 60*time.Second, hushboxBin, "peer", "pair", cloudIP+":8443", m[1], "--name", "cloud", "--data", boardData)
	if err != nil {
		t.Fatalf("peer pair on the board: %v %s", err, out)
	}
	t.Logf("board: %s", strings.TrimSpace(out))
}

// handoffCLI runs `hushbox handoff cmd` against the board.
func handoffCLI(tb *testbed, boardData, cmd string) (handoffResult, error) {
	out, err := tb.run("board", 60*time.Second, hushboxBin, "handoff", cmd, "--json", "--data", boardData)
	if err != nil {
		return handoffResult{}, fmt.Errorf("%w: %s", err, strings.TrimSpace(out))
	}
	var r handoffResult
	if cmd != "status" {
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			return r, fmt.Errorf("result %q: %w", out, err)
		}
	}
	return r, nil
}

// handoffWatch polls the board's hand-off status in the background.
type handoffWatch struct {
	mu      sync.Mutex
	status  handoffStatus
	polls   int
	changes []string // pressure levels as the status showed them, with times
	done    chan struct{}
	wg      sync.WaitGroup
}

// watchHandoff polls the board's hand-off status every 250 ms until stop,
// over the daemon's handoff.sock from this process: a `hushbox handoff
// status` started in the board's namespace would run in its CPU cgroup,
// which the flood saturates, and report seconds late (a status that said
// pressure 0 while /metrics, read later, said 3).
func watchHandoff(t *testing.T, boardData string) *handoffWatch {
	w := &handoffWatch{done: make(chan struct{})}
	cl, err := handoff.DialControl(boardData, control.TokenName)
	if err != nil {
		t.Errorf("hand-off status: %v", err)
		close(w.done)
		return w
	}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		last := -1
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			st, err := cl.Status(ctx)
			cancel()
			if err == nil {
				b, _ := json.Marshal(st)
				var hs handoffStatus
				if json.Unmarshal(b, &hs) == nil {
					w.mu.Lock()
					w.status = hs
					w.polls++
					if hs.Pressure != last {
						w.changes = append(w.changes, fmt.Sprintf("%s:%d", time.Now().Format("15:04:05.000"), hs.Pressure))
						last = hs.Pressure
					}
					w.mu.Unlock()
				}
			}
			select {
			case <-w.done:
				return
			case <-time.After(250 * time.Millisecond):
			}
		}
	}()
	return w
}

// pressureChanges are the pressure levels the status showed, with times.
func (w *handoffWatch) pressureChanges() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.changes...)
}

func (w *handoffWatch) stop() {
	select {
	case <-w.done:
	default:
		close(w.done)
	}
	w.wg.Wait()
}

func (w *handoffWatch) last() handoffStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.status
}

// waitOnCloud waits up to bound for at least n calls on the cloud.
func (w *handoffWatch) waitOnCloud(n int, bound time.Duration) (time.Time, bool) {
	return w.waitUntil(func(s handoffStatus) bool { return s.OnCloud >= n }, bound)
}

// waitOnBoard waits up to bound for no call on the cloud.
func (w *handoffWatch) waitOnBoard(bound time.Duration) (time.Time, bool) {
	w.mu.Lock()
	before := w.polls
	w.mu.Unlock()
	return w.waitUntil(func(s handoffStatus) bool { return s.OnCloud == 0 && s.Where != "cloud" }, bound, before)
}

// waitUntil waits for a status (polled after the given poll count, if
// any) for which ok holds.
func (w *handoffWatch) waitUntil(ok func(handoffStatus) bool, bound time.Duration, after ...int) (time.Time, bool) {
	deadline := time.Now().Add(bound)
	for {
		w.mu.Lock()
		st, polls := w.status, w.polls
		w.mu.Unlock()
		if polls > 0 && (len(after) == 0 || polls > after[0]) && ok(st) {
			return time.Now(), true
		}
		if time.Now().After(deadline) {
			return time.Time{}, false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// batchMS is how long the main batch of moves towards to took, from the
// hand-off log (each entry's time is when its leg's re-INVITE was
// answered, ms how long that took): from the first re-INVITE sent to the
// last one answered, in the batch that moved the most legs (the probe
// calls of the flood are moved in batches of their own). n is how many
// legs it moved. fallback (the forced batch's own figure) is used when
// the log has no entry; -1 means unknown.
func batchMS(log []handoffEntry, to string, fallback int64) (ms int64, n int) {
	start, end, n := batchSpan(log, to)
	if n == 0 {
		return fallback, 0
	}
	return end.Sub(start).Milliseconds(), n
}

// batchSpan is the batch of moves towards to that moved the most legs
// (the first such): from its first re-INVITE sent to its last one
// answered, and how many legs it moved (0: none).
func batchSpan(log []handoffEntry, to string) (start, end time.Time, n int) {
	byBatch := map[uint64][]handoffEntry{}
	for _, e := range log {
		if e.To == to && e.OK {
			byBatch[e.Batch] = append(byBatch[e.Batch], e)
		}
	}
	var best []handoffEntry
	for _, es := range byBatch {
		if len(es) > len(best) || (len(es) == len(best) && len(es) > 0 && es[0].Time.Before(best[0].Time)) {
			best = es
		}
	}
	if len(best) == 0 {
		return time.Time{}, time.Time{}, 0
	}
	start, end = best[0].Time, best[0].Time
	for _, e := range best {
		start = minTime(start, e.Time.Add(-time.Duration(e.MS)*time.Millisecond))
		end = maxTime(end, e.Time)
	}
	return start, end, len(best)
}

// hoPhase is a stretch of the scenario the longest RTP gap is measured in.
type hoPhase struct {
	name     string
	from, to time.Time
}

// hoSettle is how long after a batch's last 2xx the phase of that move
// lasts: packets in flight, the party's jitter buffer catching up.
const hoSettle = time.Second

// hoPhases cuts [from, end) into the phases of the scenario: before the
// flood; the flood while the calls are still on the board; the hand-off
// (its batch's first re-INVITE to a second after its last 2xx); on the
// cloud; the hand-back (likewise); after it. A move that did not happen
// (zero times) leaves its phases out and the stretch goes to the phase
// before it.
func hoPhases(from, flood, moveFrom, moveTo, backFrom, backTo, end time.Time) []hoPhase {
	type mark struct {
		name string
		at   time.Time
	}
	marks := []mark{{"before", from}, {"flood", flood}}
	if !moveFrom.IsZero() {
		marks = append(marks, mark{"handoff", moveFrom}, mark{"cloud", moveTo.Add(hoSettle)})
	}
	if !backFrom.IsZero() {
		marks = append(marks, mark{"handback", backFrom}, mark{"after", backTo.Add(hoSettle)})
	}
	var out []hoPhase
	for i, m := range marks {
		to := end
		if i+1 < len(marks) {
			to = marks[i+1].at
		}
		if m.at.Before(from) {
			m.at = from
		}
		if to.After(end) {
			to = end
		}
		if to.After(m.at) {
			out = append(out, hoPhase{m.name, m.at, to})
		}
	}
	return out
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// guardRefused reads hushbox_guard_refused_total from the board's
// /metrics, from the LAN (the web port is not for strangers on the WAN).
func guardRefused(t *testing.T, tb *testbed, boardLAN, token string) uint64 {
	t.Helper()
	out, err := tb.run("lan", 20*time.Second, "curl", "-sSk", "--max-time", "10",
		"-H", "Authorization: Bearer "+token, "https://"+boardLAN+":8443/metrics")
	if err != nil {
		t.Errorf("metrics: %v %s", err, lastBytes([]byte(out), 500))
		return 0
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "hushbox_guard") || strings.HasPrefix(l, "hushbox_pressure") || strings.HasPrefix(l, "hushbox_sip_messages") {
			t.Logf("metrics: %s", l)
		}
	}
	m := regexp.MustCompile(`(?m)^hushbox_guard_refused_total (\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Errorf("no hushbox_guard_refused_total in the metrics:\n%s", lastBytes([]byte(out), 2000))
		return 0
	}
	n, _ := strconv.ParseUint(m[1], 10, 64)
	return n
}

// udpRcvbufErrors is the board namespace's count of UDP datagrams the
// kernel dropped because a socket's receive buffer was full: what a flood
// costs before the daemon (and its guard) reads a byte.
func udpRcvbufErrors(tb *testbed) uint64 {
	out, err := tb.run("board", 10*time.Second, "cat", "/proc/net/snmp")
	if err != nil {
		return 0
	}
	var names []string
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) == 0 || f[0] != "Udp:" {
			continue
		}
		if names == nil {
			names = f
			continue
		}
		for i, n := range names {
			if n == "RcvbufErrors" && i < len(f) {
				v, _ := strconv.ParseUint(f[i], 10, 64)
				return v
			}
		}
	}
	return 0
}

// cgroupCPU is the board cgroup's CPU use and throttling so far (cgroup v2
// cpu.stat), or "" without a cgroup.
func cgroupCPU(tb *testbed) string {
	cg := tb.env["BOARD_CGROUP"]
	if cg == "" {
		return "(none)"
	}
	b, err := os.ReadFile(filepath.Join(cg, "cpu.stat"))
	if err != nil {
		return err.Error()
	}
	return strings.Join(strings.Fields(string(b)), " ")
}

// phoneNSArgs are the arguments of a `hushbox phone` in the test bed:
// phone i listens on SIP port hoSIPBase+i and RTP port hoRTPBase+2i.
func phoneNSArgs(server, ip string, ext int, password string, i int, data string, extra ...string) []string {
	return append([]string{"phone", "--server", server + ":5060", "--user", strconv.Itoa(ext), "--password", password,
		"--listen", fmt.Sprintf("%s:%d", ip, hoSIPBase+i), "--rtp-port", strconv.Itoa(hoRTPBase + 2*i),
		"--data", data, "--log-level", "info"}, extra...)
}

// probeCall is one legitimate call attempt during the flood: remote phone
// 250+k registers and calls LAN phone 150+k (which answers), holding the
// call for a second. It reports whether the call was answered.
func probeCall(tb *testbed, work string, k, n int, boardWAN, remoteIP string, pw func(int) string) bool {
	port := 100 + k // SIP hoSIPBase+100+k, RTP hoRTPBase+200+2k: apart from the 20 calls
	call := tb.startNSProc(fmt.Sprintf("probe call %d/%d", k, n), "remote", 30*time.Second, hushboxBin,
		phoneNSArgs(boardWAN, remoteIP, 250+k, pw(250+k), port, filepath.Join(work, fmt.Sprintf("id-probe-remote-%d", k)),
			"--dial", strconv.Itoa(150+k), "--duration", "1s", "--no-scramble")...)
	defer func() { _ = call.cmd.Process.Kill(); call.wait(5 * time.Second) }()
	if _, ok := call.waitFor("phone: in call with", 15*time.Second); !ok {
		tb.t.Logf("probe %d/%d: call not set up:\n%s", k, n, call.output())
		return false
	}
	call.wait(10 * time.Second)
	return true
}

// checkSpeechAcrossHandoffs compares what the remote phone of the speech
// call recorded with the speech the LAN phone played, in 2 s windows: each
// window where the speech is loud enough is found in the recording at a
// lag near the previous window's (the delay may shift by a few tens of ms
// at a hand-off); at least three windows must come after the hand-back and
// each of those must correlate >= 0.8 (the audio survived two hand-offs).
// Windows before that are logged: the gaps they hold are measured above;
// so is a window the hang-up (end) cuts into, and one under 0.8 in which
// one of the two phones sent nothing for speechPhonePause or more (paused
// says which and how long): that phone's own process did not run, on this
// host shared with forty phones and a flooder, and its recording or its
// speech has a hole no relay made (the path's gaps are measured above).
func checkSpeechAcrossHandoffs(t *testing.T, speech, heardPath string, start, movedAt, backAt, end time.Time,
	paused func(from, to time.Time) (string, time.Duration)) {
	t.Helper()
	src, err := wav.ReadFile(speech)
	if err != nil || src.Rate != 8000 {
		t.Fatalf("speech %s: rate %d, %v", speech, src.Rate, err)
	}
	const lead = 4000 // speechWAV pads 0.5 s of silence in front
	x := toFloat64(src.Samples)
	y, err := readWAVMono16(heardPath)
	if err != nil {
		t.Fatalf("the speech call's recording: %v", err)
	}
	var ye float64
	for _, v := range y {
		ye += v * v
	}
	firstSound := -1
	for i, v := range y {
		if v != 0 {
			firstSound = i
			break
		}
	}
	t.Logf("speech %.1f s, recording %.1f s (RMS %.4f, first sound at %.2f s)", float64(len(x))/8000, float64(len(y))/8000,
		math.Sqrt(ye/float64(max(1, len(y)))), float64(firstSound)/8000)
	const win = 16000
	var total float64
	for _, v := range x {
		total += v * v
	}
	rms := math.Sqrt(total / float64(len(x)))
	lagLo, lagHi := -8000, 40000 // the first window: up to 5 s of delay
	lastGood := 0
	var before, after []float64
	for off := 0; off+win <= len(x); off += win {
		seg := x[off : off+win]
		var e float64
		for _, v := range seg {
			e += v * v
		}
		if math.Sqrt(e/win) < 0.3*rms {
			continue // a pause: nothing to correlate
		}
		narrow := lagHi-lagLo <= 800
		at := start.Add(time.Duration(off+lead) * time.Second / 8000)
		if !narrow && !backAt.IsZero() && at.After(backAt.Add(500*time.Millisecond)) {
			// After the hand-back with no match since the calls left: the
			// gaps of the flood and of both moves may have grown the
			// recording's delay by seconds. Search up to 10 s more (only
			// these few windows: the search costs its width).
			lagHi = lastGood + 80000
		}
		r, lag, found := windowXCorr(seg, y, off+lead, lagLo, lagHi)
		if found && r < 0.8 && narrow {
			// A long gap (the flood, a move) may have grown the jitter
			// buffer's delay by more than the narrow search: look wider.
			if r2, lag2, ok := windowXCorr(seg, y, off+lead, lag-8000, lag+16000); ok && r2 > r {
				r, lag = r2, lag2
			}
		}
		if !found {
			t.Logf("speech window at %.0f s: nothing to correlate with in the recording", float64(off)/8000)
			continue
		}
		if r >= 0.8 {
			// Only a window that really matched narrows the search for
			// the next: a silent stretch (calls on the cloud, a long gap)
			// matches noise at a random lag, and following it would lose
			// the speech for the rest of the recording.
			lastGood = lag
			lagLo, lagHi = lag-400, lag+400
		} else {
			lagLo, lagHi = lastGood-4000, lastGood+24000 // -0.5 s to +3 s
		}
		if !end.IsZero() && at.Add(time.Duration(win+lag)*time.Second/8000+500*time.Millisecond).After(end) {
			// The recording's last moments: the hang-up comes within the
			// window (or half a second after it).
			t.Logf("speech window at %.0f s: ends at the hang-up, not judged (correlation %.3f)", float64(off)/8000, r)
			continue
		}
		if r < 0.8 {
			span := time.Duration(win+max(lag, 0))*time.Second/8000 + 100*time.Millisecond
			if who, d := paused(at, at.Add(span)); d >= speechPhonePause {
				t.Logf("speech window at %.0f s (%s): correlation %.3f at lag %d, not judged: phone %s sent nothing for %d ms in it (its process paused)",
					float64(off)/8000, at.Format("15:04:05"), r, lag, who, d.Milliseconds())
				continue
			}
		}
		phase := "before"
		switch {
		case !backAt.IsZero() && at.After(backAt.Add(500*time.Millisecond)):
			phase = "after"
			after = append(after, r)
		case !movedAt.IsZero() && at.After(movedAt):
			phase = "on cloud"
		default:
			before = append(before, r)
		}
		switch {
		case r < 0.8 && phase == "after":
			t.Errorf("speech window at %.0f s (%s, %s): correlation %.3f at lag %d, want >= 0.8", float64(off)/8000, at.Format("15:04:05"), phase, r, lag)
		case r < 0.8:
			// Before the hand-back the gaps measured above (the flood,
			// the moves, the host's load) damage windows; what the issue
			// asserts is the audio after both hand-offs.
			t.Logf("speech window at %.0f s (%s, %s): correlation %.3f at lag %d (measured, not asserted)", float64(off)/8000, at.Format("15:04:05"), phase, r, lag)
		}
	}
	t.Logf("speech windows: %d before the hand-off (min %.3f), %d after the hand-back (min %.3f)", len(before), minOf(before), len(after), minOf(after))
	if len(after) < 3 {
		t.Errorf("only %d speech windows after the hand-back (the speech is too short for this run): nothing shows the audio survived two hand-offs", len(after))
	}
}

// speechPhonePause: a send pause of a speech-call phone this long is its
// process's (a relay's hold does not stop the phone sending), and longer
// than the gap concealment hides (the 60 ms target). It was 100
// ms until g6-2 (28 Nov): the speech phone on the LAN paused 89 ms on the
// loaded host, its catch-up burst moved the far jitter buffer's delay in
// the middle of a window, and the window correlated 0.63 with every path
// gap of the run under 47 ms.
const speechPhonePause = 60 * time.Millisecond

// windowXCorr is the best normalised correlation of seg with y at
// y[pos+lag:], lag in [lo, hi]; found is false when y has nothing (or only
// silence) there.
func windowXCorr(seg, y []float64, pos, lo, hi int) (r float64, lag int, found bool) {
	best, bestLag := math.Inf(-1), 0
	for lag := lo; lag <= hi; lag++ {
		s := pos + lag
		if s < 0 || s+len(seg) > len(y) {
			continue
		}
		var xy, xx, yy float64
		for i, v := range seg {
			w := y[s+i]
			xy += v * w
			xx += v * v
			yy += w * w
		}
		if xx == 0 || yy == 0 {
			continue
		}
		if r := xy / math.Sqrt(xx*yy); r > best {
			best, bestLag, found = r, lag, true
		}
	}
	return best, bestLag, found
}

func minOf(v []float64) float64 {
	m := math.NaN()
	for _, x := range v {
		if math.IsNaN(m) || x < m {
			m = x
		}
	}
	return m
}
