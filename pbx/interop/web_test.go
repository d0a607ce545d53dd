package interop

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const (
	webAdminPassword = "interop-admin-pw-1"
	webExtPassword   = "pw-105-interop-web"
)

// wantCDRHeader is the header row of the CDR CSV export.
var wantCDRHeader = "id,call_id,from,from_name,to,start,answer,end,duration,billsec,disposition,sip_code,codec,hangup"

// TestWebAdminFlow drives the web page in headless Chromium the way an
// admin would: first-start setup with the token the daemon printed, the
// dashboard, adding extension 105 through the form, a real phone (sipp)
// registering as 105 and showing up in the counts, and the CDR CSV export.
func TestWebAdminFlow(t *testing.T) {
	requireTool(t, "sipp")
	b := startBrowser(t)
	p := startPBX(t, md5First...)
	base, token := p.webInfo()

	// 1. Setup: every page leads to /setup until the admin password is set.
	b.run("open the web page and reach setup",
		chromedp.Navigate(base),
		chromedp.WaitVisible(chromedp.ID(`#token`)),
	)
	if loc := b.location(); !strings.HasSuffix(loc, "/setup") {
		t.Fatalf("first page is %s, want the setup page", loc)
	}
	b.run("fill and send the setup form",
		chromedp.SendKeys(chromedp.ID(`#token`), token),
		chromedp.SendKeys(chromedp.ID(`#password`), webAdminPassword),
		chromedp.SendKeys(chromedp.ID(`#confirm`), webAdminPassword),
		chromedp.Click(chromedp.CSS(`form[action="/setup"] button[type=submit]`)),
	)
	b.loginIfAsked()
	b.run("see the dashboard", chromedp.WaitVisible(chromedp.ID(`#s-regs`)))
	if h := text(b, "dashboard heading", chromedp.CSS(`h1`)); h != "Dashboard" {
		t.Fatalf("after setup the page heading is %q, want Dashboard", h)
	}
	if n := text(b, "registration count", chromedp.ID(`#s-regs`)); n != "0" {
		t.Errorf("dashboard shows %s registrations before any phone, want 0", n)
	}

	// 2. Add extension 105 with a chosen password through the form.
	b.run("open the extensions page",
		chromedp.Navigate(base+"extensions"),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/extensions"]`)),
	)
	b.run("fill and send the add-extension form",
		chromedp.SendKeys(chromedp.ID(`#number`), "105"),
		chromedp.SendKeys(chromedp.ID(`#name`), "Web Desk"),
		chromedp.Click(chromedp.CSS(`input[name=pwmode][value=choose]`)),
		chromedp.SendKeys(chromedp.CSS(`form[action="/extensions"] #password`), webExtPassword),
		chromedp.Click(chromedp.CSS(`form[action="/extensions"] button[type=submit]`)),
	)
	row := `//tbody/tr[td[1][normalize-space()="105"]]`
	b.run("see 105 in the extensions list", chromedp.WaitVisible(chromedp.Search(row)))
	if name := text(b, "name of 105", chromedp.Search(row+`/td[2]`)); name != "Web Desk" {
		t.Errorf("extension 105 listed with name %q, want %q", name, "Web Desk")
	}
	if phones := text(b, "phones of 105", chromedp.Search(row+`/td[3]`)); phones != "0" {
		t.Errorf("extension 105 lists %s phones before any registered, want 0", phones)
	}

	// 3. A real phone registers as 105 with the chosen password; the
	// extensions page and the dashboard count it.
	registerSipp(t, p, "105", webExtPassword, 0)
	phones := b.poll("phones of 105 after REGISTER", "1", func() string {
		b.run("reload the extensions page",
			chromedp.Navigate(base+"extensions"),
			chromedp.WaitVisible(chromedp.Search(row)),
		)
		return text(b, "phones of 105", chromedp.Search(row+`/td[3]`))
	})
	if phones != "1" {
		t.Errorf("extension 105 lists %s phones after sipp registered, want 1", phones)
	}
	b.run("open the dashboard", chromedp.Navigate(base), chromedp.WaitVisible(chromedp.ID(`#s-regs`)))
	if n := text(b, "registration count", chromedp.ID(`#s-regs`)); n != "1" {
		t.Errorf("dashboard shows %s registrations after sipp registered as 105, want 1", n)
	}
	if ext := text(b, "registrations table", chromedp.Search(`//h2[.="Registrations"]/following::tbody[1]/tr[1]/td[1]`)); ext != "105" {
		t.Errorf("dashboard registrations table starts with %q, want 105", ext)
	}

	// 4. Export the CDR CSV from the call records page, in this session.
	b.run("open the call records page",
		chromedp.Navigate(base+"cdrs"),
		chromedp.WaitVisible(chromedp.CSS(`a[href^="/cdrs.csv"]`)),
	)
	type fetched struct {
		Status int    `json:"status"`
		Type   string `json:"type"`
		Body   string `json:"body"`
	}
	got := get(b, "fetch the CSV link", chromedp.Evaluate[fetched](`(async () => {
		const a = document.querySelector('a[href^="/cdrs.csv"]');
		const r = await fetch(a.href, {credentials: 'same-origin'});
		return {status: r.status, type: r.headers.get('content-type') || '', body: await r.text()};
	})()`, chromedp.EvalAwaitPromise))
	if got.Status != 200 {
		t.Fatalf("CSV link answered %d, want 200; body:\n%s", got.Status, got.Body)
	}
	if !strings.HasPrefix(got.Type, "text/csv") {
		t.Errorf("CSV link Content-Type %q, want text/csv", got.Type)
	}
	head, _, _ := strings.Cut(got.Body, "\n")
	if head = strings.TrimRight(head, "\r"); head != wantCDRHeader {
		t.Errorf("CSV header row %q, want %q", head, wantCDRHeader)
	}
}

