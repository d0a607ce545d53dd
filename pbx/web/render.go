package web

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pageNames are the templates under templates/ other than layout.html,
// each rendered inside it: a new page only needs its file.
func pageNames() ([]string, error) {
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range files {
		n := strings.TrimSuffix(path.Base(f), ".html")
		if n != "layout" {
			out = append(out, n)
		}
	}
	return out, nil
}

// pages holds one parsed template set per page.
type pages struct {
	t map[string]*template.Template
}

var funcs = template.FuncMap{
	"ts": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Local().Format("2006-01-02 15:04:05")
	},
	"dur":     fmtDuration,
	"uptime":  fmtUptime,
	"age":     func(t time.Time) string { return fmtDuration(time.Since(t)) },
	"bytes":   fmtBytes,
	"pct":     func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) },
	"memused": memUsed,
	"load":    func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) },
}

// fmtDuration shows a duration as h:mm:ss (or m:ss under an hour).
func fmtDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

func loadPages() (*pages, error) {
	p := &pages{t: make(map[string]*template.Template)}
	names, err := pageNames()
	if err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	for _, n := range names {
		t, err := template.New(n).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+n+".html")
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", n, err)
		}
		p.t[n] = t
	}
	return p, nil
}

// formErrors maps a form field to the error shown next to it; "" is the
// error of the form as a whole.
type formErrors map[string]string

// pageData is what every page template gets.
type pageData struct {
	Title    string
	Nav      string
	LoggedIn bool
	CSRF     string
	Flash    flash
	Version  string
	Role     string
	Errors   formErrors
	// Form is what the user entered, to fill a form shown again with errors.
	Form map[string]string
	Data any
}

// render writes page name for a logged-in request.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, d pageData) {
	cur := sessionOf(r)
	d.LoggedIn, d.CSRF, d.Nav = true, cur.sess.csrf, name
	if r.Method == http.MethodGet {
		d.Flash = s.sessions.takeFlash(cur.id)
	}
	s.write(w, r, status, name, d)
}

// renderPre writes the login or setup page, before there is a session.
func (s *Server) renderPre(w http.ResponseWriter, r *http.Request, status int, name string, errs formErrors) {
	noStore(w)
	tok, err := s.preToken(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.write(w, r, status, name, pageData{CSRF: tok, Errors: errs})
}

func (s *Server) write(w http.ResponseWriter, r *http.Request, status int, name string, d pageData) {
	d.Version = s.cfg.Version
	d.Role = s.cfg.Role
	if d.Title == "" {
		d.Title = name
	}
	var buf bytes.Buffer
	if err := s.pages.t[name].ExecuteTemplate(&buf, "layout", d); err != nil {
		s.fail(w, r, fmt.Errorf("render %s: %w", name, err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// staticHandler serves the embedded CSS and JavaScript.
func staticHandler() http.Handler {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // embedded at build time: cannot fail
	}
	fsrv := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r) // no directory listings
			return
		}
		w.Header().Set("Cache-Control", "max-age=3600")
		fsrv.ServeHTTP(w, r)
	})
}

// apiError is the JSON body of a failed API request.
type apiError struct {
	Error string            `json:"error"`
	Field map[string]string `json:"fields,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// flashRedirect shows f on the next page.
func (s *Server) flashRedirect(w http.ResponseWriter, r *http.Request, to string, f flash) {
	s.sessions.setFlash(sessionOf(r).id, f)
	http.Redirect(w, r, to, http.StatusSeeOther)
}
