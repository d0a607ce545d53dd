package media

import (
	"flag"
	"os"
	"testing"
)

// TestMain runs every test of the package twice where the Linux poller is
// built: first on the default path (the poller), then with every relay on
// the goroutine path, so both loops pass the same suite. Benchmark runs
// (-bench) run once: BenchmarkRelayLoopbackLoops covers both loops.
func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if code == 0 && havePoller && flag.Lookup("test.bench").Value.String() == "" {
		defaultLoop = loopGoroutines
		code = m.Run()
	}
	os.Exit(code)
}
