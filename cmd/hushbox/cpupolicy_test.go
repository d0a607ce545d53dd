package main

import "testing"

func TestCPUPolicy(t *testing.T) {
	for _, tc := range []struct {
		name  string
		env   map[string]string
		limit float64
		ok    bool
		want  int
	}{
		{"test bed board, 40 % of a core", nil, 0.4, true, 1},
		{"container at 500m", nil, 0.5, true, 1},
		{"one CPU: Go's choice", nil, 1, true, 0},
		{"two CPUs: Go's choice", nil, 2, true, 0},
		{"no limit (a Pi 2 on its own)", nil, 0, false, 0},
		{"GOMAXPROCS set by the user", map[string]string{"GOMAXPROCS": "2"}, 0.4, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := cpuPolicy(func(k string) string { return tc.env[k] }, tc.limit, tc.ok); got != tc.want {
				t.Errorf("cpuPolicy = %d, want %d", got, tc.want)
			}
		})
	}
}
