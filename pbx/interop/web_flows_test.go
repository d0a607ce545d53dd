package interop

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Bounds for the longer web flows. They keep a broken daemon from hanging
// the run; they are not performance assertions.
const (
	livePollBound      = 15 * time.Second
	backupPassphrase   = "interop-backup-passphrase-1"
	restoreStagedShown = "restore staged"
)

// setupWeb runs first-start setup in the browser with webAdminPassword and
// leaves the tab on the dashboard; it returns the web page's base URL.
func setupWeb(t *testing.T, b *browser, p *pbx) string {
	t.Helper()
	base, token := p.webInfo()
	b.run("open the setup page",
		chromedp.Navigate(base+"setup"),
		chromedp.WaitVisible(chromedp.ID(`#token`)),
	)
	b.run("fill and send the setup form",
		chromedp.SendKeys(chromedp.ID(`#token`), token),
		chromedp.SendKeys(chromedp.ID(`#password`), webAdminPassword),
		chromedp.SendKeys(chromedp.ID(`#confirm`), webAdminPassword),
		chromedp.Click(chromedp.CSS(`form[action="/setup"] button[type=submit]`)),
	)
	b.loginIfAsked()
	b.run("see the dashboard", chromedp.WaitVisible(chromedp.ID(`#s-regs`)))
	return base
}

// addExtWeb adds an extension with a chosen password through the form and
// waits until it is listed.
func addExtWeb(b *browser, base, num, name, password string) {
	b.t.Helper()
	b.run("open the extensions page",
		chromedp.Navigate(base+"extensions"),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/extensions"]`)),
	)
	b.run("fill and send the add-extension form for "+num,
		chromedp.SendKeys(chromedp.ID(`#number`), num),
		chromedp.SendKeys(chromedp.ID(`#name`), name),
		chromedp.Click(chromedp.CSS(`input[name=pwmode][value=choose]`)),
		chromedp.SendKeys(chromedp.CSS(`form[action="/extensions"] #password`), password),
		chromedp.Click(chromedp.CSS(`form[action="/extensions"] button[type=submit]`)),
	)
	b.run("see "+num+" in the extensions list",
		chromedp.WaitVisible(chromedp.Search(`//tbody/tr[td[1][normalize-space()="`+num+`"]]`)))
}

// liveCallRows reloads the dashboard and returns the cells of each row of
// the live calls table; the "no calls" placeholder row gives none.
func liveCallRows(b *browser, base string) [][]string {
	b.t.Helper()
	b.run("reload the dashboard", chromedp.Navigate(base), chromedp.WaitVisible(chromedp.ID(`#calls`)))
	return get(b, "read the live calls table", chromedp.Evaluate[[][]string](`
		Array.from(document.querySelectorAll('#calls tr'))
			.filter(tr => !tr.querySelector('td.muted'))
			.map(tr => Array.from(tr.cells).map(td => td.textContent.trim()))`))
}

