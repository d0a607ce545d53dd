package sysinfo

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// CgroupCPU is where the process's CPU cgroup is in the cgroup file
// system: the relay's hold line reads its throttled time there, and the
// daemon its CPU limit.
type CgroupCPU struct {
	// Dir is the process's own cgroup directory (it holds cpu.stat).
	Dir string
	// Root is the mount point of the hierarchy Dir is in: Dir's ancestors
	// up to Root can limit the process too.
	Root string
	// V2 tells the unified hierarchy (cpu.max) from v1's cpu controller
	// (cpu.cfs_quota_us and cpu.cfs_period_us).
	V2 bool
}

// FindCgroupCPU reads /proc/self/cgroup and finds the process's CPU
// cgroup. ok is false where there is none to read (not Linux, or no
// cgroup file system mounted where this process can see it: `ip netns
// exec` mounts a /sys of its own without one).
func FindCgroupCPU() (c CgroupCPU, ok bool) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return CgroupCPU{}, false
	}
	return FindCgroupCPUFrom(b, func(p string) bool { _, err := os.Stat(p); return err == nil })
}

// FindCgroupCPUFrom is FindCgroupCPU on the text of /proc/self/cgroup,
// with exists to check a candidate file: v1's cpu controller where it is
// mounted (its own name, or the usual cpu,cpuacct and cpu), else the v2
// unified hierarchy ("0::/path") under /sys/fs/cgroup.
func FindCgroupCPUFrom(procCgroup []byte, exists func(string) bool) (c CgroupCPU, ok bool) {
	var v2 CgroupCPU
	for line := range bytes.SplitSeq(procCgroup, []byte("\n")) {
		parts := bytes.SplitN(line, []byte(":"), 3)
		if len(parts) != 3 {
			continue
		}
		ctrls, rel := string(parts[1]), string(parts[2])
		if string(parts[0]) == "0" && ctrls == "" {
			v2 = CgroupCPU{Dir: filepath.Join("/sys/fs/cgroup", rel), Root: "/sys/fs/cgroup", V2: true}
			continue
		}
		for ctrl := range strings.SplitSeq(ctrls, ",") {
			if ctrl != "cpu" {
				continue
			}
			for _, mount := range []string{"/sys/fs/cgroup/" + ctrls, "/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/cpu"} {
				if dir := filepath.Join(mount, rel); exists(filepath.Join(dir, "cpu.stat")) {
					return CgroupCPU{Dir: dir, Root: mount}, true
				}
			}
		}
	}
	if v2.Dir != "" && exists(filepath.Join(v2.Dir, "cpu.stat")) {
		return v2, true
	}
	return CgroupCPU{}, false
}

// Limit is the CPU the cgroup lets the process use, in CPUs (0.4: 40 % of
// one core): the lowest quota over period of its cgroup and every
// ancestor up to the hierarchy's root, as the kernel enforces each. ok is
// false when none of them sets a quota, or none can be read. read reads a
// file (os.ReadFile).
func (c CgroupCPU) Limit(read func(string) ([]byte, error)) (cpus float64, ok bool) {
	if c.Dir == "" || c.Root == "" {
		return 0, false
	}
	lowest := math.Inf(1)
	for dir := filepath.Clean(c.Dir); ; dir = filepath.Dir(dir) {
		var l float64
		var found bool
		if c.V2 {
			if b, err := read(filepath.Join(dir, "cpu.max")); err == nil {
				l, found = ParseCPUMax(string(b))
			}
		} else {
			q, err1 := read(filepath.Join(dir, "cpu.cfs_quota_us"))
			p, err2 := read(filepath.Join(dir, "cpu.cfs_period_us"))
			if err1 == nil && err2 == nil {
				l, found = ParseCFSQuota(string(q), string(p))
			}
		}
		if found && l < lowest {
			lowest = l
		}
		if dir == filepath.Clean(c.Root) || dir == "/" || dir == "." {
			break
		}
	}
	if math.IsInf(lowest, 1) {
		return 0, false
	}
	return lowest, true
}

// ParseCPUMax reads cgroup v2's cpu.max, "QUOTA PERIOD" in microseconds
// or "max PERIOD" (no limit: ok false).
func ParseCPUMax(s string) (cpus float64, ok bool) {
	f := strings.Fields(s)
	if len(f) != 2 || f[0] == "max" {
		return 0, false
	}
	return quotaOver(f[0], f[1])
}

// ParseCFSQuota reads cgroup v1's cpu.cfs_quota_us and cpu.cfs_period_us
// (a quota of -1: no limit, ok false).
func ParseCFSQuota(quota, period string) (cpus float64, ok bool) {
	return quotaOver(strings.TrimSpace(quota), strings.TrimSpace(period))
}

func quotaOver(quota, period string) (float64, bool) {
	q, err1 := strconv.ParseInt(quota, 10, 64)
	p, err2 := strconv.ParseInt(period, 10, 64)
	if err1 != nil || err2 != nil || q <= 0 || p <= 0 {
		return 0, false
	}
	return float64(q) / float64(p), true
}
