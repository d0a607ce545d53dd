package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestBeforeSetupEverythingLeadsToSetup(t *testing.T) {
	e := newEnv(t)
	c := newClient(t, e.ts)
	for _, tc := range []struct {
		path     string
		status   int
		location string
	}{
		{"/", http.StatusSeeOther, "/setup"},
		{"/login", http.StatusSeeOther, "/setup"},
		{"/extensions", http.StatusSeeOther, "/setup"},
		{"/api/extensions", http.StatusServiceUnavailable, ""},
		{"/metrics", http.StatusServiceUnavailable, ""},
		{"/setup", http.StatusOK, ""},
		{"/static/app.css", http.StatusOK, ""},
		{"/static/", http.StatusNotFound, ""},
	} {
		r := e.get(c, tc.path)
		if r.StatusCode != tc.status || r.Header.Get("Location") != tc.location {
			t.Errorf("GET %s = %d %q, want %d %q", tc.path, r.StatusCode, r.Header.Get("Location"), tc.status, tc.location)
		}
	}
}

func TestNoPageWithoutSession(t *testing.T) {
	e := newEnv(t)
	e.ready()
	anon := newClient(t, e.ts)
	for _, tc := range []struct {
		method, path string
		status       int
		location     string
	}{
		{"GET", "/", http.StatusSeeOther, "/login"},
		{"GET", "/extensions", http.StatusSeeOther, "/login"},
		{"GET", "/trunks", http.StatusSeeOther, "/login"},
		{"GET", "/cdrs", http.StatusSeeOther, "/login"},
		{"GET", "/cdrs.csv", http.StatusSeeOther, "/login"},
		{"GET", "/settings", http.StatusSeeOther, "/login"},
		{"GET", "/no-such-page", http.StatusSeeOther, "/login"},
		{"GET", "/events", http.StatusUnauthorized, ""},
		{"GET", "/api/extensions", http.StatusUnauthorized, ""},
		{"GET", "/api/calls", http.StatusUnauthorized, ""},
		{"POST", "/api/extensions", http.StatusUnauthorized, ""},
		{"DELETE", "/api/extensions/101", http.StatusUnauthorized, ""},
		{"POST", "/extensions", http.StatusForbidden, ""},
		{"POST", "/logout", http.StatusForbidden, ""},
		{"GET", "/metrics", http.StatusUnauthorized, ""},
		{"GET", "/login", http.StatusOK, ""},
		{"GET", "/setup", http.StatusSeeOther, "/login"}, // set up already
	} {
		r := e.do(anon, tc.method, tc.path, nil, nil)
		if r.StatusCode != tc.status || r.Header.Get("Location") != tc.location {
			t.Errorf("%s %s = %d %q, want %d %q", tc.method, tc.path, r.StatusCode, r.Header.Get("Location"), tc.status, tc.location)
		}
		if strings.Contains(r.body, "101") && tc.path != "/api/extensions" {
			t.Errorf("%s %s leaked data: %q", tc.method, tc.path, r.body)
		}
	}
}

func TestSetupRefusesWrongToken(t *testing.T) {
	e := newEnv(t)
	c := newClient(t, e.ts)
	for _, tc := range []struct{ name, token string }{
		{"wrong", "setup-token-0123456788"},
		{"empty", ""},
		{"prefix", "setup-token"},
		{"longer", testToken + "x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.setup(c, tc.token, testPassword)
			if r.StatusCode != http.StatusForbidden || !strings.Contains(r.body, "wrong setup token") {
				t.Fatalf("setup with %s token = %d, want 403 with the error shown", tc.name, r.StatusCode)
			}
			if need, err := NeedsSetup(e.db); err != nil || !need {
				t.Fatalf("admin password stored after a wrong token (need=%v, err=%v)", need, err)
			}
		})
	}
}

func TestSetupWithoutCSRFRefused(t *testing.T) {
	e := newEnv(t)
	c := newClient(t, e.ts)
	e.formToken(c, "/setup") // the browser has the pre-session cookie
	r := e.postForm(c, "/setup", url.Values{"token": {testToken}, "password": {testPassword}, "confirm": {testPassword}})
	if r.StatusCode != http.StatusForbidden {
		t.Fatalf("setup without CSRF token = %d, want 403", r.StatusCode)
	}
	if need, _ := NeedsSetup(e.db); !need {
		t.Fatal("admin password stored by a CSRF-less setup")
	}
}

