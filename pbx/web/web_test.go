package web

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hushbox/pbx/control"
	"hushbox/pbx/store"
	"hushbox/pbx/tlscert"
)

func openStore(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "hushbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestNewNeedsSetupToken(t *testing.T) {
	db := openStore(t)
	cfg := Config{Admin: control.NewLocal(db), Store: db}
	if _, err := New(cfg); err == nil {
		t.Fatal("New without admin password and without setup token succeeded")
	}
	cfg.SetupToken = "short"
	if _, err := New(cfg); err == nil {
		t.Fatal("New accepted a guessable setup token")
	}
	if _, err := New(Config{Store: db, SetupToken: testToken}); err == nil {
		t.Fatal("New without Admin succeeded")
	}
	phc, _ := hashPassword(testPassword, argonParams{memory: 64, time: 1, threads: 1})
	if err := db.SetSetting(SettingAdminHash, phc); err != nil {
		t.Fatal(err)
	}
	cfg.SetupToken = ""
	if _, err := New(cfg); err != nil {
		t.Fatalf("New once set up, without a token: %v", err)
	}
	if need, err := NeedsSetup(db); err != nil || need {
		t.Fatalf("NeedsSetup = %v, %v after the hash is stored", need, err)
	}
}

func TestNewSetupToken(t *testing.T) {
	a, err := NewSetupToken()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewSetupToken()
	if len(a) < 16 || a == b {
		t.Fatalf("setup tokens %q, %q: want distinct, at least 16 characters", a, b)
	}
}

func TestRedirectHandler(t *testing.T) {
	for _, tc := range []struct {
		host, uri string
		port      int
		want      string
	}{
		{"box.lan", "/extensions?x=1", 8443, "https://box.lan:8443/extensions?x=1"},
		{"192.0.2.5:80", "/", 8443, "https://192.0.2.5:8443/"},
		{"192.0.2.5:8080", "/login", 443, "https://192.0.2.5/login"},
		{"[fe80::1]:80", "/", 8443, "https://[fe80::1]:8443/"},
		{"[fe80::1]", "/", 443, "https://[fe80::1]/"},
	} {
		r := httptest.NewRequest("GET", "http://x"+tc.uri, nil)
		r.Host = tc.host
		w := httptest.NewRecorder()
		RedirectHandler(tc.port).ServeHTTP(w, r)
		if w.Code != http.StatusMovedPermanently || w.Header().Get("Location") != tc.want {
			t.Errorf("%s%s -> %d %q, want %q", tc.host, tc.uri, w.Code, w.Header().Get("Location"), tc.want)
		}
	}
	r := httptest.NewRequest("GET", "http://x/", nil)
	r.Host = "evil.example/<script>"
	w := httptest.NewRecorder()
	RedirectHandler(8443).ServeHTTP(w, r)
	if w.Code != http.StatusBadRequest {
		t.Errorf("bad host -> %d, want 400", w.Code)
	}
}

// TestServeTLS runs the real listeners: HTTPS with a certificate from
// tlscert, and the plain-HTTP redirect.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	cert, fp, err := tlscert.Ensure(dir, "web", []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	db := openStore(t)
	s, err := New(Config{Admin: control.NewLocal(db), Store: db, SetupToken: testToken, Certificate: cert, Fingerprint: fp,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	plain, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	httpAddr := plain.Addr().String()
	plain.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { done <- s.Serve(ctx, ln) }()
	port := ln.Addr().(*net.TCPAddr).Port
	go func() { done <- s.ListenAndServeRedirect(ctx, httpAddr, port) }()

	client := &http.Client{Timeout: 10 * time.Second,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	r, err := client.Get("https://" + ln.Addr().String() + "/setup")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusOK || r.TLS == nil || tlscert.Fingerprint(r.TLS.PeerCertificates[0].Raw) != fp {
		t.Fatalf("GET /setup over TLS = %d, want 200 with our certificate", r.StatusCode)
	}
	if r.ProtoMajor != 2 {
		t.Errorf("served %s, want HTTP/2 (the event stream would hold an HTTP/1.1 connection)", r.Proto)
	}
	// The plain listener may take a moment to bind; retry connecting only.
	var rr *http.Response
	for i := 0; i < 50; i++ {
		if rr, err = client.Get("http://" + httpAddr + "/setup"); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	rr.Body.Close()
	if loc := rr.Header.Get("Location"); rr.StatusCode != http.StatusMovedPermanently || !strings.HasPrefix(loc, "https://127.0.0.1:") || !strings.HasSuffix(loc, "/setup") {
		t.Fatalf("plain HTTP = %d %q, want a redirect to HTTPS", rr.StatusCode, loc)
	}
	cancel()
	for i := 0; i < 2; i++ {
		if err := <-done; err != nil {
			t.Fatalf("serve returned %v after shutdown", err)
		}
	}
}
