package main

import (
	"log/slog"
	"os"
	"runtime"
	"strconv"

	"hushbox/pbx/sysinfo"
)

// logCPULimit logs, when `hushbox serve` starts, the CPU limit of its
// cgroup (a container's, a systemd unit's CPUQuota, the test bed's capped
// board) and the GOMAXPROCS Go chose under it: a limit explains relay
// holds (the kernel stops every thread of a cgroup that spent its quota)
// and the relay's hold lines count that throttled time.
//
// The daemon keeps Go's choice (two Ps under any limit below two CPUs).
// One P under a limit below one CPU was tried and measured (docs/
// benchmarks.md, "The relay's latency through collections at a CPU
// quota"): it keeps a collection from spending the quota on two CPUs at
// once (worst relayed packet 5-9 ms against 22-44 ms with collections
// forced every 500 ms), but the relay then waits behind any other busy
// goroutine until Go preempts it or the P goes idle, and on the test
// bed's flooded board it held the relay 28-54 ms in 4 of 10 hand-off runs
// against none in 7 runs with two Ps.
func logCPULimit(log *slog.Logger) {
	limit := "none"
	if c, ok := sysinfo.FindCgroupCPU(); ok {
		if l, ok := c.Limit(os.ReadFile); ok {
			limit = strconv.FormatFloat(l, 'f', 2, 64)
		}
	}
	log.Info("CPU", "limit", limit, "gomaxprocs", runtime.GOMAXPROCS(0))
}
