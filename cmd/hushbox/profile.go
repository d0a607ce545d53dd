package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
)

// Opt-in profiles of `hushbox serve`, for finding where a loaded box's CPU
// and memory go (docs/benchmarks.md, "DoS and hand-off"). Unset (the
// default) nothing is started and nothing costs anything.
const (
	// envCPUProfile names the file a CPU profile of the whole run is
	// written to when the daemon stops.
	envCPUProfile = "HUSHBOX_CPUPROFILE"
	// envMemProfile names the file a heap profile (allocations included)
	// is written to when the daemon stops.
	envMemProfile = "HUSHBOX_MEMPROFILE"
	// envTrace names the file an execution trace of the whole run is
	// written to (go tool trace): where a goroutine waited, and for what.
	envTrace = "HUSHBOX_TRACE"
)

// startProfiles starts the profiles the environment asks for and returns
// the function that writes them; it is called once, after the daemon has
// stopped. A profile that cannot be started is logged and skipped: a
// diagnostic must not keep the PBX from serving.
func startProfiles(getenv func(string) string, log *slog.Logger) (stop func()) {
	var stops []func()
	for _, r := range []struct {
		env, what string
		start     func(io.Writer) error
		stop      func()
	}{
		{envCPUProfile, "CPU profile", pprof.StartCPUProfile, pprof.StopCPUProfile},
		{envTrace, "execution trace", trace.Start, trace.Stop},
	} {
		if stop := startRecording(getenv(r.env), r.env, r.what, r.start, r.stop, log); stop != nil {
			stops = append(stops, stop)
		}
	}
	if path := getenv(envMemProfile); path != "" {
		log.Info("heap profile on", "file", path)
		stops = append(stops, func() {
			if err := writeHeapProfile(path); err != nil {
				log.Warn("heap profile not written", "file", path, "err", err)
			}
		})
	}
	return func() {
		for _, s := range stops {
			s()
		}
	}
}

// startRecording starts a recording into the file at path (none when path
// is empty) and returns what stops it and closes the file, or nil when it
// did not start.
func startRecording(path, env, what string, start func(io.Writer) error, stop func(), log *slog.Logger) func() {
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err == nil {
		if err = start(f); err != nil {
			f.Close()
		}
	}
	if err != nil {
		log.Warn(what+" not started", "env", env, "err", err)
		return nil
	}
	log.Info(what+" on", "file", path)
	return func() {
		stop()
		if err := f.Close(); err != nil {
			log.Warn(what+" not written", "file", path, "err", err)
		}
	}
}

// writeHeapProfile writes the heap profile (in use and allocated since the
// start) to path, after a GC so the in-use figures are current.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	runtime.GC()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("heap profile %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("heap profile %s: %w", path, err)
	}
	return nil
}
