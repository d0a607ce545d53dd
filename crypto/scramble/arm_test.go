package scramble

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// armTests are the tests run again inside the ARMv7 binary: everything
// that pins bits (golden vectors, tables, keystream, exact inverses) and
// the round-trip quality.
const armTests = "^(TestGolden|TestTablesGenerated|TestTableProperties|TestKeystreamIsChaCha20|TestMixExactInverse|TestTransformRoundTrip|TestRoundingHelpers|TestRoundTripSNR|TestFrameIndependence|TestNoAllocations)$"

// TestARMv7UnderQemu cross-compiles this package's tests for ARMv7
// (GOARCH=arm GOARM=7, the Raspberry Pi 2 and Cubieboard) and runs the
// bit-exactness tests under qemu-arm-static, so the golden vectors are
// checked on the boards' architecture. Outside CI it skips when
// qemu-arm-static is missing or with -short; with CI=true both are failures
// to run it.
func TestARMv7UnderQemu(t *testing.T) {
	if runtime.GOARCH == "arm" {
		t.Skip("already running on arm")
	}
	ci := os.Getenv("CI") == "true"
	if testing.Short() && !ci {
		t.Skip("cross-compiles and emulates; skipped with -short outside CI")
	}
	qemu, err := exec.LookPath("qemu-arm-static")
	if err != nil {
		if ci {
			t.Fatalf("qemu-arm-static is required in CI: %v", err)
		}
		t.Skipf("qemu-arm-static not installed: %v", err)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "scramble-armv7.test")
	build := exec.CommandContext(t.Context(), goBin, "test", "-c", "-o", bin, ".")
	build.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm", "GOARM=7", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("cross-compiling the tests for ARMv7: %v\n%s", err, out)
	}
	run := exec.CommandContext(t.Context(), qemu, bin, "-test.run", armTests, "-test.v", "-test.count=1")
	run.Dir = "." // testdata is found relative to the package directory
	out, err := run.CombinedOutput()
	t.Logf("ARMv7 test output:\n%s", out)
	if err != nil {
		t.Fatalf("ARMv7 tests failed under qemu-arm-static: %v", err)
	}
	for _, name := range []string{"TestGolden", "TestTablesGenerated", "TestRoundTripSNR"} {
		if !strings.Contains(string(out), "--- PASS: "+name+" ") {
			t.Errorf("ARMv7 run did not pass %s", name)
		}
	}
}