func TestSetupPasswordRules(t *testing.T) {
	e := newEnv(t)
	c := newClient(t, e.ts)
	for _, tc := range []struct {
		name, pw, confirm, want string
	}{
		{"short", "elevenchars", "elevenchars", "at least 12"},
		{"mismatch", testPassword, testPassword + "!", "differ"},
		{"control char", "twelve chars\x01", "twelve chars\x01", "control"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.postForm(c, "/setup", url.Values{"csrf": {e.formToken(c, "/setup")}, "token": {testToken}, "password": {tc.pw}, "confirm": {tc.confirm}})
			if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, tc.want) || !strings.Contains(r.body, `class="field-error"`) {
				t.Fatalf("= %d, want 400 with %q next to the field", r.StatusCode, tc.want)
			}
			if need, _ := NeedsSetup(e.db); !need {
				t.Fatal("admin password stored")
			}
		})
	}
}

func TestSetupThenLogin(t *testing.T) {
	e := newEnv(t)
	c, csrf := e.ready()

	h, ok, err := e.db.Setting(SettingAdminHash)
	if err != nil || !ok || !strings.HasPrefix(h, "$argon2id$v=19$") || strings.Contains(h, testPassword) {
		t.Fatalf("stored admin hash %q (ok=%v, err=%v): want an argon2id PHC string", h, ok, err)
	}
	// The setup token is void now, even for a fresh browser.
	other := newClient(t, e.ts)
	if r := e.get(other, "/setup"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("GET /setup after setup = %d, want a redirect", r.StatusCode)
	}
	if e.srv.setupToken != "" {
		t.Fatal("setup token still held after setup")
	}

	if r := e.postForm(c, "/logout", url.Values{"csrf": {csrf}}); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
		t.Fatalf("logout = %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if r := e.get(c, "/"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("dashboard after logout = %d, want redirect to login", r.StatusCode)
	}
	if r := e.login(c, "not the password"); r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.body, "wrong password") {
		t.Fatalf("login with a wrong password = %d", r.StatusCode)
	}
	if r := e.login(c, testPassword); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/" {
		t.Fatalf("login = %d %q, want 303 to /", r.StatusCode, r.Header.Get("Location"))
	}
	if r := e.get(c, "/"); r.StatusCode != http.StatusOK || !strings.Contains(r.body, "<h1>Dashboard</h1>") {
		t.Fatalf("dashboard after login = %d", r.StatusCode)
	}
}

func TestLoginLockout(t *testing.T) {
	e := newEnv(t)
	e.ready()
	c := newClient(t, e.ts)
	for i := 0; i < LoginFailures; i++ {
		if r := e.login(c, "guess"); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("guess %d = %d, want 401", i+1, r.StatusCode)
		}
	}
	r := e.login(c, testPassword)
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" || !strings.Contains(r.body, "too many failed logins") {
		t.Fatalf("right password during lockout = %d (Retry-After %q), want 429", r.StatusCode, r.Header.Get("Retry-After"))
	}
	if r := e.get(c, "/"); r.StatusCode != http.StatusSeeOther {
		t.Fatal("a locked-out login got a session")
	}
	e.clock.Add(LoginWindow + time.Second)
	if r := e.login(c, testPassword); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("login after the lockout = %d, want 303", r.StatusCode)
	}
	// A second round of guesses (same source, new browser) locks out twice as long.
	c = newClient(t, e.ts)
	for i := 0; i < LoginFailures; i++ {
		e.login(c, "guess")
	}
	e.clock.Add(LoginWindow + time.Second)
	if r := e.login(c, testPassword); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("login one window into the second lockout = %d, want 429 (backoff)", r.StatusCode)
	}
}

func TestSessionCookieFlags(t *testing.T) {
	e := newEnv(t)
	e.ready()
	c := newClient(t, e.ts)
	r := e.login(c, testPassword)
	var found bool
	for _, ck := range r.Cookies() {
		if ck.Name != sessionCookie {
			continue
		}
		found = true
		if !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" || ck.Domain != "" {
			t.Errorf("session cookie %+v: want Secure, HttpOnly, SameSite=Strict, Path=/, no Domain", ck)
		}
		if len(ck.Value) != 43 { // 32 bytes, base64url
			t.Errorf("session ID %d characters, want 43 (256 bits)", len(ck.Value))
		}
	}
	if !found {
		t.Fatalf("login set no %s cookie", sessionCookie)
	}
}

