package imagetest

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// webClient is a browser-like HTTPS client for the appliance's web page:
// it keeps cookies and accepts exactly the certificate whose SHA-256 the
// console printed (no blind trust).
type webClient struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

var certFP = regexp.MustCompile(`(?m)^hushbox: web page on https://\S+ \(certificate SHA-256 ([0-9A-F:]+)\)`)

func newWebClient(t *testing.T, port int, fingerprint string) *webClient {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	want := strings.ReplaceAll(fingerprint, ":", "")
	tr := &http.Transport{TLSClientConfig: &tls.Config{
		InsecureSkipVerify: true, // self-signed: checked against the console's fingerprint below
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return fmt.Errorf("no certificate")
			}
			sum := sha256.Sum256(raw[0])
			if got := fmt.Sprintf("%X", sum[:]); got != want {
				return fmt.Errorf("certificate SHA-256 %s, console said %s", got, want)
			}
			return nil
		},
	}}
	return &webClient{t: t, base: fmt.Sprintf("https://127.0.0.1:%d", port),
		c: &http.Client{Jar: jar, Transport: tr, Timeout: 3 * time.Minute}}
}

var (
	csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	csrfMeta  = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)"`)
)

// get fetches path and returns status and body.
func (w *webClient) get(path string) (int, string) {
	w.t.Helper()
	res, err := w.c.Get(w.base + path)
	if err != nil {
		w.t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// form fetches the form page at path for its CSRF token and posts fields
// to it, following the redirect like a browser. It returns the final page.
func (w *webClient) form(path string, fields url.Values) (int, string) {
	w.t.Helper()
	code, body := w.get(path)
	m := csrfInput.FindStringSubmatch(body)
	if code != http.StatusOK || m == nil {
		w.t.Fatalf("GET %s: %d, no CSRF field:\n%s", path, code, tail(body, 1000))
	}
	fields.Set("csrf", html.UnescapeString(m[1]))
	res, err := w.c.PostForm(w.base+path, fields)
	if err != nil {
		w.t.Fatalf("POST %s: %v", path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if mm := csrfMeta.FindStringSubmatch(string(b)); mm != nil {
		w.csrf = html.UnescapeString(mm[1])
	}
	return res.StatusCode, string(b)
}

// setup sets the admin password with the one-time setup token.
func (w *webClient) setup(token, password string) {
	w.t.Helper()
	code, body := w.form("/setup", url.Values{"token": {token}, "username": {"admin"}, "password": {password}, "confirm": {password}})
	if code != http.StatusOK || w.csrf == "" {
		w.t.Fatalf("setup: %d, not logged in to the dashboard:\n%s", code, tail(body, 1500))
	}
}

// login logs in with the admin password.
func (w *webClient) login(password string) {
	w.t.Helper()
	code, body := w.form("/login", url.Values{"username": {"admin"}, "password": {password}})
	if code != http.StatusOK || w.csrf == "" {
		w.t.Fatalf("login: %d, not logged in to the dashboard:\n%s", code, tail(body, 1500))
	}
}

// addExtension adds one through the JSON API and returns its password.
func (w *webClient) addExtension(number, name string) string {
	w.t.Helper()
	body, _ := json.Marshal(map[string]string{"number": number, "name": name})
	req, _ := http.NewRequest(http.MethodPost, w.base+"/api/extensions", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", w.csrf)
	res, err := w.c.Do(req)
	if err != nil {
		w.t.Fatalf("POST /api/extensions: %v", err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var out struct{ Number, Password string }
	if res.StatusCode != http.StatusCreated || json.Unmarshal(b, &out) != nil || out.Password == "" {
		w.t.Fatalf("POST /api/extensions: %d %s", res.StatusCode, b)
	}
	return out.Password
}

// extensions lists the extension numbers through the JSON API.
func (w *webClient) extensions() []string {
	w.t.Helper()
	code, body := w.get("/api/extensions")
	if code != http.StatusOK {
		w.t.Fatalf("GET /api/extensions: %d %s", code, tail(body, 500))
	}
	var exts []map[string]any
	if err := json.Unmarshal([]byte(body), &exts); err != nil {
		w.t.Fatalf("GET /api/extensions: %v: %s", err, tail(body, 500))
	}
	var nums []string
	for _, e := range exts {
		for k, v := range e {
			if strings.EqualFold(k, "number") {
				nums = append(nums, fmt.Sprint(v))
			}
		}
	}
	return nums
}
