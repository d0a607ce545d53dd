package sysinfo

import (
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Samples as a Linux 6.1 kernel writes them.
const (
	sampleStat    = "4242 (hush box) (x)) S 1 4242 4242 0 -1 4194560 1520 0 0 0 250 50 0 0 20 0 9 0 12345 1234567 2048 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
	sampleLoadavg = "0.52 0.58 0.61 2/467 12345\n"
	sampleMeminfo = "MemTotal:        1011556 kB\nMemFree:          123456 kB\nMemAvailable:     654321 kB\nBuffers:           10000 kB\n"
	sampleStatus  = "Name:\thushbox\nState:\tS (sleeping)\nVmPeak:\t  812344 kB\nVmRSS:\t   23456 kB\nThreads:\t9\n"
)

func TestParseStatCPU(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		want    uint64
		wantErr bool
	}{
		{"name with spaces and parens", sampleStat, 300, false},
		{"plain", "1 (a) R 0 1 1 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 1 1 1\n", 10, false},
		{"no name", "1 a R 0 1", 0, true},
		{"truncated", "1 (a) R 0 1 1 0 -1 0 0 0 0 0 7", 0, true},
		{"not numbers", "1 (a) R 0 1 1 0 -1 0 0 0 0 0 x y 0 0 20 0 1 0 1 1 1", 0, true},
		{"empty", "", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseStatCPU(tc.in)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("= %d, %v; want %d, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestParseLoadavg(t *testing.T) {
	for _, tc := range []struct {
		name        string
		in          string
		l1, l5, l15 float64
		wantErr     bool
	}{
		{"sample", sampleLoadavg, 0.52, 0.58, 0.61, false},
		{"busy", "12.00 8.50 3.25 9/100 1", 12, 8.5, 3.25, false},
		{"short", "0.1 0.2", 0, 0, 0, true},
		{"negative", "-1 0 0 1/1 1", 0, 0, 0, true},
		{"garbage", "a b c", 0, 0, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l1, l5, l15, err := ParseLoadavg(tc.in)
			if (err != nil) != tc.wantErr || l1 != tc.l1 || l5 != tc.l5 || l15 != tc.l15 {
				t.Errorf("= %v %v %v, %v; want %v %v %v, error %v", l1, l5, l15, err, tc.l1, tc.l5, tc.l15, tc.wantErr)
			}
		})
	}
}

func TestParseKB(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		keys    []string
		want    []uint64
		wantErr bool
	}{
		{"meminfo", sampleMeminfo, []string{"MemTotal", "MemAvailable"}, []uint64{1011556 * 1024, 654321 * 1024}, false},
		{"status rss", sampleStatus, []string{"VmRSS"}, []uint64{23456 * 1024}, false},
		{"no unit", "HugePages_Total:       7\n", []string{"HugePages_Total"}, []uint64{7}, false},
		{"missing key (old kernel without MemAvailable)", "MemTotal: 1 kB\n", []string{"MemTotal", "MemAvailable"}, nil, true},
		{"not a number", "VmRSS:\tlots kB\n", []string{"VmRSS"}, nil, true},
		{"overflow", "VmRSS:\t18446744073709551615 kB\n", []string{"VmRSS"}, nil, true},
		{"empty value", "VmRSS:\n", []string{"VmRSS"}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseKB(tc.in, tc.keys...)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want error %v", err, tc.wantErr)
			}
			for i := range tc.want {
				if got[i] != tc.want[i] {
					t.Errorf("%s = %d, want %d", tc.keys[i], got[i], tc.want[i])
				}
			}
		})
	}
}

// writeProc writes a fake /proc with the given self/stat CPU ticks.
func writeProc(t *testing.T, root string, stat string) {
	t.Helper()
	for name, body := range map[string]string{"self/stat": stat, "loadavg": sampleLoadavg, "meminfo": sampleMeminfo, "self/status": sampleStatus} {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSamplerFromFiles(t *testing.T) {
	root := t.TempDir()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s := &Sampler{Root: root, Now: func() time.Time { return now }}
	writeProc(t, root, "1 (hushbox) S 1 1 1 0 -1 0 0 0 0 0 100 0 0 0 20 0 1 0 1 1 1\n")
	first, err := s.Sample()
	if err != nil {
		t.Fatal(err)
	}
	if first.ProcessCPU != 0 || first.CPUSeconds != 1 {
		t.Errorf("first sample CPU %v%% %vs, want 0%% (no window yet) and 1 s", first.ProcessCPU, first.CPUSeconds)
	}
	if first.RSS != 23456*1024 || first.MemAvailable != 654321*1024 || first.MemTotal != 1011556*1024 || first.Load1 != 0.52 {
		t.Errorf("memory/load wrong: %+v", first)
	}
	// 50 ticks (0.5 s of CPU) in 2 s: 25 % of one core.
	now = now.Add(2 * time.Second)
	writeProc(t, root, "1 (hushbox) S 1 1 1 0 -1 0 0 0 0 0 120 30 0 0 20 0 1 0 1 1 1\n")
	second, err := s.Sample()
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(second.ProcessCPU-25) > 1e-9 {
		t.Errorf("CPU %v%%, want 25%%", second.ProcessCPU)
	}
	// A sample right after repeats the figure instead of a tiny window.
	now = now.Add(100 * time.Millisecond)
	writeProc(t, root, "1 (hushbox) S 1 1 1 0 -1 0 0 0 0 0 121 30 0 0 20 0 1 0 1 1 1\n")
	third, _ := s.Sample()
	if third.ProcessCPU != second.ProcessCPU {
		t.Errorf("CPU over 100 ms = %v%%, want the previous %v%% repeated", third.ProcessCPU, second.ProcessCPU)
	}
}

func TestSamplerMissingFiles(t *testing.T) {
	s := &Sampler{Root: t.TempDir()}
	snap, err := s.Sample()
	if err == nil {
		t.Fatal("no error for an empty /proc")
	}
	if snap.CPUs == 0 {
		t.Error("CPU count missing")
	}
}

func TestSamplerRealProc(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc here")
	}
	snap, err := (&Sampler{}).Sample()
	if err != nil {
		t.Fatal(err)
	}
	if snap.RSS == 0 || snap.MemTotal == 0 || snap.MemAvailable > snap.MemTotal {
		t.Errorf("implausible snapshot of this test process: %+v", snap)
	}
}

func FuzzParsers(f *testing.F) {
	for _, s := range []string{sampleStat, sampleLoadavg, sampleMeminfo, sampleStatus} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = ParseStatCPU(s)
		_, _, _, _ = ParseLoadavg(s)
		_, _ = ParseKB(s, "MemTotal", "MemAvailable")
	})
}
