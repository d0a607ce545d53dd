package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// testSettings is a small settings schema like the daemon's: a realm and
// RTP range that need a restart, one set by a flag, a network mode with a
// rule across fields.
func testSettings(saved *[]map[string]string, mu *sync.Mutex) *Settings {
	return &Settings{
		Fields: []SettingField{
			{Key: "sip.realm", Label: "Realm", Group: "SIP", Running: "hushbox", Restart: true, Check: func(s string) error {
				if s == "" || strings.ContainsAny(s, ` "`) {
					return errors.New("realm must be printable without spaces or quotes")
				}
				return nil
			}},
			{Key: "rtp.ports", Label: "RTP port range", Group: "SIP", Running: "20000-20999", Restart: true, Check: func(s string) error {
				if !regexp.MustCompile(`^\d+-\d+$`).MatchString(s) {
					return errors.New("want LO-HI")
				}
				return nil
			}},
			{Key: "sip.addr", Label: "SIP address", Group: "SIP", Running: "127.0.0.1:5060", Flag: "--sip", Restart: true},
			{Key: "net.mode", Label: "Address from", Group: "Network", Default: "dhcp", Choices: []string{"dhcp", "static"}},
			{Key: "net.address", Label: "Static address", Group: "Network"},
		},
		CheckAll: func(v map[string]string) map[string]string {
			if v["net.mode"] == "static" && v["net.address"] == "" {
				return map[string]string{"net.address": "a static address needs ADDRESS/PREFIX"}
			}
			return nil
		},
		Saved: func(v map[string]string) error {
			mu.Lock()
			*saved = append(*saved, v)
			mu.Unlock()
			return nil
		},
	}
}

func goodSettings(csrf string) url.Values {
	return url.Values{"csrf": {csrf}, "sip.realm": {"office.example"}, "rtp.ports": {"30000-30099"},
		"net.mode": {"dhcp"}, "net.address": {""}}
}

func TestSettingsPageShowsFields(t *testing.T) {
	e := newEnv(t)
	var saved []map[string]string
	e.srv.cfg.Settings = testSettings(&saved, &sync.Mutex{})
	c, _ := e.ready()
	r := e.get(c, "/settings")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("settings page = %d", r.StatusCode)
	}
	for _, want := range []string{
		`id="set-sip-realm" name="sip.realm" value="hushbox"`, // nothing stored: the running value
		`id="set-sip-addr" name="sip.addr" value="127.0.0.1:5060" disabled`,
		"set by command line (--sip)",
		`<option selected>dhcp</option>`,
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("settings page lacks %q", want)
		}
	}
}

func TestSettingsSaveAllOrNothing(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	var saved []map[string]string
	e.srv.cfg.Settings = testSettings(&saved, &mu)
	c, csrf := e.ready()
	for _, tc := range []struct {
		name       string
		change     map[string]string
		field, msg string
	}{
		{"bad realm", map[string]string{"sip.realm": `a "b"`}, "sip.realm", "printable"},
		{"bad range", map[string]string{"rtp.ports": "lots"}, "rtp.ports", "want LO-HI"},
		{"unknown choice", map[string]string{"net.mode": "ppp"}, "net.mode", "choose one of dhcp, static"},
		{"control character", map[string]string{"net.address": "a\x01b"}, "net.address", "no control characters"},
		{"too long", map[string]string{"net.address": strings.Repeat("1", maxSettingLen+1)}, "net.address", "at most"},
		{"rule across fields", map[string]string{"net.mode": "static"}, "net.address", "needs ADDRESS/PREFIX"},
		{"field missing", map[string]string{"rtp.ports": "\x00drop"}, "rtp.ports", "missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := goodSettings(csrf) // the realm is good, so a half save would store it
			for k, v := range tc.change {
				if v == "\x00drop" {
					form.Del(k)
				} else {
					form.Set(k, v)
				}
			}
			r := e.postForm(c, "/settings", form)
			if r.StatusCode != http.StatusBadRequest {
				t.Fatalf("= %d, want 400", r.StatusCode)
			}
			id := "set-" + strings.ReplaceAll(tc.field, ".", "-")
			m := regexp.MustCompile(`<span class="field-error" id="` + id + `-err">([^<]*)</span>`).FindStringSubmatch(r.body)
			if m == nil || !strings.Contains(m[1], tc.msg) {
				t.Fatalf("no %q error next to %s", tc.msg, tc.field)
			}
			if !strings.Contains(r.body, "Nothing was saved") {
				t.Error("page does not say nothing was saved")
			}
			for _, k := range []string{"sip.realm", "rtp.ports", "net.mode"} {
				if v, ok, _ := e.db.Setting(k); ok {
					t.Errorf("%s stored (%q) although the form had an error", k, v)
				}
			}
		})
	}
	mu.Lock()
	if len(saved) != 0 {
		t.Errorf("Saved hook ran %d times for refused forms", len(saved))
	}
	mu.Unlock()
}

