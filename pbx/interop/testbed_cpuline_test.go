package interop

import (
	"regexp"
	"strconv"
	"testing"
)

// daemonCPULine is the daemon's start-up line about its CPU limit and
// GOMAXPROCS (cmd/hushbox/cpulimit.go), in its text log.
var daemonCPULine = regexp.MustCompile(`msg=CPU limit=(\S+) gomaxprocs=(\d+)`)

// parseDaemonCPU reads that line: the limit as logged ("0.40", "none") and
// the GOMAXPROCS the daemon runs with; ok is false without the line.
func parseDaemonCPU(log string) (limit string, procs int, ok bool) {
	m := daemonCPULine.FindStringSubmatch(log)
	if m == nil {
		return "", 0, false
	}
	n, err := strconv.Atoi(m[2])
	if err != nil {
		return "", 0, false
	}
	return m[1], n, true
}

func TestParseDaemonCPU(t *testing.T) {
	for _, tc := range []struct {
		name, log string
		limit     string
		procs     int
		ok        bool
	}{
		{"capped", `time=2026-11-28T09:45:57.948Z level=INFO msg=CPU limit=0.40 gomaxprocs=1 why="under one CPU"` + "\n", "0.40", 1, true},
		{"free", "level=INFO msg=\"garbage collector\" gogc=400\nlevel=INFO msg=CPU limit=none gomaxprocs=2\n", "none", 2, true},
		{"absent", "level=INFO msg=serving role=board\n", "", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			limit, procs, ok := parseDaemonCPU(tc.log)
			if limit != tc.limit || procs != tc.procs || ok != tc.ok {
				t.Errorf("parseDaemonCPU = %q, %d, %v; want %q, %d, %v", limit, procs, ok, tc.limit, tc.procs, tc.ok)
			}
		})
	}
}
