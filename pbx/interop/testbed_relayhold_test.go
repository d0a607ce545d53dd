package interop

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A relay hold: the daemon's relay read the datagrams of a batch late,
// the longest held so long (pbx/media hold.go, the log line "media: relay
// held packets"). Every stream through that relay is silent for the
// hold: against a party's gap it tells a stall of the board's or the
// cloud's relay from one of the host or the network.
type relayHold struct {
	who  string // "board" or "cloud"
	from time.Time
	d    time.Duration
	// more and moreMax: batches with a long hold within a second of this
	// one, not logged, and the longest of their holds.
	more    int
	moreMax time.Duration
	// lastGC: when the daemon's last garbage collection ended, as of the
	// line (zero when the line does not say).
	lastGC time.Time
	// causes: the daemon's scheduling figures since its baseline, as the
	// line gives them ("" when it does not): Go's longest wait for a P,
	// the longest stop of the world, the cgroup's throttled time.
	causes string
	// throttled: the board cgroup's throttled time across the hold, from
	// the test's own samples (throttledOK false: not sampled).
	throttled   time.Duration
	throttledOK bool
}

func (h relayHold) end() time.Time { return h.from.Add(h.d) }

// The daemon's relay logger carries attributes of its own (component=media)
// between the message and the line's.
var relayHoldLine = regexp.MustCompile(`msg="media: relay held packets"[^\n]*? held_ms=(\d+) from_unix_ms=(\d+) more_since_last=(\d+) their_max_ms=(\d+)(?: last_gc_unix_ms=(\d+))?(?: gc_cycles=\d+)?(?: sched_wait_max_ms=([\d.]+) stw_max_ms=([\d.]+) throttled_ms=(-?[\d.]+) runnable=(\d+)(?: os_wait_max_ms=(-?[\d.]+) cpu_ms=(-?[\d.]+) since_ms=(\d+))?)?`)

// parseRelayHolds reads the hold lines of one daemon's log.
func parseRelayHolds(who, log string) []relayHold {
	var out []relayHold
	for _, m := range relayHoldLine.FindAllStringSubmatch(log, -1) {
		held, _ := strconv.ParseInt(m[1], 10, 64)
		from, _ := strconv.ParseInt(m[2], 10, 64)
		more, _ := strconv.Atoi(m[3])
		moreMax, _ := strconv.ParseInt(m[4], 10, 64)
		h := relayHold{who: who, from: time.UnixMilli(from), d: time.Duration(held) * time.Millisecond,
			more: more, moreMax: time.Duration(moreMax) * time.Millisecond}
		if gc, _ := strconv.ParseInt(m[5], 10, 64); gc > 0 {
			h.lastGC = time.UnixMilli(gc)
		}
		if m[6] != "" {
			h.causes = fmt.Sprintf("P wait %s ms, STW %s ms, throttled %s ms, %s runnable", m[6], m[7], m[8], m[9])
			if m[10] != "" {
				h.causes += fmt.Sprintf(", thread CPU wait %s ms, CPU %s ms in %s ms", m[10], m[11], m[12])
			}
		}
		out = append(out, h)
	}
	return out
}

// holdsWithin names the relay holds overlapping [from, to), with the end
// of the daemon's last garbage collection when it came less than a second
// before the hold's end (relative to the hold's start).
func holdsWithin(holds []relayHold, from, to time.Time) string {
	var parts []string
	for _, h := range holds {
		if h.end().After(from) && h.from.Before(to) {
			p := fmt.Sprintf("%s %d ms at %s", h.who, h.d.Milliseconds(), h.from.Format("15:04:05.000"))
			if !h.lastGC.IsZero() && h.end().Sub(h.lastGC) < time.Second {
				p += fmt.Sprintf(" (GC ended %+d ms)", h.lastGC.Sub(h.from).Milliseconds())
			}
			if h.throttledOK {
				p += fmt.Sprintf(" (cgroup throttled %.1f ms across it, summed over CPUs)", float64(h.throttled)/1e6)
			}
			if h.causes != "" {
				p += " [" + h.causes + "]"
			}
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// longestHold is the longest hold of who's relay logged in [from, to):
// the lines' own holds and those they say were not logged.
func longestHold(holds []relayHold, who string, from, to time.Time) time.Duration {
	var d time.Duration
	for _, h := range holds {
		if h.who == who && h.end().After(from) && h.from.Before(to) {
			d = max(d, h.d, h.moreMax)
		}
	}
	return d
}

func TestParseRelayHolds(t *testing.T) {
	log := `time=2026-11-28T10:00:00.100Z level=INFO msg="media: latched" leg=A
time=2026-11-28T10:00:01.000Z level=WARN msg="media: relay held packets" component=media held_ms=63 from_unix_ms=1795860000937 more_since_last=0 their_max_ms=0
garbage held_ms=1
time=2026-11-28T10:00:02.500Z level=WARN msg="media: relay held packets" held_ms=41 from_unix_ms=1795860002459 more_since_last=2 their_max_ms=90 last_gc_unix_ms=1795860002470 gc_cycles=7 sched_wait_max_ms=12.5 stw_max_ms=0.1 throttled_ms=18 runnable=4 os_wait_max_ms=22.5 cpu_ms=310 since_ms=700
`
	got := parseRelayHolds("board", log)
	if len(got) != 2 {
		t.Fatalf("%d holds, want 2: %+v", len(got), got)
	}
	if got[0].d != 63*time.Millisecond || got[0].from.UnixMilli() != 1795860000937 || got[0].who != "board" {
		t.Errorf("first hold %+v", got[0])
	}
	at := func(ms int64) time.Time { return time.UnixMilli(1795860000000 + ms) }
	for _, tc := range []struct {
		from, to int64
		want     string
		longest  time.Duration
	}{
		{0, 900, "none", 0},
		{900, 950, "board 63 ms at " + at(937).Format("15:04:05.000"), 63 * time.Millisecond},
		{1000, 2400, "none", 0}, // the first ends at 1000
		{2000, 3000, "board 41 ms at " + at(2459).Format("15:04:05.000") + " (GC ended +11 ms) [P wait 12.5 ms, STW 0.1 ms, throttled 18 ms, 4 runnable, thread CPU wait 22.5 ms, CPU 310 ms in 700 ms]", 90 * time.Millisecond},
	} {
		if s := holdsWithin(got, at(tc.from), at(tc.to)); s != tc.want {
			t.Errorf("holdsWithin %d-%d: %q, want %q", tc.from, tc.to, s, tc.want)
		}
		if d := longestHold(got, "board", at(tc.from), at(tc.to)); d != tc.longest {
			t.Errorf("longestHold %d-%d: %v, want %v", tc.from, tc.to, d, tc.longest)
		}
	}
	got[0].throttled, got[0].throttledOK = 24500*time.Microsecond, true
	if s, want := holdsWithin(got, at(900), at(950)), "board 63 ms at "+at(937).Format("15:04:05.000")+" (cgroup throttled 24.5 ms across it, summed over CPUs)"; s != want {
		t.Errorf("holdsWithin with the cgroup's throttling: %q, want %q", s, want)
	}
	if d := longestHold(got, "cloud", at(0), at(3000)); d != 0 {
		t.Errorf("cloud's longest hold %v, want none", d)
	}
}
