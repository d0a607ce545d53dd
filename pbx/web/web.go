// Package web is hushbox's local web page: first-boot setup with a one-time
// token, an admin login, pages for extensions, trunks and call records, a
// live dashboard fed by Server-Sent Events, a JSON API under /api/ for the
// pages and scripts, and Prometheus metrics at /metrics.
//
// Everything is server-rendered with html/template from embedded files; the
// little JavaScript there is (live dashboard, confirmations) is a static
// file, so the Content-Security-Policy forbids inline script. The page works
// offline on the LAN: no CDN, no build step.
//
// Security model: one admin, whose argon2id password hash lives in the
// store. Until it is set, every page leads to /setup, which needs the setup
// token the daemon prints at start. Sessions are random 256-bit IDs held
// server-side; every state-changing request carries the session's CSRF
// token. Management goes through control.Admin, the same API the CLI uses.
package web

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"hushbox/pbx/control"
	"hushbox/pbx/media"
	"hushbox/pbx/sysinfo"
)

// Store keys this package uses.
const (
	// SettingAdminHash holds the admin password as an argon2id PHC string.
	SettingAdminHash = "web.admin_hash"
	// SecretMetricsToken is the store secret whose hex form is the bearer
	// token /metrics wants.
	SecretMetricsToken = "web.metrics_token"
	metricsTokenSize   = 32
)

// DefaultAddr is where the web page listens unless told otherwise.
const DefaultAddr = ":8443"

// Store is what the web page keeps in the store: the admin hash (a
// setting) and the metrics token (a secret). *store.DB satisfies it.
type Store interface {
	Setting(key string) (string, bool, error)
	SetSetting(key, val string) error
	Secret(name string, size int) ([]byte, error)
}

// Config is what New needs.
type Config struct {
	// Admin is the management API (the daemon's live view, or control.Local).
	Admin control.Admin
	// Store keeps the admin password hash and the metrics token.
	Store Store
	// Version is shown on the dashboard and in /metrics.
	Version string
	// Log receives admin actions (never a secret); nil means slog.Default.
	Log *slog.Logger
	// SetupToken is the one-time token the daemon printed; /setup wants it
	// while no admin password is set. See NewSetupToken and NeedsSetup.
	SetupToken string
	// Certificate is served by ListenAndServe and Serve.
	Certificate tls.Certificate
	// Fingerprint is the certificate's SHA-256, shown on the settings page.
	Fingerprint string
	// Started is when the daemon started (uptime); zero means now.
	Started time.Time
	// SIP is how phones reach the box, for the provisioning QR code shown
	// with a new password; a zero Server shows no QR code.
	SIP SIPAccess
	// DataDir is the daemon's data folder, where the Backup page stages an
	// uploaded restore (backup.Stage) for the daemon to install at its next
	// start (backup.ApplyPending). Empty disables restore.
	DataDir string
	// Guard, System and Updater are optional (see hooks.go): nil hides
	// what needs them.
	Guard   Guard
	System  System
	Updater Updater
	// Role is "board" or "cloud", shown beside the version.
	Role string
	// SIPMessages, when set, counts SIP messages received (all transports,
	// refused ones included), for the traffic graph and /metrics.
	SIPMessages func() uint64
	// RelayHolds, when set, reads how long the media relay left datagrams
	// in its sockets (media.Relay.Holds), for /metrics.
	RelayHolds func() media.HoldStats
	// Phone is the board's phone (extension 100); nil: the box has none.
	Phone Phone
	// Settings are the editable settings (settings.go); nil shows the
	// settings page read-only.
	Settings *Settings
	// Proc is the proc file system the dashboard's CPU and memory figures
	// come from; "/proc" when empty.
	Proc string
}

// SIPAccess is the SIP address phones register to.
type SIPAccess struct {
	Server    string // host name or IP address as phones reach it
	Port      int    // 0: the transport's standard port
	Transport string // udp, tcp or tls; empty means udp
	Realm     string // digest realm, optional
}

// Server is the web page. Create it with New.
type Server struct {
	cfg      Config
	log      *slog.Logger
	now      func() time.Time
	sessions *sessions
	limit    *limiter
	pages    *pages
	handler  http.Handler

	// configured is set once an admin password exists.
	configured atomic.Bool
	// setupMu serialises setup; setupToken is cleared once it is used.
	setupMu    sync.Mutex
	setupToken string

	// hashing bounds concurrent argon2id runs (each takes ~19 MiB).
	hashing chan struct{}
	argon   argonParams
	// streams bounds concurrent /events streams.
	streams chan struct{}
	traffic traffic
	// eventEvery is the /events period.
	eventEvery time.Duration
	// sys samples the process's CPU and memory for the dashboard.
	sys *sysinfo.Sampler
}

// NewSetupToken returns a fresh one-time setup token for the daemon to
// print: 24 base64url characters (144 random bits).
func NewSetupToken() (string, error) {
	t, err := randomToken()
	if err != nil {
		return "", err
	}
	return t[:24], nil
}

