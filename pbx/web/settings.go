package web

import (
	"encoding/hex"
	"fmt"
	"net/http"
)

// settingsData is the settings page's data.
type settingsData struct {
	Version      string
	Fingerprint  string
	Identity     string
	MetricsToken string
}

// metricsToken is the bearer token /metrics wants (hex), made on first use.
func (s *Server) metricsToken() (string, error) {
	b, err := s.cfg.Store.Secret(SecretMetricsToken, metricsTokenSize)
	if err != nil {
		return "", fmt.Errorf("web: metrics token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// settingsPage shows what the box is (version, certificate, identity) and
// the metrics token; editable settings come later.
func (s *Server) settingsPage(w http.ResponseWriter, r *http.Request) {
	d := settingsData{Version: s.cfg.Version, Fingerprint: s.cfg.Fingerprint}
	if id, err := s.cfg.Admin.Identity(r.Context()); err == nil {
		d.Identity = id
	}
	tok, err := s.metricsToken()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.MetricsToken = tok
	s.render(w, r, http.StatusOK, "settings", pageData{Title: "Settings", Data: d})
}
