package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"hushbox/pbx/call"
	"hushbox/pbx/control"
	"hushbox/pbx/store"
)

// The JSON API under /api/: the same session and CSRF rules as the pages
// (send the token from <meta name="csrf-token"> as X-CSRF-Token).

func (s *Server) apiExtensions(w http.ResponseWriter, r *http.Request) {
	exts, err := s.cfg.Admin.Extensions(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if exts == nil {
		exts = []control.ExtensionInfo{}
	}
	writeJSON(w, http.StatusOK, exts)
}

// apiExtensionRequest is the body of POST /api/extensions; an empty
// password means "generate one".
type apiExtensionRequest struct {
	Number      string `json:"number"`
	Name        string `json:"name"`
	Password    string `json:"password"`
	RequireSRTP bool   `json:"require_srtp"`
}

// apiPassword is the reply carrying a password set (shown once).
type apiPassword struct {
	Number   string `json:"number"`
	Password string `json:"password"`
}

func (s *Server) apiExtensionAdd(w http.ResponseWriter, r *http.Request) {
	var req apiExtensionRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{Error: "bad JSON body: " + err.Error()})
		return
	}
	f := extensionForm{Number: req.Number, Name: req.Name, Password: req.Password, RequireSRTP: req.RequireSRTP, PWMode: "generate"}
	if req.Password != "" {
		f.PWMode = "choose"
	}
	pw, errs, err := s.addExtension(r, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(errs) > 0 {
		status := http.StatusBadRequest
		if _, taken := errs["number"]; taken && numberError(f.Number) == "" {
			status = http.StatusConflict
		}
		writeJSON(w, status, apiError{Error: "invalid extension", Field: errs})
		return
	}
	writeJSON(w, http.StatusCreated, apiPassword{Number: f.Number, Password: pw})
}

func (s *Server) apiExtensionDelete(w http.ResponseWriter, r *http.Request) {
	num := pathNumber(r)
	if num == "" {
		writeJSON(w, http.StatusNotFound, apiError{Error: "no such extension"})
		return
	}
	if err := s.cfg.Admin.RemoveExtension(r.Context(), num); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			writeJSON(w, http.StatusNotFound, apiError{Error: "no such extension"})
			return
		}
		s.fail(w, r, err)
		return
	}
	s.log.Info("web: extension removed", "ext", num, "via", "api", "src", clientIP(r))
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) apiCalls(w http.ResponseWriter, r *http.Request) {
	calls, err := s.cfg.Admin.Calls(r.Context())
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, apiError{Error: plainError(err)})
		return
	}
	if calls == nil {
		calls = []call.Info{}
	}
	writeJSON(w, http.StatusOK, calls)
}

func (s *Server) apiRegistrations(w http.ResponseWriter, r *http.Request) {
	regs, err := s.cfg.Admin.Registrations(r.Context())
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, apiError{Error: plainError(err)})
		return
	}
	if regs == nil {
		regs = []control.Registration{}
	}
	writeJSON(w, http.StatusOK, regs)
}

// apiCDRs: ?number= filters, ?limit= bounds (default and maximum 1000).
func (s *Server) apiCDRs(w http.ResponseWriter, r *http.Request) {
	num, bad := numberFilter(r)
	if bad != "" {
		writeJSON(w, http.StatusBadRequest, apiError{Error: "invalid filter", Field: map[string]string{"number": bad}})
		return
	}
	q := store.CDRQuery{Number: num, Limit: 1000}
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeJSON(w, http.StatusBadRequest, apiError{Error: "invalid filter", Field: map[string]string{"limit": fmt.Sprintf("1 to %d", 1000)}})
			return
		}
		q.Limit = n
	}
	cdrs, err := s.cfg.Admin.CDRs(r.Context(), q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if cdrs == nil {
		cdrs = []store.CDR{}
	}
	writeJSON(w, http.StatusOK, cdrs)
}

func (s *Server) apiTrunks(w http.ResponseWriter, r *http.Request) {
	ts, err := s.cfg.Admin.Trunks(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if ts == nil {
		ts = []control.TrunkInfo{}
	}
	writeJSON(w, http.StatusOK, ts)
}
