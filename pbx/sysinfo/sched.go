package sysinfo

import (
	"strconv"
	"strings"
	"time"
)

// ParseCgroupThrottled returns how long a CPU cgroup has been throttled by
// its quota, from the text of its cpu.stat: cgroup v2's "throttled_usec N"
// or v1's "throttled_time N" (nanoseconds). The kernel sums the time over
// the CPUs' run queues. ok is false for a file without either line (a
// cgroup without the cpu controller).
func ParseCgroupThrottled(stat string) (d time.Duration, ok bool) {
	for line := range strings.SplitSeq(stat, "\n") {
		key, val, found := strings.Cut(strings.TrimSpace(line), " ")
		if !found {
			continue
		}
		var unit time.Duration
		switch key {
		case "throttled_usec":
			unit = time.Microsecond
		case "throttled_time":
			unit = time.Nanosecond
		default:
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(val), 10, 64)
		if err != nil || n < 0 {
			return 0, false
		}
		return time.Duration(n) * unit, true
	}
	return 0, false
}

// ParseSchedstat reads a thread's /proc/.../schedstat line, "CPU_NS
// WAIT_NS SLICES": the CPU time it has run and the time it waited runnable
// on a run queue.
func ParseSchedstat(s string) (cpu, wait time.Duration, ok bool) {
	f := strings.Fields(s)
	if len(f) < 2 {
		return 0, 0, false
	}
	c, err1 := strconv.ParseInt(f[0], 10, 64)
	w, err2 := strconv.ParseInt(f[1], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return time.Duration(c), time.Duration(w), true
}
