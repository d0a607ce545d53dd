package interop

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"hushbox/pbx/guard"
	"hushbox/pbx/store"
)

// The unguarded capacity of the board, for issue 7's "a flood at 10x the
// rate the box can serve without the guard": before the hand-off scenario
// starts its board, a second board daemon runs in the board's namespace and
// CPU cgroup with its guard switched off for the attacker (the attacker's
// subnet in its allow-list: allow-listed sources pass every per-source
// limit and ban; --firewall off: no kernel limits), and the flooder, in
// its answer-counting mode, sends it unauthenticated INVITEs in steps of
// rising rate. Each INVITE the daemon answers (its digest challenge) is one
// request served; the capacity is the most answers per second any step
// got. The ramp stops at the first step the daemon no longer keeps up with
// (fewer than 90 % answered), or when the flooder itself cannot send the
// rate asked. Everything is bounded: at most len(capRates) steps of
// capStep each.

var (
	capRates = []int{500, 1000, 2000, 4000, 8000, 16000, 32000} // INVITE/s per step
	capStep  = 2 * time.Second
)

// capStepResult is what one step of the ramp measured.
type capStepResult struct {
	rate     int     // asked
	sent     float64 // sent per second
	answered float64 // final answers per second
}

func (r capStepResult) String() string {
	return fmt.Sprintf("%d/s: sent %.0f/s answered %.0f/s", r.rate, r.sent, r.answered)
}

// floodLineRE reads the flooder's last line.
var floodLineRE = regexp.MustCompile(`flood: sent=(\d+) errors=\d+ seconds=([\d.]+) rate=(\d+)(?: answered=(\d+) answered_rate=(\d+))?`)

// parseFloodLine returns the sent and answered rates of a flooder's line.
func parseFloodLine(line string) (sent, answered float64, ok bool) {
	m := floodLineRE.FindStringSubmatch(line)
	if m == nil {
		return 0, 0, false
	}
	sent, _ = strconv.ParseFloat(m[3], 64)
	if m[5] != "" {
		answered, _ = strconv.ParseFloat(m[5], 64)
	}
	return sent, answered, true
}

// capacityOf is the ramp's result: the most answers per second any step
// got, and whether a step saturated the daemon (else the figure is only a
// lower bound: the flooder ran out first).
func capacityOf(steps []capStepResult) (cps float64, saturated bool) {
	for _, s := range steps {
		cps = max(cps, s.answered)
		if s.answered < 0.9*s.sent {
			saturated = true
		}
	}
	return cps, saturated
}

