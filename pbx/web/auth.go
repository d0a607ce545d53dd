package web

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Cookie names. The __Host- prefix makes browsers insist on Secure, Path=/
// and no Domain, so a neighbour on another port or subdomain cannot plant
// one.
const (
	sessionCookie = "__Host-hushbox"
	// preCookie carries the CSRF token of the login and setup forms,
	// which are shown before there is a session.
	preCookie = "__Host-hushbox-pre"
	// csrfField and csrfHeader carry the CSRF token in forms and fetch().
	csrfField  = "csrf"
	csrfHeader = "X-CSRF-Token"
	// maxForm bounds a form or JSON body.
	maxForm = 64 << 10
)

type ctxKey struct{}

// current is the session of an authenticated request.
type current struct {
	id   string
	sess session
}

func sessionOf(r *http.Request) current {
	c, _ := r.Context().Value(ctxKey{}).(current)
	return c
}

// clientIP is the request's source address; no proxy headers are trusted.
func clientIP(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

// tokensEqual compares two secrets in constant time (lengths included: both
// are hashed first). Empty never matches.
func tokensEqual(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

func isSafeMethod(m string) bool { return m == http.MethodGet || m == http.MethodHead }

// isMultipart reports whether a request's body is a multipart form.
func isMultipart(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "multipart/form-data"
}

// wantsJSON reports whether a path answers in JSON rather than pages.
func wantsJSON(path string) bool {
	return strings.HasPrefix(path, "/api/") || path == "/events"
}

// setupGate sends everything to /setup while no admin password is set.
func (s *Server) setupGate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The pairing endpoint (peers.go) works before setup: a headless
		// cloud peer shows its code with `hushbox peer code`.
		if s.configured.Load() || r.URL.Path == "/setup" || strings.HasPrefix(r.URL.Path, "/static/") || r.URL.Path == pairPath {
			next.ServeHTTP(w, r)
			return
		}
		noStore(w)
		switch {
		case r.URL.Path == "/metrics":
			http.Error(w, "hushbox is not set up yet", http.StatusServiceUnavailable)
		case wantsJSON(r.URL.Path):
			writeJSON(w, http.StatusServiceUnavailable, apiError{Error: "hushbox is not set up yet: open /setup"})
		default:
			http.Redirect(w, r, "/setup", http.StatusSeeOther)
		}
	})
}

// requireSession lets through only requests with a live session, and
// non-GET requests only with the session's CSRF token.
func (s *Server) requireSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		noStore(w)
		var id string
		if c, err := r.Cookie(sessionCookie); err == nil {
			id = c.Value
		}
		sess, ok := s.sessions.get(id)
		if !ok {
			switch {
			case wantsJSON(r.URL.Path):
				writeJSON(w, http.StatusUnauthorized, apiError{Error: "login required"})
			case isSafeMethod(r.Method):
				http.Redirect(w, r, "/login", http.StatusSeeOther)
			default:
				http.Error(w, "login required", http.StatusForbidden)
			}
			return
		}
		if !isSafeMethod(r.Method) {
			upload := (r.URL.Path == restorePath || r.URL.Path == updatePath) && isMultipart(r)
			if !upload {
				r.Body = http.MaxBytesReader(w, r.Body, maxForm)
			} else {
				// A backup upload: a larger limit and more time; its
				// CSRF token is a part of the multipart form.
				r.Body = http.MaxBytesReader(w, r.Body, maxUpload)
				_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(uploadTime))
			}
			tok := r.Header.Get(csrfHeader)
			if tok == "" {
				if upload {
					if err := r.ParseMultipartForm(uploadMemory); err != nil {
						var tooBig *http.MaxBytesError
						if errors.As(err, &tooBig) {
							http.Error(w, "the file is larger than 64 MiB", http.StatusRequestEntityTooLarge)
						} else {
							http.Error(w, "bad upload", http.StatusBadRequest)
						}
						return
					}
				}
				tok = r.PostFormValue(csrfField)
			}
			if !tokensEqual(tok, sess.csrf) {
				s.log.Warn("web: request without a valid CSRF token refused", "method", r.Method, "path", r.URL.Path, "src", clientIP(r))
				if wantsJSON(r.URL.Path) {
					writeJSON(w, http.StatusForbidden, apiError{Error: "missing or wrong CSRF token"})
				} else {
					http.Error(w, "missing or wrong CSRF token", http.StatusForbidden)
				}
				return
			}
		}
		ctx := context.WithValue(r.Context(), ctxKey{}, current{id: id, sess: sess})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func (s *Server) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode,
	})
}

// preToken returns the pre-session CSRF token, setting its cookie when the
// browser has none.
func (s *Server) preToken(w http.ResponseWriter, r *http.Request) (string, error) {
	if c, err := r.Cookie(preCookie); err == nil && len(c.Value) == 43 {
		return c.Value, nil
	}
	t, err := randomToken()
	if err != nil {
		return "", err
	}
	s.setCookie(w, preCookie, t, 3600)
	return t, nil
}