// NeedsSetup reports whether no admin password is set yet, so the daemon
// knows to print the setup token.
func NeedsSetup(st Store) (bool, error) {
	h, ok, err := st.Setting(SettingAdminHash)
	if err != nil {
		return false, fmt.Errorf("web: read admin hash: %w", err)
	}
	return !ok || h == "", nil
}

// New builds the web page. It fails when no admin password is set and no
// setup token was given, since nobody could then ever log in.
func New(cfg Config) (*Server, error) {
	if cfg.Admin == nil || cfg.Store == nil {
		return nil, errors.New("web: Config needs Admin and Store")
	}
	s := &Server{
		cfg:        cfg,
		log:        cfg.Log,
		now:        time.Now,
		setupToken: cfg.SetupToken,
		hashing:    make(chan struct{}, 2),
		argon:      defaultArgon,
		streams:    make(chan struct{}, 16),
		eventEvery: 2 * time.Second,
		sys:        &sysinfo.Sampler{Root: cfg.Proc},
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.cfg.Started.IsZero() {
		s.cfg.Started = time.Now()
	}
	clock := func() time.Time { return s.now() }
	s.sessions = newSessions(clock)
	s.limit = newLimiter(clock)
	need, err := NeedsSetup(cfg.Store)
	if err != nil {
		return nil, err
	}
	if need && len(cfg.SetupToken) < 16 {
		return nil, errors.New("web: no admin password is set and no setup token (at least 16 characters) was given")
	}
	s.configured.Store(!need)
	if s.pages, err = loadPages(); err != nil {
		return nil, err
	}
	s.handler = s.routes()
	return s, nil
}

// Handler is the whole web page, for tests and for serving it elsewhere.
// It expects to be served over HTTPS (its cookies are Secure).
func (s *Server) Handler() http.Handler { return s.handler }

// ListenAndServe serves HTTPS on addr with Config.Certificate until ctx
// ends.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("web: listen %s: %w", addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves HTTPS on ln (a plain TCP listener: Serve adds TLS) until
// ctx ends, then shuts down gracefully. The daemon may listen first so a
// busy port fails its start early.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if len(s.cfg.Certificate.Certificate) == 0 {
		ln.Close()
		return errors.New("web: no TLS certificate")
	}
	srv := s.httpServer(s.handler)
	// Requests see ctx end, so open /events streams stop at shutdown
	// instead of holding a restart up.
	srv.BaseContext = func(net.Listener) context.Context { return ctx }
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{s.cfg.Certificate}, MinVersion: tls.VersionTLS12}
	// ServeTLS also offers HTTP/2, so a dashboard's event stream does not
	// take one of the browser's few HTTP/1.1 connections.
	return serveUntil(ctx, srv, func() error { return srv.ServeTLS(ln, "", "") }, s.log)
}

func (s *Server) httpServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		// Page writes are small; /events extends its own deadline.
		WriteTimeout:   60 * time.Second,
		IdleTimeout:    120 * time.Second,
		MaxHeaderBytes: 16 << 10,
		ErrorLog:       slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
}

// serveUntil runs serve until ctx ends, then shuts srv down gracefully.
func serveUntil(ctx context.Context, srv *http.Server, serve func() error, log *slog.Logger) error {
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			if err := srv.Shutdown(sctx); err != nil {
				log.Debug("web shutdown", "err", err)
				srv.Close()
			}
		case <-done:
		}
	}()
	err := serve()
	close(done)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("web: serve: %w", err)
}

// ListenAndServeRedirect serves plain HTTP on addr that only redirects to
// the HTTPS page on httpsPort, until ctx ends.
func (s *Server) ListenAndServeRedirect(ctx context.Context, addr string, httpsPort int) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("web: listen %s: %w", addr, err)
	}
	srv := s.httpServer(RedirectHandler(httpsPort))
	return serveUntil(ctx, srv, func() error { return srv.Serve(ln) }, s.log)
}

// RedirectHandler answers every plain-HTTP request with a permanent
// redirect to the same path over HTTPS on httpsPort. It serves nothing else.
func RedirectHandler(httpsPort int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		host := r.Host
		if h, _, err := net.SplitHostPort(r.Host); err == nil {
			host = h
		}
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
		if !validHost(host) {
			http.Error(w, "bad host", http.StatusBadRequest)
			return
		}
		target := "https://" + net.JoinHostPort(host, strconv.Itoa(httpsPort))
		if httpsPort == 443 {
			target = strings.TrimSuffix(target, ":443")
		}
		http.Redirect(w, r, target+r.URL.RequestURI(), http.StatusMovedPermanently)
	})
}

// validHost accepts DNS names and IP literals (IPv6 without brackets).
func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == ':' || c == '%') {
			return false
		}
	}
	return true
}
