package main

import (
	"log/slog"
	"os"
	"runtime"
	"strconv"

	"hushbox/pbx/sysinfo"
)

// The scheduler's width for `hushbox serve` when its CPU cgroup gives it
// less than one CPU (a capped container in the cloud, a board under a
// systemd CPUQuota, the test bed's board at 40 %). Go then runs two Ps
// (its floor for a CPU limit), and each garbage collection puts a mark
// worker on the second P while the first has work and an idle worker on
// whichever P is idle: the two spend the quota in a burst, and the kernel
// then stops every thread of the cgroup, the relay's included, until its
// next period. With one P the collector takes a quarter of it and the idle
// gaps, never two CPUs at once. Measured (docs/benchmarks.md, "The
// relay's latency through collections at a CPU quota"): 20 relayed calls
// in a 40 %-of-a-core cgroup with a collection every 500 ms, worst packet
// delay 22-44 ms with two Ps, 5-9 ms with one. GOMAXPROCS in the
// environment still wins.

// cpuPolicy is the GOMAXPROCS the daemon sets for a CPU limit of limit
// CPUs (ok false: none), 0 to leave Go's choice.
func cpuPolicy(getenv func(string) string, limit float64, ok bool) int {
	if getenv("GOMAXPROCS") != "" || !ok || limit >= 1 {
		return 0
	}
	return 1
}

// applyCPUPolicy sets the daemon's GOMAXPROCS (see above) and logs the
// CPU limit it found.
func applyCPUPolicy(log *slog.Logger) {
	var limit float64
	var ok bool
	if c, found := sysinfo.FindCgroupCPU(); found {
		limit, ok = c.Limit(os.ReadFile)
	}
	if !ok {
		log.Info("CPU", "limit", "none", "gomaxprocs", runtime.GOMAXPROCS(0))
		return
	}
	lim := strconv.FormatFloat(limit, 'f', 2, 64)
	if n := cpuPolicy(os.Getenv, limit, ok); n > 0 {
		runtime.GOMAXPROCS(n)
		log.Info("CPU", "limit", lim, "gomaxprocs", n, "why", "under one CPU: one P keeps a collection from spending the quota on two CPUs at once")
		return
	}
	log.Info("CPU", "limit", lim, "gomaxprocs", runtime.GOMAXPROCS(0))
}