// checkPre verifies a login or setup form's CSRF token against its cookie.
func checkPre(r *http.Request) bool {
	c, err := r.Cookie(preCookie)
	if err != nil {
		return false
	}
	return tokensEqual(r.PostFormValue(csrfField), c.Value)
}

// startSession logs the browser in with a fresh session ID (never one the
// browser brought: no fixation) and sends it to the dashboard.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request) {
	id, _, err := s.sessions.create()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.setCookie(w, sessionCookie, id, int(SessionMax/time.Second))
	s.setCookie(w, preCookie, "", -1)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// withHashSlot runs f while holding one of the few argon2id slots.
func (s *Server) withHashSlot(ctx context.Context, f func()) error {
	select {
	case s.hashing <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.hashing }()
	f()
	return nil
}

// retryText says how long a locked-out source waits.
func retryText(d time.Duration) string {
	m := int((d + time.Minute - 1) / time.Minute)
	if m <= 1 {
		return "a minute"
	}
	return strconv.Itoa(m) + " minutes"
}

// setupForm is the /setup form as entered.
type setupForm struct {
	Token, Password, Confirm string
}

func (s *Server) setupPage(w http.ResponseWriter, r *http.Request) {
	if s.configured.Load() {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	s.renderPre(w, r, http.StatusOK, "setup", nil)
}

func (s *Server) setupSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if !checkPre(r) {
		http.Error(w, "missing or wrong CSRF token: reload the page", http.StatusForbidden)
		return
	}
	if s.configured.Load() {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	src := clientIP(r)
	if ok, wait := s.limit.allow(src); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
		s.renderPre(w, r, http.StatusTooManyRequests, "setup", formErrors{"token": "too many wrong tokens; try again in " + retryText(wait)})
		return
	}
	f := setupForm{Token: strings.TrimSpace(r.PostFormValue("token")), Password: r.PostFormValue("password"), Confirm: r.PostFormValue("confirm")}
	s.setupMu.Lock()
	defer s.setupMu.Unlock()
	if s.configured.Load() {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	if !tokensEqual(f.Token, s.setupToken) {
		s.limit.fail(src)
		s.log.Warn("web: wrong setup token", "src", src)
		s.renderPre(w, r, http.StatusForbidden, "setup", formErrors{"token": "wrong setup token"})
		return
	}
	errs := formErrors{}
	if err := checkAdminPassword(f.Password); err != nil {
		errs["password"] = err.Error()
	} else if f.Confirm != f.Password {
		errs["confirm"] = "the two passwords differ"
	}
	if len(errs) > 0 {
		s.renderPre(w, r, http.StatusBadRequest, "setup", errs)
		return
	}
	var phc string
	var herr error
	if err := s.withHashSlot(r.Context(), func() { phc, herr = hashPassword(f.Password, s.argon) }); err != nil {
		return
	}
	if herr != nil {
		s.fail(w, r, herr)
		return
	}
	if err := s.cfg.Store.SetSetting(SettingAdminHash, phc); err != nil {
		s.fail(w, r, fmt.Errorf("web: save admin hash: %w", err))
		return
	}
	s.setupToken = ""
	s.configured.Store(true)
	s.log.Info("web: admin password set; setup token void", "src", src)
	s.startSession(w, r)
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if _, ok := s.sessions.get(c.Value); ok {
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
	}
	s.renderPre(w, r, http.StatusOK, "login", nil)
}

func (s *Server) loginSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if !checkPre(r) {
		http.Error(w, "missing or wrong CSRF token: reload the page", http.StatusForbidden)
		return
	}
	src := clientIP(r)
	if ok, wait := s.limit.allow(src); !ok {
		s.log.Warn("web: login refused, locked out", "src", src, "wait", wait.Round(time.Second))
		w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
		s.renderPre(w, r, http.StatusTooManyRequests, "login", formErrors{"password": "too many failed logins; try again in " + retryText(wait)})
		return
	}
	phc, _, err := s.cfg.Store.Setting(SettingAdminHash)
	if err != nil {
		s.fail(w, r, fmt.Errorf("web: read admin hash: %w", err))
		return
	}
	var ok bool
	var verr error
	if err := s.withHashSlot(r.Context(), func() { ok, verr = verifyPassword(phc, r.PostFormValue("password")) }); err != nil {
		return
	}
	if verr != nil {
		s.fail(w, r, verr)
		return
	}
	if !ok {
		s.limit.fail(src)
		s.log.Warn("web: admin login failed", "src", src)
		s.renderPre(w, r, http.StatusUnauthorized, "login", formErrors{"password": "wrong password"})
		return
	}
	s.limit.succeed(src)
	s.log.Info("web: admin logged in", "src", src)
	s.startSession(w, r)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	cur := sessionOf(r)
	s.sessions.destroy(cur.id)
	s.setCookie(w, sessionCookie, "", -1)
	s.log.Info("web: admin logged out", "src", clientIP(r))
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// fail answers an internal error without showing its details.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	s.log.Error("web: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	if wantsJSON(r.URL.Path) {
		writeJSON(w, http.StatusInternalServerError, apiError{Error: "internal error"})
		return
	}
	http.Error(w, "internal error", http.StatusInternalServerError)
}
