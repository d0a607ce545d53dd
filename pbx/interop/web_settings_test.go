package interop

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// restartBound keeps a daemon that does not come back from hanging the
// run; it is not a performance assertion.
const restartBound = 40 * time.Second

// startPBXArgs starts `hushbox serve` with exactly args (plus --data), for
// tests that must leave settings to the store (startPBX fixes the realm
// and RTP range by flags). It waits for the first "hushbox: ready".
func startPBXArgs(t *testing.T, args ...string) *pbx {
	t.Helper()
	if buildErr != nil {
		t.Fatalf("hushbox binary: %v", buildErr)
	}
	return startPBXCommand(t, []string{hushboxBin}, startTimeout, args...)
}

// startPBXCommand is startPBXArgs for another command line: run is the
// program and its leading arguments (e.g. qemu-arm-static and an ARM
// binary), bound how long the start may take.
func startPBXCommand(t *testing.T, run []string, bound time.Duration, args ...string) *pbx {
	t.Helper()
	p := &pbx{t: t, data: t.TempDir(), host: "127.0.0.1", stderr: &lockedBuffer{}, exited: make(chan struct{})}
	argv := append(append(append([]string{}, run[1:]...), "serve", "--data", p.data), args...)
	p.cmd = exec.Command(run[0], argv...)
	pipe, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatalf("stderr pipe: %v", err)
	}
	p.cmd.Stdout = p.cmd.Stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start hushbox: %v", err)
	}
	go func() {
		sc := bufio.NewScanner(pipe)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			p.stderr.WriteLine(sc.Text())
		}
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() { p.stop() })
	p.waitReady(1, bound)
	return p
}

