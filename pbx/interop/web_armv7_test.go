package interop

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// armStartBound is how long the ARMv7 daemon may take to start under
// qemu-arm-static (emulation is slow); it is not a performance assertion.
const armStartBound = 120 * time.Second

// buildARMv7 cross-compiles hushbox for ARMv7 hard-float, as the boards
// run it (static, no cgo), or takes env HUSHBOX_TEST_ARM_BIN when set (a
// prebuilt binary).
func buildARMv7(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("HUSHBOX_TEST_ARM_BIN"); bin != "" {
		return bin
	}
	bin := filepath.Join(t.TempDir(), "hushbox-armv7")
	cmd := exec.Command("go", "build", "-o", bin, "-ldflags", "-X hushbox/pbx/buildinfo.Version=interop-armv7", "hushbox/cmd/hushbox")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm", "GOARM=7")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build ARMv7 hushbox: %v\n%s", err, out)
	}
	return bin
}

// pageTiming is what the browser's Performance API says about the last
// navigation, in milliseconds from its start.
type pageTiming struct {
	TTFB float64 `json:"ttfb"` // request sent to first response byte (server time)
	FCP  float64 `json:"fcp"`  // navigation start to first contentful paint
	Load float64 `json:"load"` // navigation start to the load event's end
	Size float64 `json:"size"` // HTML bytes transferred
}

// TestWebARMv7FirstRender runs the ARMv7 build under qemu-arm-static,
// sets it up and logs in from Chromium, and reports how long the dashboard
// takes to first paint and how long the server takes to its first byte.
// The figures are logged, not asserted (docs/benchmarks.md, "Web page").
func TestWebARMv7FirstRender(t *testing.T) {
	qemu := requireTool(t, "qemu-arm-static")
	b := startBrowser(t)
	bin := buildARMv7(t)
	lo := freeUDPRange(t, 20)
	p := startPBXCommand(t, []string{qemu, bin}, armStartBound,
		"--sip", fmt.Sprintf("127.0.0.1:%d", freePort(t)), "--sip-tls", "", "--rtp-ports", fmt.Sprintf("%d-%d", lo, lo+19),
		"--media-ip", "127.0.0.1", "--web", fmt.Sprintf("127.0.0.1:%d", freePort(t)))
	if !strings.Contains(p.stderr.String(), "hushbox: ready") {
		t.Fatal("ARMv7 daemon not ready")
	}
	base := setupWeb(t, b, p) // setup (argon2id under emulation) and login

	// The tab is on the dashboard setup led to (POST /setup, 303, GET
	// /): the first measure is that navigation, the second a fresh one.
	measure := func(what string, navigate bool) pageTiming {
		if navigate {
			b.run("open the dashboard ("+what+")", chromedp.Navigate(base), chromedp.WaitVisible(chromedp.ID(`s-regs`)))
		}
		return get(b, "read the dashboard timing", chromedp.Evaluate[pageTiming](`new Promise(resolve => {
			const done = () => {
				const nav = performance.getEntriesByType('navigation')[0];
				const fcp = performance.getEntriesByName('first-contentful-paint')[0];
				if (!fcp || !nav || nav.loadEventEnd === 0) { setTimeout(done, 50); return; }
				resolve({ttfb: nav.responseStart - nav.requestStart, fcp: fcp.startTime, load: nav.loadEventEnd, size: nav.transferSize});
			};
			done();
		})`, chromedp.EvalAwaitPromise))
	}
	first := measure("after setup", false)
	again := measure("opened again", true)
	t.Logf("ARMv7 under qemu-arm-static, dashboard: right after setup (POST /setup, redirect) TTFB %.0f ms, first contentful paint %.0f ms, load %.0f ms (%.0f bytes HTML); opened again TTFB %.0f ms, FCP %.0f ms, load %.0f ms",
		first.TTFB, first.FCP, first.Load, first.Size, again.TTFB, again.FCP, again.Load)
	if first.FCP <= 0 || again.FCP <= 0 {
		t.Errorf("no first contentful paint recorded: %+v %+v", first, again)
	}
}
