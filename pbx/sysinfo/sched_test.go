package sysinfo

import (
	"testing"
	"time"
)

func TestParseCgroupThrottled(t *testing.T) {
	for _, tc := range []struct {
		name, stat string
		want       time.Duration
		ok         bool
	}{
		{"v2", "usage_usec 5000\nnr_periods 12\nnr_throttled 3\nthrottled_usec 4500\nnr_bursts 0\n", 4500 * time.Microsecond, true},
		{"v2 without the cpu controller", "usage_usec 5000\nuser_usec 3000\nsystem_usec 2000\n", 0, false},
		{"v1", "nr_periods 10\nnr_throttled 2\nthrottled_time 123456789\n", 123456789, true},
		{"garbage number", "throttled_usec 12x\n", 0, false},
		{"negative", "throttled_usec -3\n", 0, false},
		{"key as a prefix only", "throttled_usecs 5\n", 0, false},
		{"empty", "", 0, false},
	} {
		if got, ok := ParseCgroupThrottled(tc.stat); got != tc.want || ok != tc.ok {
			t.Errorf("%s: %v %v, want %v %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseSchedstat(t *testing.T) {
	for _, tc := range []struct {
		in        string
		cpu, wait time.Duration
		ok        bool
	}{
		{"2098066 17 1\n", 2098066, 17, true},
		{"5 6", 5, 6, true},
		{"5\n", 0, 0, false},
		{"x 6 1", 0, 0, false},
		{"", 0, 0, false},
	} {
		cpu, wait, ok := ParseSchedstat(tc.in)
		if cpu != tc.cpu || wait != tc.wait || ok != tc.ok {
			t.Errorf("ParseSchedstat(%q) = %v %v %v, want %v %v %v", tc.in, cpu, wait, ok, tc.cpu, tc.wait, tc.ok)
		}
	}
}
