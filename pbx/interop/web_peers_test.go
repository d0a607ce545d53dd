package interop

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// peerSeenBound keeps a broken heartbeat from hanging the run; it is not a
// performance assertion (the first heartbeat follows the pairing at once).
const peerSeenBound = 20 * time.Second

// loginAt logs the tab in at base (both daemons serve 127.0.0.1, so one
// box's session cookie replaces the other's) and opens the Peers page.
func loginAt(b *browser, base string) {
	b.t.Helper()
	b.run("open the peers page", chromedp.Navigate(base+"peers"),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/login"], #peers`)))
	if strings.Contains(b.location(), "/login") {
		b.run("log in", chromedp.SendKeys(chromedp.ID(`#password`), webAdminPassword),
			chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
			chromedp.WaitVisible(chromedp.ID(`#s-regs`)))
		b.run("open the peers page", chromedp.Navigate(base+"peers"), chromedp.WaitVisible(chromedp.ID(`#peers`)))
	}
}

// peerRows reloads the Peers page and returns its table's cells.
func peerRows(b *browser, base string) [][]string {
	b.t.Helper()
	b.run("reload the peers page", chromedp.Navigate(base+"peers"), chromedp.WaitVisible(chromedp.ID(`#peers`)))
	return get(b, "read the peers table", chromedp.Evaluate[[][]string](`
		Array.from(document.querySelectorAll('#peers tbody tr'))
			.filter(tr => !tr.querySelector('td.muted'))
			.map(tr => Array.from(tr.cells).map(td => td.textContent.trim()))`))
}

// waitSeen polls the Peers page until the peer called name shows a
// last-seen time and a round trip, and returns its row.
func waitSeen(b *browser, base, name string) []string {
	b.t.Helper()
	var row []string
	for deadline := time.Now().Add(peerSeenBound); ; {
		for _, r := range peerRows(b, base) {
			if len(r) >= 7 && r[0] == name {
				row = r
			}
		}
		if row != nil && strings.Contains(row[5], "ago") && row[6] != "" || time.Now().After(deadline) {
			return row
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// TestWebPairPeers: box A's Peers page shows a pairing code; on box B's
// Peers page the admin enters A's address and the code; both pages then
// list the other box, with a last-seen time once heartbeats flow over
// mutual TLS, and B's trunks page lists the trunk pairing made.
func TestWebPairPeers(t *testing.T) {
	br := startBrowser(t)
	a, b := startPBX(t), startPBX(t)
	baseA := setupWeb(t, br, a)
	br.run("show a pairing code on A",
		chromedp.Navigate(baseA+"peers"),
		chromedp.WaitVisible(chromedp.ID(`#code-form`)),
		chromedp.SendKeys(chromedp.ID(`#code_name`), "branch"),
		chromedp.SendKeys(chromedp.ID(`#code_prefix`), "9"),
		chromedp.Click(chromedp.ID(`#show-code`)),
		chromedp.WaitVisible(chromedp.ID(`#code`)),
	)
	code := text(br, "read the code", chromedp.ID(`#code`))
	if !regexp.MustCompile(`^[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]$`).MatchString(code) {
		t.Fatalf("pairing code shown as %q", code)
	}
	u, err := url.Parse(baseA)
	if err != nil {
		t.Fatal(err)
	}

	baseB := setupWeb(t, br, b)
	br.run("pair B with A",
		chromedp.Navigate(baseB+"peers"),
		chromedp.WaitVisible(chromedp.ID(`#pair-form`)),
		chromedp.SendKeys(chromedp.ID(`#address`), u.Host),
		chromedp.SendKeys(chromedp.ID(`#code-in`), strings.ToLower(code)),
		chromedp.SendKeys(chromedp.ID(`#name`), "hq"),
		chromedp.SendKeys(chromedp.ID(`#prefix`), "8"),
		chromedp.Click(chromedp.ID(`#pair`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	if msg := text(br, "read the confirmation", chromedp.CSS(`.flash`)); !strings.Contains(msg, "Paired with hq") || !strings.Contains(msg, "Trunk hq made") {
		t.Fatalf("after pairing the page says %q", msg)
	}
	row := waitSeen(br, baseB, "hq")
	if row == nil || !strings.Contains(row[5], "ago") || row[6] == "" {
		t.Fatalf("B's peers: %v; want hq with a last-seen time and round trip", row)
	}
	if row[1] != "board" || row[2] == "" || row[4] != "hq" {
		t.Fatalf("B's row for A: %v", row)
	}
	br.run("open B's trunks", chromedp.Navigate(baseB+"trunks"),
		chromedp.WaitVisible(chromedp.Search(`//tbody/tr[td[1][normalize-space()="hq"]]`)))

	loginAt(br, baseA)
	row = waitSeen(br, baseA, "branch")
	if row == nil || !strings.Contains(row[5], "ago") {
		t.Fatalf("A's peers: %v; want branch with a last-seen time", row)
	}
	// The code was shown once: A's page no longer holds it.
	if html := get(br, "read A's page", chromedp.OuterHTML(chromedp.CSS(`main`))); strings.Contains(html, code) {
		t.Fatal("A's Peers page still shows the used code")
	}
}
