package web

import (
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
)

func TestMetricsAccess(t *testing.T) {
	e := newEnv(t)
	c, _ := e.ready()
	token := metricsToken(t, e)
	anon := newClient(t, e.ts)
	for _, tc := range []struct {
		name, auth string
		status     int
	}{
		{"none", "", http.StatusUnauthorized},
		{"wrong", "Bearer " + strings.Repeat("0", 64), http.StatusUnauthorized},
		{"truncated", "Bearer " + token[:63], http.StatusUnauthorized},
		{"basic", "Basic " + token, http.StatusUnauthorized},
		{"right", "Bearer " + token, http.StatusOK},
	} {
		hdr := map[string]string{}
		if tc.auth != "" {
			hdr["Authorization"] = tc.auth
		}
		r := e.do(anon, "GET", "/metrics", nil, hdr)
		if r.StatusCode != tc.status {
			t.Errorf("%s token: %d, want %d", tc.name, r.StatusCode, tc.status)
		}
	}
	// A session alone is not enough either.
	if r := e.get(c, "/metrics"); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("metrics with a session but no token = %d, want 401", r.StatusCode)
	}
	r := e.do(anon, "GET", "/metrics", nil, map[string]string{"Authorization": "Bearer " + token})
	for _, want := range []string{
		"hushbox_registrations 2\n",
		"hushbox_calls_active 1\n",
		"hushbox_rtp_packets_relayed_total 5990\n",
		"hushbox_sip_messages_received_total 4321\n",
		`hushbox_build_info{version="v0.test"} 1`,
		"# TYPE hushbox_calls_active gauge\n",
		"hushbox_uptime_seconds 5400\n",
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("metrics lack %q:\n%s", want, r.body)
		}
	}
	// The settings page shows the token to the admin.
	if page := e.get(c, "/settings"); !strings.Contains(page.body, token) {
		t.Error("settings page does not show the metrics token")
	}
}

// metricsToken is the scraper's bearer token of e's box.
func metricsToken(t *testing.T, e *env) string {
	t.Helper()
	raw, err := e.db.Secret(SecretMetricsToken, metricsTokenSize)
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(raw)
}
