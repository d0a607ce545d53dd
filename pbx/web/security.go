package web

import (
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode"

	"hushbox/pbx/guard"
)

// The security page shows and drives the DoS guard (Config.Guard): the
// bans in force (with an unban button and a form to ban by hand), the
// allow-list (one prefix per line) and the rate limits. Every form is
// checked whole before anything is applied, and errors are shown next to
// their field. Without a guard the page says so and the forms are gone.

// securityRoutes registers the page's handlers (one line in routes.go).
func (s *Server) securityRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /security", s.securityPage)
	mux.HandleFunc("POST /security/bans", s.securityBan)
	mux.HandleFunc("POST /security/bans/{addr}/delete", s.securityUnban)
	mux.HandleFunc("POST /security/allow", s.securityAllow)
	mux.HandleFunc("POST /security/limits", s.securityLimits)
	mux.HandleFunc("GET /api/security", s.apiSecurity)
}

// maxReason bounds a manual ban's reason.
const maxReason = 100

// securityData is the page's data.
type securityData struct {
	Enabled  bool
	Pressure Pressure
	Refused  uint64
	Bans     []Ban
	Allow    []netip.Prefix
	Limits   GuardLimits
	Kernel   string // kernel firewall backend: netlink, nft, off
}

// KernelFirewaller is a Guard that says which kernel firewall enforces its
// bans and flood limits before hushbox reads a packet: "netlink", "nft",
// or "off" (userspace only).
type KernelFirewaller interface {
	KernelFirewall() string
}

// kernelFirewall is what g says about its kernel firewall ("off" when it
// cannot say).
func kernelFirewall(g Guard) string {
	if k, ok := g.(KernelFirewaller); ok {
		return k.KernelFirewall()
	}
	return "off"
}

func (s *Server) showSecurity(w http.ResponseWriter, r *http.Request, status int, errs formErrors, form map[string]string) {
	d := securityData{}
	g := s.cfg.Guard
	if g != nil {
		d = securityData{Enabled: true, Pressure: g.Pressure(), Refused: g.Refused(), Bans: g.Bans(), Allow: g.AllowList(), Limits: g.Limits(),
			Kernel: kernelFirewall(g)}
	}
	if form == nil {
		form = map[string]string{}
	}
	// Forms not being re-shown with errors show what is in force.
	if _, ok := form["allow"]; !ok {
		var b strings.Builder
		for _, p := range d.Allow {
			b.WriteString(p.String() + "\n")
		}
		form["allow"] = b.String()
	}
	if _, ok := form["rps"]; !ok {
		form["rps"] = strconv.Itoa(d.Limits.RequestsPerSecond)
		form["burst"] = strconv.Itoa(d.Limits.Burst)
		form["auth_failures"] = strconv.Itoa(d.Limits.AuthFailures)
		form["ban_time"] = fmtBanTime(d.Limits.BanTime)
	}
	s.render(w, r, status, "security", pageData{Title: "Security", Errors: errs, Form: form, Data: d})
}

func (s *Server) securityPage(w http.ResponseWriter, r *http.Request) {
	s.showSecurity(w, r, http.StatusOK, nil, nil)
}

// noGuard answers a form post when the guard is not running.
func (s *Server) noGuard(w http.ResponseWriter, r *http.Request) bool {
	if s.cfg.Guard != nil {
		return false
	}
	s.showSecurity(w, r, http.StatusServiceUnavailable, formErrors{"": "the DoS guard is not running"}, nil)
	return true
}

