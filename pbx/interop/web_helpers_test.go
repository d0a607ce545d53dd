package interop

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Bounds for the browser tests. They only keep a broken page or browser
// from hanging the run; they are not performance assertions.
const (
	browserStepTimeout = 30 * time.Second
	webLineTimeout     = 10 * time.Second
)

var (
	webURLRe   = regexp.MustCompile(`hushbox: web page on (https://\S+/)`)
	webTokenRe = regexp.MustCompile(`enter the setup token (\S+)`)
)

// webInfo returns the web page's base URL ("https://127.0.0.1:PORT/") and
// the first-start setup token the daemon printed on stderr.
func (p *pbx) webInfo() (base, token string) {
	p.t.Helper()
	deadline := time.Now().Add(webLineTimeout)
	for {
		out := p.stderr.String()
		u := webURLRe.FindStringSubmatch(out)
		k := webTokenRe.FindStringSubmatch(out)
		if u != nil && k != nil {
			return u[1], k[1]
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("daemon printed no web page URL and setup token")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// browser is one headless Chromium tab owned by a test.
type browser struct {
	t       *testing.T
	ctx     context.Context // the tab's context; steps derive bounded ones
	shotDir string          // where a failure screenshot goes
}

// startBrowser starts headless Chromium with a fresh profile, no network
// chatter of its own, and the daemon's self-signed certificate accepted.
// When the test fails, a full-page screenshot is saved under t.TempDir()
// and its path logged.
func startBrowser(t *testing.T) *browser {
	t.Helper()
	bin := requireTool(t, "chromium")
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.WindowSize(1280, 900),
		chromedp.WSURLReadTimeout(browserStepTimeout),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		acancel()
	})
	// Start the browser now, so a broken install fails here. This first
	// call must use the tab's own context: the browser lives as long as
	// the context of the first call, so it cannot carry a timeout (the
	// allocator bounds the start itself, see WSURLReadTimeout).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	b := &browser{t: t, ctx: ctx, shotDir: t.TempDir()}
	// Registered after the cancel above, so it runs first (LIFO).
	t.Cleanup(func() {
		if t.Failed() {
			b.screenshot()
		}
	})
	return b
}

// run runs browser actions, bounded by browserStepTimeout; an error fails
// the test with what the step was meant to do.
func (b *browser) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserStepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		lctx, lcancel := context.WithTimeout(b.ctx, 5*time.Second)
		loc, _ := chromedp.Run(lctx, chromedp.Location())
		lcancel()
		b.t.Fatalf("browser: %s (page %s): %v", what, loc, err)
	}
}

// get runs one browser action that returns a value, bounded like run.
func get[T any](b *browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserStepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("browser: %s: %v", what, err)
	}
	return v
}

// text returns the trimmed text of the first node matching sel.
func text[S chromedp.Selectable](b *browser, what string, sel S) string {
	b.t.Helper()
	return strings.TrimSpace(get(b, what, chromedp.Text(sel)))
}

// screenshot saves a full-page PNG under t.TempDir() and logs its path.
func (b *browser) screenshot() {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(90))
	if err != nil {
		b.t.Logf("screenshot: %v", err)
		return
	}
	path := filepath.Join(b.shotDir, "failure.png")
	if err := os.WriteFile(path, png, 0o600); err != nil {
		b.t.Logf("screenshot: %v", err)
		return
	}
	b.t.Logf("screenshot of %s saved to %s", loc, path)
}