// waitReady waits until the daemon printed "hushbox: ready" n times (a
// restart re-executes the same process, which prints it again).
func (p *pbx) waitReady(n int, bound time.Duration) {
	p.t.Helper()
	for deadline := time.Now().Add(bound); ; {
		if strings.Count(p.stderr.String(), "hushbox: ready") >= n {
			return
		}
		select {
		case <-p.exited:
			p.t.Fatalf("hushbox exited (%v) before ready #%d:\n%s", p.waitErr, n, p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("hushbox not ready (#%d) after %v:\n%s", n, bound, p.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// logIn logs in on the login page the browser shows.
func (b *browser) logIn() {
	b.t.Helper()
	b.run("log in",
		chromedp.WaitVisible(chromedp.CSS(`form[action="/login"]`)),
		chromedp.SendKeys(chromedp.ID(`#password`), webAdminPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID(`#s-regs`)),
	)
}

// TestWebSettingsRestart changes the realm and the RTP range on the
// settings page, restarts from the system page, and finds the daemon back
// (same process, re-executed) with the new settings and extension 105
// still there; an admin action after the restart shows in the logs view.
func TestWebSettingsRestart(t *testing.T) {
	b := startBrowser(t)
	sipPort, webPort := freePort(t), freePort(t)
	p := startPBXArgs(t, "--sip", fmt.Sprintf("127.0.0.1:%d", sipPort), "--sip-tls", "", "--media-ip", "127.0.0.1",
		"--web", fmt.Sprintf("127.0.0.1:%d", webPort), "--log-level", "debug")
	pid := p.cmd.Process.Pid
	base := setupWeb(t, b, p)
	addExtWeb(b, base, "105", "Web Desk", webExtPassword)

	lo := freeUDPRange(t, 20)
	newRange := fmt.Sprintf("%d-%d", lo, lo+19)
	const newRealm = "restart.test"
	b.run("open the settings page", chromedp.Navigate(base+"settings"), chromedp.WaitVisible(chromedp.ID(`settings-form`)))
	if v := get(b, "realm field", chromedp.Evaluate[string](`document.getElementById('set-sip-realm').value`)); v != "hushbox" {
		t.Errorf("realm field shows %q before any change, want the running hushbox", v)
	}
	b.run("change realm and RTP range and save",
		chromedp.SetValue(chromedp.ID(`set-sip-realm`), newRealm),
		chromedp.SetValue(chromedp.ID(`set-rtp-ports`), newRange),
		chromedp.Click(chromedp.CSS(`#settings-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	if msg := text(b, "save message", chromedp.CSS(`.flash`)); !strings.Contains(msg, "Restart hushbox") || !strings.Contains(msg, "Realm") || !strings.Contains(msg, "RTP port range") {
		t.Fatalf("after saving the page says %q, want it to ask for a restart for realm and RTP range", msg)
	}
	if pending := text(b, "pending note", chromedp.ID(`pending`)); !strings.Contains(pending, "Realm") {
		t.Errorf("pending note %q does not name the realm", pending)
	}

	b.run("restart from the system page",
		chromedp.Navigate(base+"system"),
		chromedp.WaitVisible(chromedp.ID(`restart`)),
		chromedp.Click(chromedp.ID(`restart-confirm`)),
		chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`),
		chromedp.Click(chromedp.ID(`restart`)),
		chromedp.WaitVisible(chromedp.ID(`stopping`)),
	)
	p.waitReady(2, restartBound)
	if p.cmd.Process.Pid != pid {
		t.Fatalf("pid changed") // cannot happen with os/exec; guards the helper
	}
	out := p.stderr.String()
	second := out[strings.LastIndex(out, "hushbox: restarting"):]
	if !strings.Contains(second, fmt.Sprintf("realm %q", newRealm)) {
		t.Errorf("after the restart the daemon does not announce realm %q:\n%s", newRealm, second)
	}
	if !strings.Contains(second, "ports "+newRange) {
		t.Errorf("after the restart the daemon does not announce RTP ports %s:\n%s", newRange, second)
	}
	// The restarting page reloads by itself once the box answers; the
	// sessions did not survive the restart, so it lands on the login page.
	b.run("wait for the page to come back", chromedp.WaitVisible(chromedp.CSS(`form[action="/login"]`)))
	b.logIn()

	row := `//tbody/tr[td[1][normalize-space()="105"]]`
	b.run("see 105 after the restart", chromedp.Navigate(base+"extensions"), chromedp.WaitVisible(chromedp.Search(row)))
	b.run("open settings after the restart", chromedp.Navigate(base+"settings"), chromedp.WaitVisible(chromedp.ID(`settings-form`)))
	vals := get(b, "settings fields", chromedp.Evaluate[[]string](`[document.getElementById('set-sip-realm').value, document.getElementById('set-rtp-ports').value, String(!!document.getElementById('pending'))]`))
	if vals[0] != newRealm || vals[1] != newRange || vals[2] != "false" {
		t.Errorf("settings after restart: realm %q range %q pending %s; want %q %q and nothing pending", vals[0], vals[1], vals[2], newRealm, newRange)
	}

	// An admin action (rename 105) shows in the logs view.
	b.run("rename 105",
		chromedp.Navigate(base+"extensions"),
		chromedp.Click(chromedp.Search(row+`//summary`)),
		chromedp.SetValue(chromedp.CSS(`form[action="/extensions/105/name"] input[name=name]`), "Front Desk"),
		chromedp.Click(chromedp.CSS(`form[action="/extensions/105/name"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	if name := text(b, "name of 105", chromedp.Search(row+`/td[2]`)); name != "Front Desk" {
		t.Errorf("105 is named %q after the rename, want Front Desk", name)
	}
	b.run("open the logs view", chromedp.Navigate(base+"system"), chromedp.WaitVisible(chromedp.ID(`log`)))
	logText := text(b, "logs view", chromedp.ID(`log`))
	if !regexp.MustCompile(`web: extension renamed.*ext=105`).MatchString(logText) {
		t.Errorf("logs view lacks the rename of 105:\n%s", logText)
	}
	if strings.Contains(logText, webExtPassword) || strings.Contains(logText, webAdminPassword) {
		t.Error("logs view shows a password")
	}
}

// phonePages are the pages that must at least be in the nav; the test
// checks every page the nav links to (other pages join it there).
var phonePages = []string{"/", "/extensions", "/trunks", "/cdrs", "/backup", "/settings", "/system"}

// TestWebPhoneLayout opens every page at 390x844 (a phone) and checks that
// nothing scrolls sideways and that every nav link is on screen and works.
func TestWebPhoneLayout(t *testing.T) {
	b := startBrowser(t)
	p := startPBX(t)
	b.run("phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch))
	base, _ := p.webInfo()
	type layout struct {
		Scroll int      `json:"scroll"`
		Inner  int      `json:"inner"`
		Off    []string `json:"off"`
		Links  int      `json:"links"`
	}
	check := func(page string) layout {
		return get(b, "measure "+page, chromedp.Evaluate[layout](`(() => {
			const inner = window.innerWidth, off = [];
			const links = document.querySelectorAll('nav a, nav button');
			links.forEach(a => {
				const r = a.getBoundingClientRect();
				if (r.width === 0 || r.height === 0 || r.left < 0 || r.right > inner + 0.5) off.push(a.textContent.trim());
			});
			return {scroll: document.documentElement.scrollWidth, inner: inner, off: off, links: links.length};
		})()`))
	}
	b.run("open setup", chromedp.Navigate(base+"setup"), chromedp.WaitVisible(chromedp.ID(`token`)))
	if l := check("setup"); l.Scroll > l.Inner {
		t.Errorf("setup page scrolls sideways: scrollWidth %d > innerWidth %d", l.Scroll, l.Inner)
	}
	base = setupWeb(t, b, p)
	addExtWeb(b, base, "105", "A rather long display name for a phone", webExtPassword)
	pages := get(b, "read the nav", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('nav a')).map(a => a.getAttribute('href'))`))
	for _, want := range phonePages {
		if !slices.Contains(pages, want) {
			t.Errorf("nav lacks %s: %q", want, pages)
		}
	}
	for _, page := range pages {
		page = strings.TrimPrefix(page, "/")
		b.run("open /"+page, chromedp.Navigate(base+page), chromedp.WaitVisible(chromedp.CSS(`main h1`)))
		l := check("/" + page)
		if l.Inner != 390 {
			t.Fatalf("viewport is %d wide, want 390", l.Inner)
		}
		if l.Scroll > l.Inner {
			t.Errorf("/%s scrolls sideways: scrollWidth %d > innerWidth %d", page, l.Scroll, l.Inner)
		}
		if l.Links < len(pages) {
			t.Errorf("/%s: %d nav entries, want at least %d", page, l.Links, len(pages))
		}
		if len(l.Off) > 0 {
			t.Errorf("/%s: nav entries off screen or hidden: %q", page, l.Off)
		}
		// HUSHBOX_PHONE_SHOTS=DIR saves each page as a phone shows it.
		if dir := os.Getenv("HUSHBOX_PHONE_SHOTS"); dir != "" {
			png := get(b, "screenshot /"+page, chromedp.FullScreenshot(100))
			name := page
			if name == "" {
				name = "dashboard"
			}
			if err := os.WriteFile(filepath.Join(dir, "phone-"+name+".png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The nav works by touch: tap each link and land on its page.
	for _, page := range pages {
		b.run("tap "+page+" in the nav",
			chromedp.Click(chromedp.CSS(`nav a[href="`+page+`"]`)),
			chromedp.WaitVisible(chromedp.CSS(`nav a[href="`+page+`"][aria-current=page]`)),
		)
	}
}