// TestWebSetupWrongToken checks that a wrong setup token is refused: the
// page stays on setup with the error shown, and nothing is configured.
func TestWebSetupWrongToken(t *testing.T) {
	b := startBrowser(t)
	p := startPBX(t)
	base, token := p.webInfo()
	wrong := "not-the-" + token

	b.run("open the setup page",
		chromedp.Navigate(base+"setup"),
		chromedp.WaitVisible(chromedp.ID(`#token`)),
	)
	b.run("send setup with a wrong token",
		chromedp.SendKeys(chromedp.ID(`#token`), wrong),
		chromedp.SendKeys(chromedp.ID(`#password`), webAdminPassword),
		chromedp.SendKeys(chromedp.ID(`#confirm`), webAdminPassword),
		chromedp.Click(chromedp.CSS(`form[action="/setup"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID(`#token-err`)),
	)
	if msg := text(b, "token error", chromedp.ID(`#token-err`)); !strings.Contains(msg, "wrong setup token") {
		t.Errorf("token error reads %q, want it to say wrong setup token", msg)
	}
	if loc := b.location(); !strings.HasSuffix(loc, "/setup") {
		t.Errorf("after a wrong token the page is %s, want still setup", loc)
	}
	// Still unconfigured: the dashboard leads back to setup.
	b.run("open the dashboard",
		chromedp.Navigate(base),
		chromedp.WaitVisible(chromedp.ID(`#token`)),
	)
	if loc := b.location(); !strings.HasSuffix(loc, "/setup") {
		t.Errorf("after a wrong token the dashboard leads to %s, want setup", loc)
	}
}

// location returns the tab's current URL.
func (b *browser) location() string {
	b.t.Helper()
	return get(b, "read the location", chromedp.Location())
}

// loginIfAsked logs in with the admin password when setup landed on the
// login page instead of logging in directly.
func (b *browser) loginIfAsked() {
	b.t.Helper()
	b.run("leave the setup page", chromedp.WaitVisible(chromedp.CSS(`#s-regs, form[action="/login"]`)))
	if !strings.HasSuffix(b.location(), "/login") {
		return
	}
	b.run("log in",
		chromedp.SendKeys(chromedp.ID(`#password`), webAdminPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
	)
}

// poll calls read until it returns want or a bound passes (the registrar
// and the page are separate goroutines); it returns the last value read.
// The bound only keeps a broken daemon from hanging the run.
func (b *browser) poll(what, want string, read func() string) string {
	b.t.Helper()
	var got string
	for deadline := time.Now().Add(10 * time.Second); ; {
		if got = read(); got == want || time.Now().After(deadline) {
			return got
		}
		time.Sleep(200 * time.Millisecond)
	}
}
