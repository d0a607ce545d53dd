// Package interop runs the hushbox daemon against real SIP peers (sipp,
// baresip, linphonec) and hostile input (the RFC 4475 torture messages).
// Every test starts its own daemon on free 127.0.0.1 ports with a fresh
// data folder; the binary is built once for the whole package in TestMain
// (or taken from env HUSHBOX_TEST_BIN when set).
//
// A test that needs an external tool skips when the tool is missing, except
// under CI=true where a missing tool is a failure (see requireTool).
package interop

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// hushboxBin is the daemon binary built by TestMain; buildErr says why it
// could not be built (every test that needs the daemon then fails with it).
var (
	hushboxBin string
	buildErr   error
)

func TestMain(m *testing.M) {
	if os.Getenv(stallProbeEnv) != "" {
		runStallProbe() // this binary as the host-stall probe (testbed_hoststall_test.go)
	}
	dir, err := os.MkdirTemp("", "hushbox-interop-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop: temp dir:", err)
		os.Exit(2)
	}
	if bin := os.Getenv("HUSHBOX_TEST_BIN"); bin != "" {
		// A prebuilt daemon (e.g. to test one binary while the tree moves).
		hushboxBin = bin
	} else {
		hushboxBin, buildErr = buildHushbox(dir)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildHushbox compiles hushbox/cmd/hushbox into dir with a fixed test version.
func buildHushbox(dir string) (string, error) {
	bin := filepath.Join(dir, "hushbox")
	cmd := exec.Command("go", "build", "-o", bin,
		"-ldflags", "-X hushbox/pbx/buildinfo.Version=interop-test", "hushbox/cmd/hushbox")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build hushbox/cmd/hushbox: %w\n%s", err, out)
	}
	return bin, nil
}
