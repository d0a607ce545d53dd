package main

import "testing"

func TestGCPolicy(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		name        string
		env         map[string]string
		memory      uint64
		wantPercent int
		wantLimit   int64
	}{
		{"Pi 2 (1 GiB)", nil, 1024 * mib, serveGCPercent, 256 * mib},
		{"container limited to 256 MiB", nil, 256 * mib, serveGCPercent, 64 * mib},
		{"tiny: the floor", nil, 128 * mib, serveGCPercent, minMemLimit},
		{"big host: the ceiling", nil, 64 << 30, serveGCPercent, maxMemLimit},
		{"memory unknown: the ceiling", nil, 0, serveGCPercent, maxMemLimit},
		{"GOGC set by the user", map[string]string{"GOGC": "100"}, 1024 * mib, 0, 256 * mib},
		{"GOGC=off set by the user", map[string]string{"GOGC": "off"}, 1024 * mib, 0, 256 * mib},
		{"GOMEMLIMIT set by the user", map[string]string{"GOMEMLIMIT": "100MiB"}, 1024 * mib, serveGCPercent, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := gcPolicy(func(k string) string { return tc.env[k] }, tc.memory)
			if s.percent != tc.wantPercent || s.limit != tc.wantLimit {
				t.Errorf("gcPolicy = GOGC %d, limit %d MiB; want %d, %d MiB", s.percent, s.limit>>20, tc.wantPercent, tc.wantLimit>>20)
			}
		})
	}
}

func TestCgroupLimit(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"max\n", 0, false},
		{"268435456\n", 256 << 20, true},
		{"9223372036854771712\n", 0, false}, // cgroup v1 without a limit
		{"", 0, false},
		{"garbage", 0, false},
		{"0", 0, false},
	} {
		got, ok := cgroupLimit(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("cgroupLimit(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
