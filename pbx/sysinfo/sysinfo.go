// Package sysinfo reads what the dashboard shows about the machine and the
// process from Linux's /proc: the process's CPU use and resident memory,
// the system load and the memory still available. Parsers take the file
// text, so they are tested on samples; a Sampler reads the files.
package sysinfo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// userHZ is the unit of the CPU times in /proc/PID/stat (USER_HZ), 100 on
// every Linux architecture hushbox runs on.
const userHZ = 100

// Snapshot is one look at the process and the system.
type Snapshot struct {
	// ProcessCPU is the process's CPU use since the previous sample, in
	// percent of one core (200 = two cores busy).
	ProcessCPU float64 `json:"process_cpu"`
	// CPUSeconds is the process's total user+system CPU time.
	CPUSeconds float64 `json:"cpu_seconds"`
	// Load1, Load5, Load15 are the system load averages.
	Load1  float64 `json:"load1"`
	Load5  float64 `json:"load5"`
	Load15 float64 `json:"load15"`
	// RSS is the process's resident memory in bytes.
	RSS uint64 `json:"rss"`
	// MemTotal and MemAvailable are the system's memory in bytes.
	MemTotal     uint64 `json:"mem_total"`
	MemAvailable uint64 `json:"mem_available"`
	// CPUs is the number of CPUs the process may use.
	CPUs int `json:"cpus"`
}

// ParseStatCPU returns the user+system CPU time in USER_HZ ticks from the
// text of /proc/PID/stat. The command name (field 2) may hold spaces and
// parentheses, so fields are counted after its last ')'.
func ParseStatCPU(s string) (uint64, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("stat: no command name")
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("stat: %d fields after the name, want at least 13", len(f))
	}
	u, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("stat: utime/stime not numbers")
	}
	return u + st, nil
}

// ParseLoadavg returns the 1, 5 and 15 minute load averages from the text
// of /proc/loadavg.
func ParseLoadavg(s string) (l1, l5, l15 float64, err error) {
	f := strings.Fields(s)
	if len(f) < 3 {
		return 0, 0, 0, fmt.Errorf("loadavg: %d fields, want at least 3", len(f))
	}
	var v [3]float64
	for i := range v {
		if v[i], err = strconv.ParseFloat(f[i], 64); err != nil || v[i] < 0 {
			return 0, 0, 0, fmt.Errorf("loadavg: field %d %q not a load", i+1, f[i])
		}
	}
	return v[0], v[1], v[2], nil
}

// ParseKB returns the values of the named "Key:   123 kB" lines of a
// /proc file (meminfo, PID/status) in bytes. A missing key is an error.
func ParseKB(s string, keys ...string) ([]uint64, error) {
	out := make([]uint64, len(keys))
	found := make([]bool, len(keys))
	for line := range strings.Lines(s) {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		for i, want := range keys {
			if k != want || found[i] {
				continue
			}
			f := strings.Fields(v)
			if len(f) == 0 {
				return nil, fmt.Errorf("%s: no value", k)
			}
			n, err := strconv.ParseUint(f[0], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%s: %q not a number", k, f[0])
			}
			mul := uint64(1)
			if len(f) > 1 && strings.EqualFold(f[1], "kB") {
				mul = 1024
			}
			if n > (1<<64-1)/mul {
				return nil, fmt.Errorf("%s: %d out of range", k, n)
			}
			out[i], found[i] = n*mul, true
		}
	}
	for i, ok := range found {
		if !ok {
			return nil, fmt.Errorf("%s: missing", keys[i])
		}
	}
	return out, nil
}

// Sampler reads snapshots of this process and the system. Its CPU percent
// is over the time since the sample before, but never over less than
// MinInterval (a closer sample repeats the last figure), so several
// readers (dashboards, /metrics) do not make it jumpy.
type Sampler struct {
	// Root is the proc file system, "/proc" when empty (tests point it
	// at sample files).
	Root string
	// MinInterval is the shortest CPU averaging window; 1 s when zero.
	MinInterval time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time

	mu       sync.Mutex
	lastAt   time.Time
	lastTick uint64
	lastPct  float64
}

func (s *Sampler) read(name string) (string, error) {
	root := s.Root
	if root == "" {
		root = "/proc"
	}
	b, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		return "", fmt.Errorf("sysinfo: %w", err)
	}
	return string(b), nil
}

// Sample reads a snapshot. Parts that cannot be read stay zero and are
// reported in the joined error; the rest is still returned.
func (s *Sampler) Sample() (Snapshot, error) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	snap := Snapshot{CPUs: runtime.GOMAXPROCS(0)}
	var errs []error
	if txt, err := s.read("self/stat"); err != nil {
		errs = append(errs, err)
	} else if ticks, err := ParseStatCPU(txt); err != nil {
		errs = append(errs, err)
	} else {
		snap.CPUSeconds = float64(ticks) / userHZ
		snap.ProcessCPU = s.cpuPercent(now(), ticks)
	}
	if txt, err := s.read("loadavg"); err != nil {
		errs = append(errs, err)
	} else if snap.Load1, snap.Load5, snap.Load15, err = ParseLoadavg(txt); err != nil {
		errs = append(errs, err)
	}
	if txt, err := s.read("self/status"); err != nil {
		errs = append(errs, err)
	} else if v, err := ParseKB(txt, "VmRSS"); err != nil {
		errs = append(errs, err)
	} else {
		snap.RSS = v[0]
	}
	if txt, err := s.read("meminfo"); err != nil {
		errs = append(errs, err)
	} else if v, err := ParseKB(txt, "MemTotal", "MemAvailable"); err != nil {
		errs = append(errs, err)
	} else {
		snap.MemTotal, snap.MemAvailable = v[0], v[1]
	}
	return snap, errors.Join(errs...)
}

// cpuPercent turns the tick counter into percent of one core since the
// last sample at least MinInterval ago.
func (s *Sampler) cpuPercent(at time.Time, ticks uint64) float64 {
	min := s.MinInterval
	if min <= 0 {
		min = time.Second
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastAt.IsZero() {
		s.lastAt, s.lastTick = at, ticks
		return 0
	}
	dt := at.Sub(s.lastAt)
	if dt < min {
		return s.lastPct
	}
	if ticks >= s.lastTick {
		s.lastPct = float64(ticks-s.lastTick) / userHZ / dt.Seconds() * 100
	}
	s.lastAt, s.lastTick = at, ticks
	return s.lastPct
}
