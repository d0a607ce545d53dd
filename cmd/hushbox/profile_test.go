package main

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

// TestStartProfiles checks that the profiles are written only when asked
// for, as gzipped pprof files (what `go tool pprof` reads) and the
// execution trace as a Go trace file (what `go tool trace` reads).
func TestStartProfiles(t *testing.T) {
	for _, tc := range []struct {
		name            string
		cpu, mem, trace bool
	}{
		{"off by default", false, false, false},
		{"cpu", true, false, false},
		{"mem", false, true, false},
		{"trace", false, false, true},
		{"all", true, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			env := map[string]string{}
			if tc.cpu {
				env[envCPUProfile] = filepath.Join(dir, "cpu.pprof")
			}
			if tc.mem {
				env[envMemProfile] = filepath.Join(dir, "mem.pprof")
			}
			if tc.trace {
				env[envTrace] = filepath.Join(dir, "run.trace")
			}
			stop := startProfiles(func(k string) string { return env[k] }, slog.New(slog.NewTextHandler(io.Discard, nil)))
			stop()
			files, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if want := len(env); len(files) != want {
				t.Fatalf("%d files written, want %d: %v", len(files), want, files)
			}
			for k, path := range env {
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if k == envTrace {
					if !bytes.HasPrefix(b, []byte("go 1.")) {
						t.Errorf("%s is not a Go execution trace (%d bytes: %.12q)", filepath.Base(path), len(b), b)
					}
				} else if !bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
					t.Errorf("%s is not a gzipped pprof profile (%d bytes)", filepath.Base(path), len(b))
				}
			}
		})
	}
}

// TestStartProfilesBadPath checks that a profile that cannot be written
// does not stop the daemon from starting.
func TestStartProfilesBadPath(t *testing.T) {
	env := map[string]string{envCPUProfile: filepath.Join(t.TempDir(), "missing", "cpu.pprof")}
	var logs bytes.Buffer
	stop := startProfiles(func(k string) string { return env[k] }, slog.New(slog.NewTextHandler(&logs, nil)))
	stop()
	if !bytes.Contains(logs.Bytes(), []byte("CPU profile not started")) {
		t.Errorf("no warning logged: %s", logs.String())
	}
}