// fmtBanTime shows a duration the way parseBanTime reads it back.
func fmtBanTime(d time.Duration) string {
	switch {
	case d <= 0:
		return ""
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

// parseBanTime reads "90s", "10m", "2h", "1h30m" or "7d".
func parseBanTime(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 || days > 365 {
			return 0, fmt.Errorf("%q: a number of days like 7d", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q: a duration like 10m, 2h or 7d", s)
	}
	return d, nil
}

// validReason accepts short printable text (it is logged and shown).
func validReason(s string) bool {
	if len(s) > maxReason {
		return false
	}
	for _, c := range s {
		if !unicode.IsPrint(c) {
			return false
		}
	}
	return true
}

func (s *Server) securityBan(w http.ResponseWriter, r *http.Request) {
	if s.noGuard(w, r) {
		return
	}
	addrText := strings.TrimSpace(r.PostFormValue("ban_addr"))
	durText := strings.TrimSpace(r.PostFormValue("ban_duration"))
	reason := strings.TrimSpace(r.PostFormValue("ban_reason"))
	form := map[string]string{"ban_addr": addrText, "ban_duration": durText, "ban_reason": reason}
	errs := formErrors{}
	addr, err := netip.ParseAddr(addrText)
	if err != nil || addr.Zone() != "" || addr.IsUnspecified() {
		errs["ban_addr"] = "an IP address, e.g. 203.0.113.7"
	} else {
		addr = addr.Unmap()
		for _, p := range s.cfg.Guard.AllowList() {
			if p.Contains(addr) {
				errs["ban_addr"] = "this address is on the allow-list (" + p.String() + "); remove it there first"
				break
			}
		}
	}
	var d time.Duration
	if durText != "" {
		if d, err = parseBanTime(durText); err != nil || d < guard.MinBanTime || d > guard.MaxBanTime {
			errs["ban_duration"] = fmt.Sprintf("from %s to %s, e.g. 2h; empty for the usual ban", fmtBanTime(guard.MinBanTime), fmtBanTime(guard.MaxBanTime))
		}
	}
	if !validReason(reason) {
		errs["ban_reason"] = fmt.Sprintf("at most %d printable characters", maxReason)
	}
	if len(errs) > 0 {
		s.showSecurity(w, r, http.StatusBadRequest, errs, form)
		return
	}
	if reason == "" {
		reason = "banned on the web page"
	}
	if err := s.cfg.Guard.Ban(addr, d, reason); err != nil {
		s.log.Error("web: ban", "addr", addr, "err", err)
		s.showSecurity(w, r, http.StatusBadRequest, formErrors{"ban_addr": plainError(err)}, form)
		return
	}
	s.log.Info("web: source banned", "addr", addr, "for", d, "reason", reason, "src", clientIP(r))
	s.flashRedirect(w, r, "/security", flash{Msg: addr.String() + " banned."})
}

func (s *Server) securityUnban(w http.ResponseWriter, r *http.Request) {
	if s.noGuard(w, r) {
		return
	}
	addr, err := netip.ParseAddr(r.PathValue("addr"))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	if err := s.cfg.Guard.Unban(addr); err != nil {
		s.showSecurity(w, r, http.StatusBadRequest, formErrors{"": addr.String() + " was not unbanned: " + plainError(err)}, nil)
		return
	}
	s.log.Info("web: source unbanned", "addr", addr, "src", clientIP(r))
	s.flashRedirect(w, r, "/security", flash{Msg: addr.String() + " unbanned."})
}

func (s *Server) securityAllow(w http.ResponseWriter, r *http.Request) {
	if s.noGuard(w, r) {
		return
	}
	text := r.PostFormValue("allow")
	form := map[string]string{"allow": text}
	if len(text) > 16<<10 {
		s.showSecurity(w, r, http.StatusBadRequest, formErrors{"allow": "too long"}, form)
		return
	}
	ps, errs := guard.ParseAllowList(text)
	if len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Error()
		}
		s.showSecurity(w, r, http.StatusBadRequest, formErrors{"allow": strings.Join(msgs, "; ")}, form)
		return
	}
	if err := s.cfg.Guard.SetAllowList(ps); err != nil {
		s.log.Error("web: set allow-list", "err", err)
		s.showSecurity(w, r, http.StatusBadRequest, formErrors{"allow": "not saved: " + plainError(err)}, form)
		return
	}
	s.log.Info("web: allow-list changed", "prefixes", len(ps), "src", clientIP(r))
	s.flashRedirect(w, r, "/security", flash{Msg: fmt.Sprintf("Allow-list saved (%d entries).", len(ps))})
}

func (s *Server) securityLimits(w http.ResponseWriter, r *http.Request) {
	if s.noGuard(w, r) {
		return
	}
	form := map[string]string{}
	for _, k := range []string{"rps", "burst", "auth_failures", "ban_time"} {
		form[k] = strings.TrimSpace(r.PostFormValue(k))
	}
	errs := formErrors{}
	num := func(k string) int {
		n, err := strconv.Atoi(form[k])
		if err != nil {
			errs[k] = "a whole number"
		}
		return n
	}
	l := guard.Limits{RequestsPerSecond: num("rps"), Burst: num("burst"), AuthFailures: num("auth_failures")}
	d, err := parseBanTime(form["ban_time"])
	if err != nil {
		errs["ban_time"] = "a duration like 10m, 2h or 1d"
	}
	l.BanTime = d
	// Range checks from the guard itself, for fields that parsed.
	field := map[string]string{"requests_per_second": "rps", "burst": "burst", "auth_failures": "auth_failures", "ban_time": "ban_time"}
	for k, msg := range l.Problems() {
		if f := field[k]; errs[f] == "" {
			errs[f] = msg
		}
	}
	if len(errs) > 0 {
		s.showSecurity(w, r, http.StatusBadRequest, errs, form)
		return
	}
	gl := GuardLimits{RequestsPerSecond: l.RequestsPerSecond, Burst: l.Burst, AuthFailures: l.AuthFailures, BanTime: l.BanTime}
	if err := s.cfg.Guard.SetLimits(gl); err != nil {
		s.log.Error("web: set guard limits", "err", err)
		s.showSecurity(w, r, http.StatusBadRequest, formErrors{"": "limits not saved: " + plainError(err)}, form)
		return
	}
	s.log.Info("web: guard limits changed", "rps", l.RequestsPerSecond, "burst", l.Burst, "auth_failures", l.AuthFailures,
		"ban_time", l.BanTime, "src", clientIP(r))
	s.flashRedirect(w, r, "/security", flash{Msg: "Rate limits saved."})
}

// apiSecurity is the guard's state as JSON (GET /api/security).
func (s *Server) apiSecurity(w http.ResponseWriter, r *http.Request) {
	g := s.cfg.Guard
	if g == nil {
		writeJSON(w, http.StatusServiceUnavailable, apiError{Error: "the DoS guard is not running"})
		return
	}
	allow := g.AllowList()
	if allow == nil {
		allow = []netip.Prefix{}
	}
	bans := g.Bans()
	if bans == nil {
		bans = []Ban{}
	}
	writeJSON(w, http.StatusOK, struct {
		Pressure Pressure       `json:"pressure"`
		Refused  uint64         `json:"refused"`
		Bans     []Ban          `json:"bans"`
		Allow    []netip.Prefix `json:"allow"`
		Limits   GuardLimits    `json:"limits"`
		Kernel   string         `json:"kernel_firewall"`
	}{g.Pressure(), g.Refused(), bans, allow, g.Limits(), kernelFirewall(g)})
}
