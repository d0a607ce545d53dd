package web

import (
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"hushbox/pbx/guard"
)

// guardAdapter shows a real guard to the web page (the daemon has the
// same adapter; web cannot import the daemon).
type guardAdapter struct{ g *guard.Guard }

func (a guardAdapter) Pressure() Pressure {
	l, s := a.g.Pressure()
	return Pressure{Level: int(l), Name: l.String(), Score: s}
}
func (a guardAdapter) Bans() []Ban {
	var out []Ban
	for _, b := range a.g.Bans() {
		out = append(out, Ban{Addr: b.Addr, Reason: b.Reason, Since: b.Since, Expires: b.Expires, Strikes: b.Strikes})
	}
	return out
}
func (a guardAdapter) Ban(ad netip.Addr, d time.Duration, r string) error { return a.g.Ban(ad, d, r) }
func (a guardAdapter) Unban(ad netip.Addr) error                          { return a.g.Unban(ad) }
func (a guardAdapter) AllowList() []netip.Prefix                          { return a.g.AllowList() }
func (a guardAdapter) SetAllowList(p []netip.Prefix) error                { return a.g.SetAllowList(p) }
func (a guardAdapter) Limits() GuardLimits {
	l := a.g.Limits()
	return GuardLimits{RequestsPerSecond: l.RequestsPerSecond, Burst: l.Burst, AuthFailures: l.AuthFailures, BanTime: l.BanTime}
}
func (a guardAdapter) SetLimits(l GuardLimits) error {
	return a.g.SetLimits(guard.Limits{RequestsPerSecond: l.RequestsPerSecond, Burst: l.Burst, AuthFailures: l.AuthFailures, BanTime: l.BanTime})
}
func (a guardAdapter) Refused() uint64 { return a.g.Refused() }

