package web

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html/template"
	"sync"
	"time"
)

// Session lifetimes: a session ends after SessionIdle without a request or
// SessionMax after login, whichever comes first.
const (
	SessionIdle = 30 * time.Minute
	SessionMax  = 12 * time.Hour
	// maxSessions bounds the server-side map; the oldest session goes
	// when a new login would pass it.
	maxSessions = 64
)

// session is one logged-in browser. Only the server holds it; the browser
// holds the random ID.
type session struct {
	csrf     string
	created  time.Time
	lastSeen time.Time
	// flash is a one-time message for the next page.
	flash flash
}

// flash is a message shown once, on the page after an action: possibly
// with a password (and its provisioning QR code) shown only then.
type flash struct {
	Msg, PW string
	// QR is a data: URL of a PNG made by this server (trusted).
	QR template.URL
}

// sessions is the server-side session table, keyed by the SHA-256 of the
// session ID so that map lookups leak nothing useful about a stored ID.
type sessions struct {
	mu  sync.Mutex
	m   map[[32]byte]*session
	now func() time.Time
}

func newSessions(now func() time.Time) *sessions {
	return &sessions{m: make(map[[32]byte]*session), now: now}
}

// randomToken returns 256 random bits, base64url without padding.
func randomToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("web: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// create starts a session and returns its ID and CSRF token.
func (s *sessions) create() (id string, sess session, err error) {
	id, err = randomToken()
	if err != nil {
		return "", session{}, err
	}
	csrf, err := randomToken()
	if err != nil {
		return "", session{}, err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked(now)
	if len(s.m) >= maxSessions {
		var oldest [32]byte
		var ot time.Time
		for k, v := range s.m {
			if ot.IsZero() || v.created.Before(ot) {
				oldest, ot = k, v.created
			}
		}
		delete(s.m, oldest)
	}
	ns := &session{csrf: csrf, created: now, lastSeen: now}
	s.m[sha256.Sum256([]byte(id))] = ns
	return id, *ns, nil
}

// get returns a copy of the live session with ID id and marks it used.
func (s *sessions) get(id string) (session, bool) {
	if id == "" {
		return session{}, false
	}
	k := sha256.Sum256([]byte(id))
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[k]
	if !ok {
		return session{}, false
	}
	if s.expired(v, now) {
		delete(s.m, k)
		return session{}, false
	}
	v.lastSeen = now
	return *v, true
}

// alive reports whether session id still lives, without counting this
// as use (a dashboard left open does not keep a session from idling out).
func (s *sessions) alive(id string) bool {
	k := sha256.Sum256([]byte(id))
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[k]
	return ok && !s.expired(v, now)
}

// takeFlash returns and clears the session's one-time message.
func (s *sessions) takeFlash(id string) flash {
	k := sha256.Sum256([]byte(id))
	s.mu.Lock()
	defer s.mu.Unlock()
	var f flash
	if v, ok := s.m[k]; ok {
		f, v.flash = v.flash, flash{}
	}
	return f
}

// setFlash stores a one-time message for the next page.
func (s *sessions) setFlash(id string, f flash) {
	k := sha256.Sum256([]byte(id))
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.m[k]; ok {
		v.flash = f
	}
}

// destroy ends a session (logout).
func (s *sessions) destroy(id string) {
	k := sha256.Sum256([]byte(id))
	s.mu.Lock()
	delete(s.m, k)
	s.mu.Unlock()
}

// destroyAll ends every session (admin password changed).
func (s *sessions) destroyAll() {
	s.mu.Lock()
	clear(s.m)
	s.mu.Unlock()
}

func (s *sessions) expired(v *session, now time.Time) bool {
	return now.Sub(v.lastSeen) > SessionIdle || now.Sub(v.created) > SessionMax
}

func (s *sessions) sweepLocked(now time.Time) {
	for k, v := range s.m {
		if s.expired(v, now) {
			delete(s.m, k)
		}
	}
}