// pollRows re-reads the live calls until done accepts them or
// livePollBound passes; it returns the last rows read.
func pollRows(b *browser, base string, done func([][]string) bool) [][]string {
	b.t.Helper()
	var rows [][]string
	for deadline := time.Now().Add(livePollBound); ; {
		if rows = liveCallRows(b, base); done(rows) || time.Now().After(deadline) {
			return rows
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// isCall101to102 reports whether a live call row is 101 calling 102:
// From and To hold the numbers (bare or in a SIP URI).
func isCall101to102(row []string) bool {
	if len(row) < 4 {
		return false
	}
	return strings.Contains(row[0], "101") && strings.Contains(row[1], "102")
}

// TestWebLiveCall: with the dashboard open, sipp's 101 calls 102 and holds
// the call; the dashboard lists it (from 101 to 102 with its codec), and
// once the caller hangs up the call is gone from the list.
func TestWebLiveCall(t *testing.T) {
	requireTool(t, "sipp")
	requireFile(t, sippPcap)
	b := startBrowser(t)
	p := newCallPBX(t)
	base := setupWeb(t, b, p)
	if rows := liveCallRows(b, base); len(rows) != 0 {
		t.Fatalf("dashboard lists live calls before any call: %v", rows)
	}

	probe := newRTPProbe(t, 0)
	uasPort := freePort(t)
	registerSipp(t, p, "102", "pw-102-interop", uasPort)
	uas := startSipp(t, "callee 102", sippOpts{
		Scenario: "uas_answer.xml", Port: uasPort, Service: "102",
		Keys:  map[string]string{"probe_port": strconv.Itoa(probe.port)},
		Extra: []string{"-aa"},
	})
	uac := startSipp(t, "caller 101", sippOpts{
		Scenario: "uac_call_long.xml", Target: p.addr(), Service: "102",
		User: "101", Password: "pw-101-interop",
		Keys: map[string]string{"caller": "101"}, MediaPort: freeUDPRange(t, 4),
		Extra: []string{"-rtp_echo"},
	})

	rows := pollRows(b, base, func(rows [][]string) bool {
		return len(rows) == 1 && isCall101to102(rows[0]) && rows[0][3] != ""
	})
	if len(rows) != 1 || !isCall101to102(rows[0]) {
		t.Errorf("during the call the dashboard lists %v, want one call from 101 to 102", rows)
	} else {
		if codec := rows[0][3]; !strings.Contains(strings.ToUpper(codec), "PCMA") {
			t.Errorf("live call codec shown as %q, want PCMA (the only codec offered)", codec)
		}
		if n := text(b, "live call count", chromedp.ID(`#s-calls`)); n != "1" {
			t.Errorf("dashboard counts %s live calls during the call, want 1", n)
		}
	}

	uac.wait()
	uas.wait()
	rows = pollRows(b, base, func(rows [][]string) bool { return len(rows) == 0 })
	if len(rows) != 0 {
		t.Errorf("after the call ended the dashboard still lists %v", rows)
	}
	if n := text(b, "live call count", chromedp.ID(`#s-calls`)); n != "0" {
		t.Errorf("dashboard counts %s live calls after the call ended, want 0", n)
	}
}

// TestWebBackupRestore: daemon A is set up, gets extension 105 through the
// web page and a backup is downloaded from its Backup page. Daemon B, set
// up fresh with another admin password, stages that backup on its Backup
// page; after a restart on B's data folder, A's admin password logs in and
// extension 105 is listed.
func TestWebBackupRestore(t *testing.T) {
	file := filepath.Join(t.TempDir(), "hushbox-a.hbk")

	// Daemon A: setup, extension 105, backup download.
	{
		b := startBrowser(t)
		a := startPBX(t)
		base := setupWeb(t, b, a)
		addExtWeb(b, base, "105", "Web Desk", webExtPassword)
		b.run("open the backup page",
			chromedp.Navigate(base+"backup"),
			chromedp.WaitVisible(chromedp.CSS(`form[action="/backup/download"]`)),
		)
		type fetched struct {
			Status int    `json:"status"`
			Disp   string `json:"disp"`
			Body   string `json:"body"` // base64
		}
		// Post the page's own form (with its CSRF token) and read the
		// bytes, as the browser's download would.
		got := get(b, "download the backup", chromedp.Evaluate[fetched](fmt.Sprintf(`(async () => {
			const f = document.querySelector('form[action="/backup/download"]');
			f.querySelector('#passphrase').value = %[1]q;
			f.querySelector('#confirm').value = %[1]q;
			const r = await fetch(f.action, {method: 'POST', credentials: 'same-origin',
				body: new URLSearchParams(new FormData(f))});
			const buf = new Uint8Array(await r.arrayBuffer());
			let s = '';
			for (let i = 0; i < buf.length; i += 8192) s += String.fromCharCode.apply(null, buf.subarray(i, i + 8192));
			return {status: r.status, disp: r.headers.get('content-disposition') || '', body: btoa(s)};
		})()`, backupPassphrase), chromedp.EvalAwaitPromise))
		if got.Status != 200 {
			t.Fatalf("backup download answered %d, want 200", got.Status)
		}
		if !strings.Contains(got.Disp, "attachment") || !strings.Contains(got.Disp, ".hbk") {
			t.Errorf("backup Content-Disposition %q, want an attachment named *.hbk", got.Disp)
		}
		raw, err := base64.StdEncoding.DecodeString(got.Body)
		if err != nil {
			t.Fatalf("decode downloaded backup: %v", err)
		}
		if len(raw) == 0 {
			t.Fatal("downloaded backup is empty")
		}
		if err := os.WriteFile(file, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		a.stop()
	}

	// Daemon B: fresh setup, then stage A's backup.
	const bPassword = "interop-admin-pw-B"
	b := startBrowser(t)
	pb := startPBX(t)
	base, token := pb.webInfo()
	b.run("set up B",
		chromedp.Navigate(base+"setup"),
		chromedp.WaitVisible(chromedp.ID(`#token`)),
		chromedp.SendKeys(chromedp.ID(`#token`), token),
		chromedp.SendKeys(chromedp.ID(`#password`), bPassword),
		chromedp.SendKeys(chromedp.ID(`#confirm`), bPassword),
		chromedp.Click(chromedp.CSS(`form[action="/setup"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#s-regs, form[action="/login"]`)),
	)
	if strings.HasSuffix(b.location(), "/login") {
		b.run("log in to B",
			chromedp.SendKeys(chromedp.ID(`#password`), bPassword),
			chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
			chromedp.WaitVisible(chromedp.ID(`#s-regs`)),
		)
	}
	b.run("open B's backup page",
		chromedp.Navigate(base+"backup"),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/backup/restore"]`)),
	)
	b.run("upload A's backup with its passphrase",
		chromedp.SetUploadFiles(chromedp.ID(`#file`), []string{file}),
		chromedp.SendKeys(chromedp.ID(`#restore_passphrase`), backupPassphrase),
		// The button asks for confirmation; the admin says yes.
		chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`),
		chromedp.Click(chromedp.CSS(`form[action="/backup/restore"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	if msg := text(b, "restore message", chromedp.CSS(`.flash`)); !strings.Contains(msg, restoreStagedShown) {
		t.Fatalf("after the upload the page says %q, want %q", msg, restoreStagedShown)
	}
	pb.stop()

	// Restart on B's data folder: the staged restore is applied.
	pr := startPBXData(t, pb.data)
	base = pr.webBase()
	b.run("open the restored daemon's page",
		chromedp.Navigate(base),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/login"]`)),
	)
	b.run("log in with A's admin password",
		chromedp.SendKeys(chromedp.ID(`#password`), webAdminPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID(`#s-regs`)),
	)
	row := `//tbody/tr[td[1][normalize-space()="105"]]`
	b.run("open the extensions page",
		chromedp.Navigate(base+"extensions"),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/extensions"]`)),
	)
	b.run("see 105 restored in the extensions list", chromedp.WaitVisible(chromedp.Search(row)))
	if name := text(b, "name of 105", chromedp.Search(row+`/td[2]`)); name != "Web Desk" {
		t.Errorf("restored extension 105 has name %q, want %q", name, "Web Desk")
	}
}

// webBase returns the web page's base URL without needing a setup token
// (a configured daemon prints none).
func (p *pbx) webBase() string {
	p.t.Helper()
	for deadline := time.Now().Add(webLineTimeout); ; {
		if u := webURLRe.FindStringSubmatch(p.stderr.String()); u != nil {
			return u[1]
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("daemon printed no web page URL")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWebDashboardScreenshot saves a full-page screenshot of a dashboard
// with two extensions and one registered phone to
// $HUSHBOX_SCREENSHOT_DIR/dashboard.png (make screenshots). It only runs
// when HUSHBOX_SCREENSHOTS=1, so make test does not rewrite the image.
func TestWebDashboardScreenshot(t *testing.T) {
	if os.Getenv("HUSHBOX_SCREENSHOTS") != "1" {
		t.Skip("set HUSHBOX_SCREENSHOTS=1 (make screenshots) to write docs/img/dashboard.png")
	}
	dir := os.Getenv("HUSHBOX_SCREENSHOT_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "docs", "img")
	}
	requireTool(t, "sipp")
	b := startBrowser(t)
	p := startPBX(t, md5First...)
	base := setupWeb(t, b, p)
	addExtWeb(b, base, "105", "Front Desk", webExtPassword)
	addExtWeb(b, base, "106", "Workshop", "pw-106-interop-web")
	registerSipp(t, p, "105", webExtPassword, 0)
	regs := b.poll("registrations after REGISTER", "1", func() string {
		b.run("reload the dashboard", chromedp.Navigate(base), chromedp.WaitVisible(chromedp.ID(`#s-regs`)))
		return text(b, "registration count", chromedp.ID(`#s-regs`))
	})
	if regs != "1" {
		t.Fatalf("dashboard shows %s registrations after 105 registered, want 1", regs)
	}
	png := get(b, "screenshot the dashboard", chromedp.FullScreenshot(100)) // 100: PNG
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "dashboard.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("dashboard screenshot saved to %s (%d bytes)", path, len(png))
}