// securityEnv is a logged-in web page over a real guard on the test store.
func securityEnv(t *testing.T) (*env, *guard.Guard, *http.Client, string) {
	t.Helper()
	e := newEnv(t)
	g, err := guard.New(guard.Config{Store: e.db, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	e.srv.cfg.Guard = guardAdapter{g}
	c, csrf := e.ready()
	return e, g, c, csrf
}

var attacker = netip.MustParseAddr("203.0.113.66")

func TestSecurityBanAndUnban(t *testing.T) {
	e, g, c, csrf := securityEnv(t)
	r := e.postForm(c, "/security/bans", url.Values{"csrf": {csrf}, "ban_addr": {"203.0.113.66"}, "ban_duration": {"2h"}, "ban_reason": {"seen in the logs"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("ban: %d\n%s", r.StatusCode, r.body)
	}
	if !g.Banned(attacker) {
		t.Fatal("not banned")
	}
	b := g.Bans()[0]
	if b.Expires.Sub(b.Since) != 2*time.Hour || b.Reason != "seen in the logs" {
		t.Fatalf("ban %+v", b)
	}
	page := e.get(c, "/security").body
	for _, want := range []string{"203.0.113.66", "seen in the logs", "203.0.113.66 banned.", `action="/security/bans/203.0.113.66/delete"`} {
		if !strings.Contains(html.UnescapeString(page), want) {
			t.Errorf("security page lacks %q", want)
		}
	}
	// Stored for the next start.
	if v, ok, _ := e.db.Setting(guard.SettingBans); !ok || !strings.Contains(v, "203.0.113.66") {
		t.Fatalf("ban not stored: %q", v)
	}
	if r := e.postForm(c, "/security/bans/203.0.113.66/delete", url.Values{"csrf": {csrf}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("unban: %d\n%s", r.StatusCode, r.body)
	}
	if g.Banned(attacker) {
		t.Fatal("still banned")
	}
	if r := e.postForm(c, "/security/bans/203.0.113.66/delete", url.Values{"csrf": {csrf}}); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("unban of an address not banned: %d", r.StatusCode)
	}
}

func TestSecurityFormsNeedCSRF(t *testing.T) {
	e, g, c, _ := securityEnv(t)
	before := g.AllowList()
	for path, v := range map[string]url.Values{
		"/security/bans":   {"ban_addr": {"203.0.113.66"}},
		"/security/allow":  {"allow": {"10.0.0.0/8"}},
		"/security/limits": {"rps": {"1"}, "burst": {"1"}, "auth_failures": {"1"}, "ban_time": {"1m"}},
	} {
		if r := e.postForm(c, path, v); r.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s without CSRF: %d", path, r.StatusCode)
		}
		v.Set("csrf", "wrong")
		if r := e.postForm(c, path, v); r.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s with a wrong CSRF token: %d", path, r.StatusCode)
		}
	}
	if g.Banned(attacker) || len(g.AllowList()) != len(before) || g.Limits() != guard.DefaultLimits {
		t.Fatal("a refused POST changed the guard")
	}
}

func TestSecurityBanValidation(t *testing.T) {
	e, g, c, csrf := securityEnv(t)
	for _, tc := range []struct {
		addr, dur, reason, field, want string
	}{
		{"not-an-ip", "", "", "ban_addr", "an IP address"},
		{"0.0.0.0", "", "", "ban_addr", "an IP address"},
		{"192.168.1.5", "", "", "ban_addr", "allow-list"},
		{"203.0.113.66", "forever", "", "ban_duration", "from 10s to 7d"},
		{"203.0.113.66", "8d", "", "ban_duration", "from 10s to 7d"},
		{"203.0.113.66", "1s", "", "ban_duration", "from 10s to 7d"},
		{"203.0.113.66", "", strings.Repeat("x", 101), "ban_reason", "at most 100"},
		{"203.0.113.66", "", "bad\x00byte", "ban_reason", "printable"},
	} {
		r := e.postForm(c, "/security/bans", url.Values{"csrf": {csrf}, "ban_addr": {tc.addr}, "ban_duration": {tc.dur}, "ban_reason": {tc.reason}})
		if r.StatusCode != http.StatusBadRequest {
			t.Errorf("%+v: %d", tc, r.StatusCode)
			continue
		}
		if !strings.Contains(r.body, `id="`+tc.field+`-err">`) || !strings.Contains(html.UnescapeString(r.body), tc.want) {
			t.Errorf("%+v: error not shown next to the field", tc)
		}
	}
	if len(g.Bans()) != 0 {
		t.Fatalf("refused forms banned: %+v", g.Bans())
	}
}

// A list with one bad line is refused whole: the error names the line, the
// typed text is shown again, the list in force is unchanged.
func TestSecurityAllowList(t *testing.T) {
	e, g, c, csrf := securityEnv(t)
	before := g.AllowList()
	typed := "192.168.1.0/24\n10.0.0.1/8\n"
	r := e.postForm(c, "/security/allow", url.Values{"csrf": {csrf}, "allow": {typed}})
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, `id="allow-err"`) || !strings.Contains(r.body, "line 2") {
		t.Fatalf("bad list: %d\n%s", r.StatusCode, r.body)
	}
	if !strings.Contains(r.body, ">"+typed+"</textarea>") {
		t.Error("typed list not shown again")
	}
	if got := g.AllowList(); len(got) != len(before) {
		t.Fatalf("half-saved: %v", got)
	}
	if _, ok, _ := e.db.Setting(guard.SettingAllow); ok {
		t.Fatal("a refused list was stored")
	}
	r = e.postForm(c, "/security/allow", url.Values{"csrf": {csrf}, "allow": {"# office\n192.168.1.0/24\n2001:db8::7\n"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("good list: %d\n%s", r.StatusCode, r.body)
	}
	got := g.AllowList()
	if len(got) != 2 || got[0].String() != "192.168.1.0/24" || got[1].String() != "2001:db8::7/128" {
		t.Fatalf("allow-list %v", got)
	}
	if v, _, _ := e.db.Setting(guard.SettingAllow); !strings.Contains(v, "2001:db8::7/128") {
		t.Fatalf("stored %q", v)
	}
	if page := e.get(c, "/security").body; !strings.Contains(page, "192.168.1.0/24\n2001:db8::7/128\n</textarea>") {
		t.Error("page does not show the list in force")
	}
}

func TestSecurityLimits(t *testing.T) {
	e, g, c, csrf := securityEnv(t)
	r := e.postForm(c, "/security/limits", url.Values{"csrf": {csrf}, "rps": {"x"}, "burst": {"0"}, "auth_failures": {"3"}, "ban_time": {"soon"}})
	if r.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad limits: %d", r.StatusCode)
	}
	for _, f := range []string{"rps", "burst", "ban_time"} {
		if !strings.Contains(r.body, `id="`+f+`-err"`) {
			t.Errorf("no error next to %s", f)
		}
	}
	if strings.Contains(r.body, `id="auth_failures-err"`) {
		t.Error("error shown next to a good field")
	}
	if g.Limits() != guard.DefaultLimits {
		t.Fatal("half-saved limits")
	}
	r = e.postForm(c, "/security/limits", url.Values{"csrf": {csrf}, "rps": {"30"}, "burst": {"90"}, "auth_failures": {"3"}, "ban_time": {"1h"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("good limits: %d\n%s", r.StatusCode, r.body)
	}
	want := guard.Limits{RequestsPerSecond: 30, Burst: 90, AuthFailures: 3, BanTime: time.Hour}
	if g.Limits() != want {
		t.Fatalf("limits %+v", g.Limits())
	}
	page := e.get(c, "/security").body
	if !strings.Contains(page, `name="ban_time" value="1h"`) || !strings.Contains(page, `name="rps" inputmode="numeric" value="30"`) {
		t.Error("page does not show the limits in force")
	}
	var api struct {
		Limits GuardLimits `json:"limits"`
		Allow  []string    `json:"allow"`
	}
	if err := json.Unmarshal([]byte(e.get(c, "/api/security").body), &api); err != nil || api.Limits.Burst != 90 || len(api.Allow) == 0 {
		t.Fatalf("api: %+v %v", api, err)
	}
}

func TestSecurityWithoutGuard(t *testing.T) {
	e := newEnv(t)
	c, csrf := e.ready()
	if page := e.get(c, "/security"); page.StatusCode != http.StatusOK || !strings.Contains(page.body, "not running") {
		t.Fatalf("%d\n%s", page.StatusCode, page.body)
	}
	if r := e.postForm(c, "/security/bans", url.Values{"csrf": {csrf}, "ban_addr": {"203.0.113.66"}}); r.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("ban without a guard: %d", r.StatusCode)
	}
}

func TestParseBanTime(t *testing.T) {
	for in, want := range map[string]time.Duration{"90s": 90 * time.Second, "10m": 10 * time.Minute, "2h": 2 * time.Hour, "1h30m": 90 * time.Minute, "7d": 7 * 24 * time.Hour} {
		if got, err := parseBanTime(in); err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
		if got, _ := parseBanTime(fmtBanTime(want)); got != want {
			t.Errorf("%v does not round-trip through %q", want, fmtBanTime(want))
		}
	}
	for _, bad := range []string{"", "d", "-1d", "1y", "x"} {
		if _, err := parseBanTime(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// netlinkGuard is a guard whose limits are in the kernel (as on the appliance).
type netlinkGuard struct{ guardAdapter }

func (netlinkGuard) KernelFirewall() string { return "netlink" }

// The security page and /api/security say whether the kernel drops floods
// and bans before hushbox reads them, or hushbox does it all itself.
func TestSecurityShowsKernelFirewall(t *testing.T) {
	for _, tc := range []struct {
		name, want, says string
		wrap             func(guardAdapter) Guard
	}{
		{"userspace only", "off", "enforced by hushbox itself", func(a guardAdapter) Guard { return a }},
		{"netlink", "netlink", "dropped by the kernel", func(a guardAdapter) Guard { return netlinkGuard{a} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, g, c, _ := securityEnv(t)
			e.srv.cfg.Guard = tc.wrap(guardAdapter{g})
			page := html.UnescapeString(e.get(c, "/security").body)
			if !strings.Contains(page, `<strong id="kernel-firewall">`+tc.want+`</strong>`) || !strings.Contains(page, tc.says) {
				t.Errorf("security page does not say the kernel firewall is %q (%q)", tc.want, tc.says)
			}
			var got struct {
				Kernel string `json:"kernel_firewall"`
			}
			r := e.get(c, "/api/security")
			if err := json.Unmarshal([]byte(r.body), &got); err != nil || got.Kernel != tc.want {
				t.Errorf("/api/security kernel_firewall %q (%v), want %q", got.Kernel, err, tc.want)
			}
		})
	}
}
