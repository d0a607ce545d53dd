package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestAdminActionsLoggedWithoutSecrets: what the admin does shows in the
// log; no password, token or session ID does.
func TestAdminActionsLoggedWithoutSecrets(t *testing.T) {
	e := newEnv(t)
	c, csrf := e.ready()
	const sipPW = "chosen-sip-secret"
	if r := e.postForm(c, "/extensions", url.Values{"csrf": {csrf}, "number": {"101"}, "pwmode": {"choose"}, "password": {sipPW}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("add = %d", r.StatusCode)
	}
	if r := e.postForm(c, "/extensions/101/password", url.Values{"csrf": {csrf}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("reset = %d", r.StatusCode)
	}
	page := e.get(c, "/extensions")
	generated := regexp.MustCompile(`<code class="secret">([a-z0-9]+)</code>`).FindStringSubmatch(page.body)
	e.login(newClient(t, e.ts), "wrong password guess")
	e.postForm(c, "/logout", url.Values{"csrf": {csrf}})

	logs := e.logs.String()
	for _, want := range []string{"admin password set", "extension added", "extension password reset", "admin login failed", "logged out"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	secrets := []string{testPassword, testToken, sipPW, "wrong password guess", csrf}
	if generated != nil {
		secrets = append(secrets, generated[1])
	}
	for _, ck := range c.Jar.Cookies(mustURL(t, e.ts.URL)) {
		secrets = append(secrets, ck.Value)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(logs, s) {
			t.Errorf("log holds a secret (%d characters)", len(s))
		}
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