// measureUnguarded runs the ramp against a guard-less board daemon in the
// board's namespace and cgroup (sources: the attacker's addresses srcs,
// already on its interface) and stops that daemon again.
func measureUnguarded(t *testing.T, tb *testbed, work, flood, srcs string) (cps float64, saturated bool, steps []capStepResult) {
	t.Helper()
	data := filepath.Join(work, "unguarded")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(data, "hushbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	// The guard switched off for the attacker: its subnet allow-listed.
	err = db.SetSetting(guard.SettingAllow, `["127.0.0.0/8","10.71.5.0/24"]`)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	const port = 5070
	d := tb.startNSDaemon("board", data, "--sip", fmt.Sprintf("0.0.0.0:%d", port), "--sip-tls", "",
		"--web", "127.0.0.1:18443", "--rtp-ports", "21000-21099", "--firewall", "off", "--log-level", "warn")
	defer d.stop(t)
	target := fmt.Sprintf("%s:%d", tb.env["BOARD_WAN_IP"], port)
	for _, rate := range capRates {
		n := rate * int(capStep/time.Second)
		p := tb.startNSProc(fmt.Sprintf("capacity %d/s", rate), "attacker", capStep+20*time.Second, flood,
			"-target", target, "-rate", strconv.Itoa(rate), "-duration", capStep.String(), "-max", strconv.Itoa(n),
			"-sources", srcs, "-method", "INVITE", "-answers")
		if !p.wait(capStep + 15*time.Second) {
			t.Errorf("capacity step %d/s: the flooder did not stop", rate)
			break
		}
		l, _ := p.find("flood: sent=")
		sent, answered, ok := parseFloodLine(l.text)
		if !ok {
			t.Errorf("capacity step %d/s: no result line:\n%s", rate, p.output())
			break
		}
		s := capStepResult{rate: rate, sent: sent, answered: answered}
		steps = append(steps, s)
		t.Logf("unguarded capacity step %s", s)
		if answered < 0.9*sent || sent < 0.8*float64(rate) {
			break // the daemon (or the flooder) is saturated
		}
		time.Sleep(time.Second) // the backlog of the step drains
	}
	cps, saturated = capacityOf(steps)
	return cps, saturated, steps
}

// stop ends the daemon (SIGINT, then SIGKILL after 15 s) and waits for it.
func (d *nsDaemon) stop(t *testing.T) {
	t.Helper()
	_ = d.cmd.Process.Signal(os.Interrupt)
	select {
	case <-d.exited:
	case <-time.After(15 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.exited
	}
	if strings.Contains(d.stderr.String(), "panic:") {
		t.Errorf("daemon panicked:\n%s", lastBytes([]byte(d.stderr.String()), 4000))
	}
}

// The ramp's arithmetic: capacity is the best step, saturation is a step
// that got fewer than 90 % of its requests answered.
func TestCapacityOf(t *testing.T) {
	for _, c := range []struct {
		name  string
		steps []capStepResult
		cps   float64
		sat   bool
	}{
		{"none", nil, 0, false},
		{"keeps up", []capStepResult{{500, 500, 500}, {1000, 1000, 998}}, 998, false},
		{"saturates", []capStepResult{{1000, 1000, 1000}, {2000, 2000, 1500}}, 1500, true},
		{"falls back", []capStepResult{{2000, 2000, 1990}, {4000, 4000, 900}}, 1990, true},
	} {
		cps, sat := capacityOf(c.steps)
		if cps != c.cps || sat != c.sat {
			t.Errorf("%s: capacity %.0f saturated %v, want %.0f %v", c.name, cps, sat, c.cps, c.sat)
		}
	}
}

func TestParseFloodLine(t *testing.T) {
	for _, c := range []struct {
		line           string
		sent, answered float64
		ok             bool
	}{
		{"flood: sent=200000 errors=0 seconds=20.00 rate=10000", 10000, 0, true},
		{"flood: sent=4000 errors=3 seconds=2.00 rate=2000 answered=3100 answered_rate=1550", 2000, 1550, true},
		{"flood: -rate 0: want 1 to 1000000", 0, 0, false},
		{"", 0, 0, false},
	} {
		s, a, ok := parseFloodLine(c.line)
		if s != c.sent || a != c.answered || ok != c.ok {
			t.Errorf("parseFloodLine(%q) = %v %v %v, want %v %v %v", c.line, s, a, ok, c.sent, c.answered, c.ok)
		}
	}
}

// The phases the longest RTP gap is measured in: every stretch between the
// marks, moves that did not happen left out.
func TestHoPhases(t *testing.T) {
	at := func(s int) time.Time { return time.Unix(1000+int64(s), 0) }
	zero := time.Time{}
	names := func(ps []hoPhase) string {
		var out []string
		for _, p := range ps {
			out = append(out, fmt.Sprintf("%s:%d-%d", p.name, p.from.Unix()-1000, p.to.Unix()-1000))
		}
		return strings.Join(out, " ")
	}
	for _, c := range []struct {
		name                                                 string
		from, flood, moveFrom, moveTo, backFrom, backTo, end time.Time
		want                                                 string
	}{
		{"both moves", at(0), at(10), at(13), at(14), at(40), at(41), at(60),
			"before:0-10 flood:10-13 handoff:13-15 cloud:15-40 handback:40-42 after:42-60"},
		{"no hand-back", at(0), at(10), at(13), at(14), zero, zero, at(60),
			"before:0-10 flood:10-13 handoff:13-15 cloud:15-60"},
		{"no move", at(0), at(10), zero, zero, zero, zero, at(60), "before:0-10 flood:10-60"},
		{"window ends early", at(0), at(10), at(13), at(14), at(40), at(41), at(30),
			"before:0-10 flood:10-13 handoff:13-15 cloud:15-30"},
	} {
		if got := names(hoPhases(c.from, c.flood, c.moveFrom, c.moveTo, c.backFrom, c.backTo, c.end)); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

// floodMultiple is how many times the unguarded capacity the attacker
// sends: HUSHBOX_TESTBED_FLOOD_X, else hoFloodX. A value that is not a
// number from 1 to 50 fails the test rather than flood at a guess.
func floodMultiple(t *testing.T) float64 {
	t.Helper()
	v := os.Getenv("HUSHBOX_TESTBED_FLOOD_X")
	if v == "" {
		return hoFloodX
	}
	x, err := strconv.ParseFloat(v, 64)
	if err != nil || x < 1 || x > 50 {
		t.Fatalf("HUSHBOX_TESTBED_FLOOD_X=%q: want a number from 1 to 50", v)
	}
	return x
}
