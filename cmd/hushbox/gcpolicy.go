package main

import (
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"hushbox/pbx/sysinfo"
)

// The garbage collector's settings for `hushbox serve`. With Go's default
// (GOGC=100) the daemon's small live heap (about 8 MB) meant a collection
// every few seconds under load, and after each the runtime's scavenger
// gave the freed pages back to the kernel with madvise. Both take the CPU
// from the media relay in bursts: on the test bed's board (40 % of a core)
// an execution trace showed the scavenger running 50-70 ms a second
// through a flood, and the relay's packets held behind it. With GOGC=400 a
// 10x flood run had one collection instead of ten and no scavenging; the
// price is a larger heap, bounded by a soft memory limit well inside the
// box's memory. GOGC and GOMEMLIMIT in the environment still win.
const (
	// serveGCPercent is GOGC for the daemon.
	serveGCPercent = 400
	// The soft memory limit is a quarter of the memory the process may
	// use (the machine's, or its cgroup's when lower: a container),
	// within these bounds.
	minMemLimit = 64 << 20
	maxMemLimit = 512 << 20
)

// gcSettings is what applyGCPolicy sets: GOGC and the soft memory limit,
// each only when the environment does not set it (0: leave it).
type gcSettings struct {
	percent int
	limit   int64
}

// gcPolicy works out the daemon's settings from the environment and the
// memory the process may use (0: unknown).
func gcPolicy(getenv func(string) string, memory uint64) gcSettings {
	var s gcSettings
	if getenv("GOGC") == "" {
		s.percent = serveGCPercent
	}
	if getenv("GOMEMLIMIT") == "" {
		limit := int64(maxMemLimit)
		if memory > 0 {
			limit = min(max(int64(memory/4), minMemLimit), maxMemLimit)
		}
		s.limit = limit
	}
	return s
}

// applyGCPolicy sets the daemon's garbage collector (see above) and logs
// what it chose.
func applyGCPolicy(log *slog.Logger) {
	s := gcPolicy(os.Getenv, usableMemory())
	gogc, limit := "GOGC from the environment", "GOMEMLIMIT from the environment"
	if s.percent > 0 {
		debug.SetGCPercent(s.percent)
		gogc = strconv.Itoa(s.percent)
	}
	if s.limit > 0 {
		debug.SetMemoryLimit(s.limit)
		limit = strconv.FormatInt(s.limit>>20, 10) + " MiB"
	}
	log.Info("garbage collector", "gogc", gogc, "memory_limit", limit)
}

// usableMemory is the memory this process may use in bytes: the machine's
// (MemTotal), or its cgroup's limit when that is lower; 0 when unknown.
func usableMemory() uint64 {
	var total uint64
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if v, err := sysinfo.ParseKB(string(b), "MemTotal"); err == nil {
			total = v[0]
		}
	}
	for _, path := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		if b, err := os.ReadFile(path); err == nil {
			if lim, ok := cgroupLimit(string(b)); ok && (total == 0 || lim < total) {
				total = lim
			}
		}
	}
	return total
}

// cgroupLimit reads a cgroup memory limit file: v2's memory.max ("max" or
// bytes) or v1's memory.limit_in_bytes (bytes; a huge number when none).
func cgroupLimit(s string) (uint64, bool) {
	s = strings.TrimSpace(s)
	if s == "max" || s == "" {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || v == 0 || v >= 1<<62 {
		return 0, false
	}
	return v, true
}
