package web

import (
	"net/http"
	"strings"
	"unicode"

	"hushbox/pbx/store"
)

// Limits on CDR listings: the page shows the newest cdrPageLimit, the CSV
// holds at most cdrCSVLimit.
const (
	cdrPageLimit = 200
	cdrCSVLimit  = 100000
	maxFilterLen = 64
)

// numberFilter reads ?number= and explains what is wrong with it, if anything.
func numberFilter(r *http.Request) (string, string) {
	n := strings.TrimSpace(r.URL.Query().Get("number"))
	if len(n) > maxFilterLen || strings.ContainsFunc(n, func(r rune) bool { return !unicode.IsPrint(r) || r == ' ' }) {
		return n, "a number or SIP user, at most 64 characters without spaces"
	}
	return n, ""
}

// cdrsData is the CDR page's data.
type cdrsData struct {
	CDRs   []store.CDR
	Number string
	More   bool
	Error  string
}

func (s *Server) cdrsPage(w http.ResponseWriter, r *http.Request) {
	num, bad := numberFilter(r)
	d := cdrsData{Number: num}
	form := map[string]string{"number": num}
	if bad != "" {
		s.render(w, r, http.StatusBadRequest, "cdrs", pageData{Title: "Call records", Errors: formErrors{"number": bad}, Form: form, Data: d})
		return
	}
	cdrs, err := s.cfg.Admin.CDRs(r.Context(), store.CDRQuery{Number: num, Limit: cdrPageLimit + 1})
	if err != nil {
		s.log.Error("web: list CDRs", "err", err)
		d.Error = "cannot read call records"
	}
	if len(cdrs) > cdrPageLimit {
		cdrs, d.More = cdrs[:cdrPageLimit], true
	}
	d.CDRs = cdrs
	s.render(w, r, http.StatusOK, "cdrs", pageData{Title: "Call records", Form: form, Data: d})
}

// cdrsCSV downloads the (filtered) records as CSV, newest first.
func (s *Server) cdrsCSV(w http.ResponseWriter, r *http.Request) {
	num, bad := numberFilter(r)
	if bad != "" {
		http.Error(w, "number: "+bad, http.StatusBadRequest)
		return
	}
	cdrs, err := s.cfg.Admin.CDRs(r.Context(), store.CDRQuery{Number: num, Limit: cdrCSVLimit})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="hushbox-cdrs.csv"`)
	if err := store.WriteCDRCSV(w, cdrs); err != nil {
		s.log.Error("web: write CDR CSV", "err", err)
		return
	}
	s.log.Info("web: CDRs exported", "count", len(cdrs), "number", num, "src", clientIP(r))
}
