package main

import (
	"fmt"
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
	if path := getenv(envCPUProfile); path != "" {
		if f, err := os.Create(path); err != nil {
			log.Warn("CPU profile not started", "env", envCPUProfile, "err", err)
		} else if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			log.Warn("CPU profile not started", "env", envCPUProfile, "err", err)
		} else {
			log.Info("CPU profile on", "file", path)
			stops = append(stops, func() {
				pprof.StopCPUProfile()
				if err := f.Close(); err != nil {
					log.Warn("CPU profile not written", "file", path, "err", err)
				}
			})
		}
	}
	if path := getenv(envTrace); path != "" {
		if f, err := os.Create(path); err != nil {
			log.Warn("execution trace not started", "env", envTrace, "err", err)
		} else if err := trace.Start(f); err != nil {
			f.Close()
			log.Warn("execution trace not started", "env", envTrace, "err", err)
		} else {
			log.Info("execution trace on", "file", path)
			stops = append(stops, func() {
				trace.Stop()
				if err := f.Close(); err != nil {
					log.Warn("execution trace not written", "file", path, "err", err)
				}
			})
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