func TestSessionIdleExpiry(t *testing.T) {
	e := newEnv(t)
	c, _ := e.ready()
	e.clock.Add(SessionIdle - time.Minute)
	if r := e.get(c, "/"); r.StatusCode != http.StatusOK {
		t.Fatalf("dashboard within idle time = %d", r.StatusCode)
	}
	e.clock.Add(SessionIdle + time.Second)
	if r := e.get(c, "/"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("dashboard after idle timeout = %d, want redirect", r.StatusCode)
	}
}

func TestCSRFRequired(t *testing.T) {
	e := newEnv(t)
	c, csrf := e.ready()
	form := url.Values{"number": {"101"}, "name": {"Alice"}, "pwmode": {"generate"}}
	withToken := func(tok string) url.Values {
		v := url.Values{}
		for k, x := range form {
			v[k] = x
		}
		if tok != "" {
			v.Set("csrf", tok)
		}
		return v
	}
	for _, tc := range []struct {
		name string
		do   func() resp
	}{
		{"form without token", func() resp { return e.postForm(c, "/extensions", withToken("")) }},
		{"form with wrong token", func() resp { return e.postForm(c, "/extensions", withToken(csrf[:42]+"x")) }},
		{"form with another session's token", func() resp {
			other := newClient(t, e.ts)
			e.login(other, testPassword)
			return e.postForm(c, "/extensions", withToken(e.sessionCSRF(other)))
		}},
		{"api without header", func() resp {
			return e.do(c, "POST", "/api/extensions", strings.NewReader(`{"number":"101"}`), map[string]string{"Content-Type": "application/json"})
		}},
		{"api delete without header", func() resp { return e.do(c, "DELETE", "/api/extensions/101", nil, nil) }},
		{"cross-site with token", func() resp {
			return e.do(c, "POST", "/extensions", strings.NewReader(withToken(csrf).Encode()),
				map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "cross-site"})
		}},
		{"logout without token", func() resp { return e.postForm(c, "/logout", url.Values{}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := tc.do(); r.StatusCode != http.StatusForbidden {
				t.Fatalf("= %d, want 403", r.StatusCode)
			}
			if exts, _ := e.db.Extensions(); len(exts) != 0 {
				t.Fatalf("extension stored by a refused request: %+v", exts)
			}
		})
	}
	if r := e.get(c, "/"); r.StatusCode != http.StatusOK {
		t.Fatal("session ended by a refused logout")
	}
	if r := e.postForm(c, "/extensions", withToken(csrf)); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("form with the right token = %d, want 303", r.StatusCode)
	}
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	c, _ := e.ready()
	anon := newClient(t, e.ts)
	want := map[string]string{
		"Content-Security-Policy":   "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
		"X-Content-Type-Options":    "nosniff",
		"Referrer-Policy":           "no-referrer",
		"Strict-Transport-Security": "max-age=31536000",
	}
	for _, tc := range []struct {
		name string
		c    interface{}
		path string
	}{
		{"login page", anon, "/login"},
		{"redirect", anon, "/"},
		{"api refusal", anon, "/api/calls"},
		{"static", anon, "/static/app.js"},
		{"dashboard", c, "/"},
		{"api", c, "/api/extensions"},
		{"not found", c, "/api/nothing"},
		{"metrics refusal", anon, "/metrics"},
	} {
		r := e.get(tc.c.(*http.Client), tc.path)
		for k, v := range want {
			if got := r.Header.Get(k); got != v {
				t.Errorf("%s (%s): %s = %q, want %q", tc.name, tc.path, k, got, v)
			}
		}
	}
	r := e.get(c, "/")
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("dashboard Cache-Control %q, want no-store", cc)
	}
	if strings.Contains(r.body, "<script>") || strings.Contains(r.body, " style=") || strings.Contains(r.body, "onclick") {
		t.Error("dashboard holds inline script or style, which the CSP blocks")
	}
}
