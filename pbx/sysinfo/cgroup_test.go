package sysinfo

import (
	"errors"
	"io/fs"
	"math"
	"slices"
	"testing"
)

func TestFindCgroupCPUFrom(t *testing.T) {
	for _, tc := range []struct {
		name  string
		proc  string
		files []string
		want  CgroupCPU
		ok    bool
	}{
		{"v2", "0::/hbx-1-board\n", []string{"/sys/fs/cgroup/hbx-1-board/cpu.stat"},
			CgroupCPU{Dir: "/sys/fs/cgroup/hbx-1-board", Root: "/sys/fs/cgroup", V2: true}, true},
		{"v2 root", "0::/\n", []string{"/sys/fs/cgroup/cpu.stat"}, CgroupCPU{Dir: "/sys/fs/cgroup", Root: "/sys/fs/cgroup", V2: true}, true},
		{"v1 cpu,cpuacct", "12:memory:/x\n4:cpu,cpuacct:/hbx-1-board\n0::/\n",
			[]string{"/sys/fs/cgroup/cpu,cpuacct/hbx-1-board/cpu.stat"},
			CgroupCPU{Dir: "/sys/fs/cgroup/cpu,cpuacct/hbx-1-board", Root: "/sys/fs/cgroup/cpu,cpuacct"}, true},
		{"v1 mounted as cpu", "4:cpu,cpuacct:/b\n", []string{"/sys/fs/cgroup/cpu/b/cpu.stat"},
			CgroupCPU{Dir: "/sys/fs/cgroup/cpu/b", Root: "/sys/fs/cgroup/cpu"}, true},
		{"v1 cpuacct only is not cpu", "4:cpuacct:/b\n", []string{"/sys/fs/cgroup/cpuacct/b/cpu.stat"}, CgroupCPU{}, false},
		{"no file", "0::/gone\n", nil, CgroupCPU{}, false},
		{"garbage", "nonsense\n::\n", nil, CgroupCPU{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exists := func(p string) bool { return slices.Contains(tc.files, p) }
			got, ok := FindCgroupCPUFrom([]byte(tc.proc), exists)
			if got != tc.want || ok != tc.ok {
				t.Errorf("FindCgroupCPUFrom = %+v, %v; want %+v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestParseCPULimits(t *testing.T) {
	for _, tc := range []struct {
		name          string
		cpuMax        string // v2; "" to test v1 below
		quota, period string
		want          float64
		ok            bool
	}{
		{"v2 40 %", "4000 10000\n", "", "", 0.4, true},
		{"v2 two CPUs", "200000 100000\n", "", "", 2, true},
		{"v2 no limit", "max 100000\n", "", "", 0, false},
		{"v2 garbage", "lots\n", "", "", 0, false},
		{"v2 zero period", "4000 0\n", "", "", 0, false},
		{"v1 40 %", "", "4000\n", "10000\n", 0.4, true},
		{"v1 no limit", "", "-1\n", "100000\n", 0, false},
		{"v1 garbage", "", "x\n", "100000\n", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got float64
			var ok bool
			if tc.cpuMax != "" {
				got, ok = ParseCPUMax(tc.cpuMax)
			} else {
				got, ok = ParseCFSQuota(tc.quota, tc.period)
			}
			if ok != tc.ok || math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("got %v, %v; want %v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestCgroupCPULimitTakesLowestAncestor(t *testing.T) {
	files := map[string]string{
		// v2: the board's cgroup is unlimited, its parent caps it at 40 %.
		"/sys/fs/cgroup/cpu.max":                 "max 100000\n",
		"/sys/fs/cgroup/hbx/cpu.max":             "4000 10000\n",
		"/sys/fs/cgroup/hbx/board/cpu.max":       "max 100000\n",
		"/sys/fs/cgroup/open/cpu.max":            "max 100000\n",
		"/sys/fs/cgroup/tight/cpu.max":           "150000 100000\n",
		"/sys/fs/cgroup/tight/tighter/cpu.max":   "50000 100000\n",
		"/sys/fs/cgroup/cpu/b/cpu.cfs_quota_us":  "2500\n",
		"/sys/fs/cgroup/cpu/b/cpu.cfs_period_us": "10000\n",
		"/sys/fs/cgroup/cpu/cpu.cfs_quota_us":    "-1\n",
		"/sys/fs/cgroup/cpu/cpu.cfs_period_us":   "100000\n",
	}
	read := func(p string) ([]byte, error) {
		if s, ok := files[p]; ok {
			return []byte(s), nil
		}
		return nil, fs.ErrNotExist
	}
	for _, tc := range []struct {
		name string
		c    CgroupCPU
		want float64
		ok   bool
	}{
		{"parent's limit", CgroupCPU{Dir: "/sys/fs/cgroup/hbx/board", Root: "/sys/fs/cgroup", V2: true}, 0.4, true},
		{"none", CgroupCPU{Dir: "/sys/fs/cgroup/open", Root: "/sys/fs/cgroup", V2: true}, 0, false},
		{"own lower than parent's", CgroupCPU{Dir: "/sys/fs/cgroup/tight/tighter", Root: "/sys/fs/cgroup", V2: true}, 0.5, true},
		{"v1", CgroupCPU{Dir: "/sys/fs/cgroup/cpu/b", Root: "/sys/fs/cgroup/cpu"}, 0.25, true},
		{"unreadable", CgroupCPU{Dir: "/sys/fs/cgroup/gone", Root: "/sys/fs/cgroup", V2: true}, 0, false},
		{"not found", CgroupCPU{}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.c.Limit(read)
			if ok != tc.ok || math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("Limit = %v, %v; want %v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
	// Reading stops at the hierarchy's root: nothing above it is asked for.
	var asked []string
	CgroupCPU{Dir: "/sys/fs/cgroup/hbx/board", Root: "/sys/fs/cgroup", V2: true}.Limit(func(p string) ([]byte, error) {
		asked = append(asked, p)
		return nil, errors.New("no")
	})
	if want := []string{"/sys/fs/cgroup/hbx/board/cpu.max", "/sys/fs/cgroup/hbx/cpu.max", "/sys/fs/cgroup/cpu.max"}; !slices.Equal(asked, want) {
		t.Errorf("read %q, want %q", asked, want)
	}
}

func FuzzParseCPUMax(f *testing.F) {
	f.Add("4000 10000\n")
	f.Add("max 100000")
	f.Fuzz(func(t *testing.T, s string) {
		if l, ok := ParseCPUMax(s); ok && !(l > 0) {
			t.Fatalf("limit %v accepted from %q", l, s)
		}
	})
}
