package media

import (
	"flag"
	"os"
	"testing"
)

// TestMain runs every test of the package twice where the Linux poller is
// built: first with every relay on the poller (the default), then on the
// goroutine path (HUSHBOX_MEDIA_LOOP=goroutines), so both loops pass the
// same suite. Benchmark runs (-bench) run once, on the
// poller: BenchmarkRelayLoopbackLoops covers both loops.
func TestMain(m *testing.M) {
	flag.Parse()
	defaultLoop = loopAuto
	code := m.Run()
	if code == 0 && havePoller && flag.Lookup("test.bench").Value.String() == "" {
		defaultLoop = loopGoroutines
		code = m.Run()
	}
	os.Exit(code)
}
