package daemon

import (
	"crypto/tls"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// With --web the daemon serves the page over HTTPS, prints its address and
// a one-time setup token, and sends a visitor without a session to setup.
func TestE2EWebPage(t *testing.T) {
	out, _ := runDaemon(t, Config{DataDir: filepath.Join(t.TempDir(), "d"), SIPAddr: "127.0.0.1:" + strconv.Itoa(floodPort(t)),
		RTPPorts: "43000-43019", Realm: "web", MediaIP: "127.0.0.1", WebAddr: "127.0.0.1:0"})
	m := regexp.MustCompile(`web page on (https://\S+/)`).FindStringSubmatch(out.String())
	if m == nil || !regexp.MustCompile(`setup token \S{16,}`).MatchString(out.String()) {
		t.Fatalf("no web address or setup token printed:\n%s", out)
	}
	hc := &http.Client{
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       5 * time.Second,
	}
	res, err := hc.Get(m[1])
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if loc := res.Header.Get("Location"); res.StatusCode/100 != 3 || !strings.Contains(loc, "/setup") {
		t.Fatalf("GET / answered %d Location %q, want a redirect to setup", res.StatusCode, loc)
	}
	if res.Header.Get("Content-Security-Policy") == "" {
		t.Fatal("no CSP header")
	}
}
