package web

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"hushbox/crypto/keys"
	"hushbox/pbx/store"
)

func TestAddExtensionForm(t *testing.T) {
	e := newEnv(t)
	c, csrf := e.ready()
	if _, err := e.db.Extensions(); err != nil {
		t.Fatal(err)
	}
	// 150 exists already.
	if r := e.postForm(c, "/extensions", url.Values{"csrf": {csrf}, "number": {"150"}, "pwmode": {"generate"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("adding 150 = %d", r.StatusCode)
	}
	for _, tc := range []struct {
		name       string
		form       url.Values
		field, msg string
	}{
		{"letters in number", url.Values{"number": {"12a"}, "name": {"Bob"}}, "number", "2 to 15 digits"},
		{"short number", url.Values{"number": {"1"}}, "number", "2 to 15 digits"},
		{"long number", url.Values{"number": {"1234567890123456"}}, "number", "2 to 15 digits"},
		{"taken number", url.Values{"number": {"150"}}, "number", "exists already"},
		{"name too long", url.Values{"number": {"102"}, "name": {strings.Repeat("x", 65)}}, "name", "at most 64"},
		{"name unprintable", url.Values{"number": {"102"}, "name": {"a\tb"}}, "name", "printable"},
		{"chosen password short", url.Values{"number": {"102"}, "pwmode": {"choose"}, "password": {"short"}}, "password", "at least 8"},
		{"chosen password empty", url.Values{"number": {"102"}, "pwmode": {"choose"}}, "password", "at least 8"},
		{"password mode unknown", url.Values{"number": {"102"}, "pwmode": {"whatever"}}, "pwmode", "choose generate or choose"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.form.Set("csrf", csrf)
			r := e.postForm(c, "/extensions", tc.form)
			if r.StatusCode != http.StatusBadRequest {
				t.Fatalf("= %d, want 400", r.StatusCode)
			}
			// The error sits next to its field: in the span the field points to.
			re := regexp.MustCompile(`<span class="field-error"( id="` + tc.field + `-err")?>([^<]*)</span>`)
			m := re.FindStringSubmatch(r.body)
			if m == nil || !strings.Contains(m[2], tc.msg) {
				t.Fatalf("no %q error next to field %s in the page", tc.msg, tc.field)
			}
			// What was entered is kept (but never a password).
			if n := tc.form.Get("number"); n != "" && !strings.Contains(r.body, `value="`+n+`"`) {
				t.Errorf("number %q not kept in the form", n)
			}
			exts, err := e.db.Extensions()
			if err != nil || len(exts) != 1 {
				t.Fatalf("store holds %d extensions (err %v), want only 150", len(exts), err)
			}
		})
	}
}

func TestAddExtensionFormStores(t *testing.T) {
	e := newEnv(t)
	c, csrf := e.ready()
	r := e.postForm(c, "/extensions", url.Values{"csrf": {csrf}, "number": {"101"}, "name": {"Alice"}, "pwmode": {"generate"}, "require_srtp": {"on"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/extensions" {
		t.Fatalf("add = %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	x, err := e.db.Extension("101")
	if err != nil || x.Name != "Alice" || !x.RequireSRTP || x.HA1SHA256 == "" {
		t.Fatalf("stored %+v (err %v)", x, err)
	}
	// The generated password is shown once, and it is the one stored.
	page := e.get(c, "/extensions")
	m := regexp.MustCompile(`<code class="secret">([a-z0-9]+)</code>`).FindStringSubmatch(page.body)
	if m == nil {
		t.Fatal("generated password not shown after adding")
	}
	if _, err := e.db.Extension("101"); err != nil {
		t.Fatal(err)
	}
	if got := e.get(c, "/extensions"); strings.Contains(got.body, m[1]) {
		t.Fatal("generated password shown a second time")
	}
	if !strings.Contains(page.body, "<td>Alice</td>") || !strings.Contains(page.body, "required ✓") {
		t.Fatal("new extension not listed with its SRTP policy")
	}
	// Chosen password, then reset, SRTP off, delete.
	if r := e.postForm(c, "/extensions", url.Values{"csrf": {csrf}, "number": {"102"}, "pwmode": {"choose"}, "password": {"chosen-pass"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("add 102 = %d", r.StatusCode)
	}
	before, _ := e.db.Extension("102")
	if r := e.postForm(c, "/extensions/102/password", url.Values{"csrf": {csrf}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("reset = %d", r.StatusCode)
	}
	after, _ := e.db.Extension("102")
	if after.HA1SHA256 == before.HA1SHA256 {
		t.Fatal("password reset changed nothing")
	}
	if r := e.postForm(c, "/extensions/102/password", url.Values{"csrf": {csrf}, "password": {"short"}}); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "at least 8") {
		t.Fatalf("reset to a short password = %d", r.StatusCode)
	}
	if r := e.postForm(c, "/extensions/101/srtp", url.Values{"csrf": {csrf}, "require_srtp": {"off"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("srtp off = %d", r.StatusCode)
	}
	if x, _ := e.db.Extension("101"); x.RequireSRTP {
		t.Fatal("SRTP still required")
	}
	if r := e.postForm(c, "/extensions/101/delete", url.Values{"csrf": {csrf}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete = %d", r.StatusCode)
	}
	if _, err := e.db.Extension("101"); err == nil {
		t.Fatal("101 still stored after delete")
	}
	if len(e.live.removed) != 1 || e.live.removed[0] != "101" {
		t.Fatalf("live view told of removals %v, want [101]", e.live.removed)
	}
}

func TestTrunkForm(t *testing.T) {
	e := newEnv(t)
	c, csrf := e.ready()
	id, err := keys.NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	peer := id.Public().String()
	good := func() url.Values {
		return url.Values{"csrf": {csrf}, "name": {"branch"}, "address": {"192.0.2.7:5061"}, "peer_key": {peer}, "prefix": {"9"}, "strip": {"1"}}
	}
	for _, tc := range []struct{ field, value, msg string }{
		{"name", "Branch!", "starting with a letter"},
		{"address", "192.0.2.7", "host:port"},
		{"address", "192.0.2.7:99999", "host:port"},
		{"peer_key", "hbx1:nope", "identity"},
		{"prefix", "9a", "digits"},
		{"strip", "2", "prefix length"},
	} {
		f := good()
		f.Set(tc.field, tc.value)
		r := e.postForm(c, "/trunks", f)
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, `id="`+tc.field+`-err">`) || !strings.Contains(r.body, tc.msg) {
			t.Errorf("%s=%q: %d, want 400 with %q next to the field", tc.field, tc.value, r.StatusCode, tc.msg)
		}
	}
	if ts, _ := e.db.Trunks(); len(ts) != 0 {
		t.Fatalf("invalid forms stored trunks: %+v", ts)
	}
	if r := e.postForm(c, "/trunks", good()); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("add trunk = %d: %s", r.StatusCode, r.body)
	}
	ts, _ := e.db.Trunks()
	if len(ts) != 1 || ts[0].Kind != store.TrunkHushbox || ts[0].PeerKey != peer || ts[0].Strip != 1 {
		t.Fatalf("stored %+v", ts)
	}
	if page := e.get(c, "/trunks"); !strings.Contains(page.body, "<td>branch</td>") || !strings.Contains(page.body, "hbx1:test-identity") {
		t.Fatal("trunk page lacks the trunk or this box's identity")
	}
	if r := e.postForm(c, "/trunks/branch/delete", url.Values{"csrf": {csrf}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove = %d", r.StatusCode)
	}
	if ts, _ := e.db.Trunks(); len(ts) != 0 {
		t.Fatal("trunk still stored")
	}
	if e.live.changed != 2 {
		t.Fatalf("live view told of %d trunk changes, want 2", e.live.changed)
	}
}

func addCDR(t *testing.T, db *store.DB, from, to string) {
	t.Helper()
	start := time.Date(2030, 1, 1, 10, 0, 0, 0, time.UTC)
	c := store.CDR{CallID: from + "-" + to, From: from, To: to, Start: start, Answer: start.Add(2 * time.Second),
		End: start.Add(time.Minute), Disposition: store.DispAnswered, SIPCode: 200, Codec: "PCMU"}
	if err := db.AppendCDR(&c); err != nil {
		t.Fatal(err)
	}
}

func TestCDRs(t *testing.T) {
	e := newEnv(t)
	c, _ := e.ready()
	addCDR(t, e.db, "101", "102")
	addCDR(t, e.db, "103", "104")
	addCDR(t, e.db, "102", "=cmd|' /C calc'!A0")

	page := e.get(c, "/cdrs?number=102")
	if page.StatusCode != http.StatusOK || !strings.Contains(page.body, "<td>101</td>") || strings.Contains(page.body, "<td>103</td>") {
		t.Fatalf("filtered page = %d, want 101→102 but not 103→104", page.StatusCode)
	}
	if r := e.get(c, "/cdrs?number="+url.QueryEscape("a b")); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, `id="number-err"`) {
		t.Fatalf("bad filter = %d, want 400 with the error next to the field", r.StatusCode)
	}

	r := e.get(c, "/cdrs.csv?number=102")
	if r.StatusCode != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") || !strings.Contains(r.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("CSV = %d %q %q", r.StatusCode, r.Header.Get("Content-Type"), r.Header.Get("Content-Disposition"))
	}
	rows, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 { // header + two calls with 102
		t.Fatalf("CSV has %d rows, want 3:\n%s", len(rows), r.body)
	}
	if strings.Contains(r.body, "\n=cmd") || strings.Contains(r.body, ",=cmd") {
		t.Fatal("CSV holds a formula cell")
	}
}

// TestDashboardWeight measures what a browser loads for the dashboard:
// the HTML and every script and style sheet it references.
func TestDashboardWeight(t *testing.T) {
	e := newEnv(t)
	c, _ := e.ready()
	page := e.get(c, "/")
	total := len(page.body)
	refs := regexp.MustCompile(`(?:src|href)="(/static/[^"]+)"`).FindAllStringSubmatch(page.body, -1)
	if len(refs) < 2 {
		t.Fatalf("dashboard references %d static files, want the CSS and the JS", len(refs))
	}
	for _, m := range refs {
		r := e.get(c, m[1])
		if r.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d", m[1], r.StatusCode)
		}
		total += len(r.body)
	}
	t.Logf("dashboard weight: %d bytes (HTML %d + %d static files)", total, len(page.body), len(refs))
	if total >= 100_000 {
		t.Fatalf("dashboard weighs %d bytes, budget 100 kB", total)
	}
	for _, want := range []string{`id="graph"`, `id="s-regs">2<`, `id="s-calls">1<`, "k7m2", "PCMU", "v0.test", "1h 30m"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
}

func TestEventsStream(t *testing.T) {
	e := newEnv(t)
	c, _ := e.ready()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.ts.URL+"/events", nil)
	r, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	if r.StatusCode != http.StatusOK || r.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("/events = %d %q", r.StatusCode, r.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(r.Body)
	var event string
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "event: "); ok {
			event = v
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			continue
		}
		var ev liveEvent
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			t.Fatalf("event data %q: %v", data, err)
		}
		if event != "status" || ev.Registrations != 2 || ev.Calls != 1 || ev.Packets != 5990 || len(ev.List) != 1 || ev.List[0].SAS != "k7m2" {
			t.Fatalf("event %q %+v: want status with 2 registrations, 1 call with SAS k7m2, 5990 packets", event, ev)
		}
		return
	}
	t.Fatalf("stream ended without an event: %v", sc.Err())
}
