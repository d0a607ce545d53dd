package daemon

import (
	"testing"

	"github.com/emiago/sipgo/sip"
)

// Run must leave sipgo's process-wide default logger alone: sipgo reads it
// from its own goroutines at any time (closing connections, lazy header
// parsing), so a second daemon, or any other sipgo user in the process
// (tests, `hushbox phone`), races with the write. The daemon's own logger
// goes to its stack through options instead.
func TestRunLeavesSipgoDefaultLogger(t *testing.T) {
	before := sip.DefaultLogger()
	p := startPBX(t, pbxOptions{})
	if err := p.stop(); err != nil {
		t.Fatal(err)
	}
	if sip.DefaultLogger() != before {
		t.Fatal("daemon.Run replaced sipgo's package-wide default logger (sip.SetDefaultLogger)")
	}
}