func TestSettingsSaveStoresAndAsksForRestart(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	var saved []map[string]string
	e.srv.cfg.Settings = testSettings(&saved, &mu)
	e.srv.cfg.System = &fakeSystem{}
	c, csrf := e.ready()
	form := goodSettings(csrf)
	form.Set("sip.addr", "0.0.0.0:1") // set by a flag: must be ignored
	r := e.postForm(c, "/settings", form)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/settings" {
		t.Fatalf("save = %d %s, want 303 to /settings; body:\n%s", r.StatusCode, r.Header.Get("Location"), r.body)
	}
	for k, want := range map[string]string{"sip.realm": "office.example", "rtp.ports": "30000-30099", "net.mode": "dhcp"} {
		if v, _, _ := e.db.Setting(k); v != want {
			t.Errorf("%s stored as %q, want %q", k, v, want)
		}
	}
	if _, ok, _ := e.db.Setting("sip.addr"); ok {
		t.Error("a setting fixed by a command-line flag was stored from the form")
	}
	mu.Lock()
	if len(saved) != 1 || saved[0]["rtp.ports"] != "30000-30099" {
		t.Errorf("Saved hook calls %v, want one with the new values", saved)
	}
	mu.Unlock()
	page := e.get(c, "/settings")
	for _, want := range []string{"Restart hushbox (System page) to apply: Realm, RTP port range.",
		`value="30000-30099"`, "running: 20000-20999 until restart", `action="/system/restart"`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("settings page after save lacks %q", want)
		}
	}
	// The same values again change nothing.
	if r := e.postForm(c, "/settings", goodSettings(csrf)); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("second save = %d", r.StatusCode)
	}
	if page := e.get(c, "/settings"); !strings.Contains(page.body, "Nothing changed.") {
		t.Error("saving the same values does not say nothing changed")
	}
	if !strings.Contains(e.logs.String(), "web: settings saved") {
		t.Error("settings change not logged")
	}
}

func TestSettingsWithoutSchemaIsReadOnly(t *testing.T) {
	e := newEnv(t)
	c, csrf := e.ready()
	if r := e.postForm(c, "/settings", url.Values{"csrf": {csrf}, "sip.realm": {"x"}}); r.StatusCode != http.StatusNotFound {
		t.Errorf("save without a schema = %d, want 404", r.StatusCode)
	}
	if _, ok, _ := e.db.Setting("sip.realm"); ok {
		t.Error("setting stored without a schema")
	}
}

func TestSettingsAndSystemNeedCSRF(t *testing.T) {
	e := newEnv(t)
	var saved []map[string]string
	e.srv.cfg.Settings = testSettings(&saved, &sync.Mutex{})
	sys := &fakeSystem{canReboot: true}
	e.srv.cfg.System = sys
	c, csrf := e.ready()
	for _, tc := range []struct {
		path string
		form url.Values
	}{
		{"/settings", goodSettings("")},
		{"/system/restart", url.Values{"confirm": {"yes"}}},
		{"/system/reboot", url.Values{"confirm": {"yes"}}},
		{"/extensions/101/name", url.Values{"name": {"X"}}},
	} {
		form := tc.form
		form.Del("csrf")
		if r := e.postForm(c, tc.path, form); r.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s without CSRF = %d, want 403", tc.path, r.StatusCode)
		}
		form.Set("csrf", csrf[:40]+"xx")
		if r := e.postForm(c, tc.path, form); r.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s with a wrong CSRF token = %d, want 403", tc.path, r.StatusCode)
		}
	}
	if _, ok, _ := e.db.Setting("sip.realm"); ok {
		t.Error("settings stored by a refused request")
	}
	if sys.restarts() != 0 || sys.reboots() != 0 {
		t.Errorf("refused requests restarted %d / rebooted %d times", sys.restarts(), sys.reboots())
	}
}

func TestAPISettings(t *testing.T) {
	e := newEnv(t)
	var saved []map[string]string
	e.srv.cfg.Settings = testSettings(&saved, &sync.Mutex{})
	c, csrf := e.ready()
	if r := e.postForm(c, "/settings", goodSettings(csrf)); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("save = %d", r.StatusCode)
	}
	r := e.get(c, "/api/settings")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/settings = %d", r.StatusCode)
	}
	var got []apiSetting
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Fatal(err)
	}
	byKey := map[string]apiSetting{}
	for _, s := range got {
		byKey[s.Key] = s
	}
	if s := byKey["rtp.ports"]; s.Value != "30000-30099" || s.Running != "20000-20999" || !s.Restart {
		t.Errorf("rtp.ports = %+v", s)
	}
	if s := byKey["sip.addr"]; s.Flag != "--sip" || s.Value != "" {
		t.Errorf("sip.addr = %+v", s)
	}
	if r := e.get(newClient(t, e.ts), "/api/settings"); r.StatusCode == http.StatusOK {
		t.Error("settings API answered without a session")
	}
}
