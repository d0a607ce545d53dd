package web

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"
)

// SettingField is one editable setting on the settings page. The daemon
// describes its settings with these (it knows their rules and what it
// runs with); the page shows, validates and stores them generically.
type SettingField struct {
	// Key is the store settings key, e.g. "rtp.ports"; also the form
	// field's name.
	Key   string
	Label string
	// Group is the card the field is shown in ("SIP and media", ...).
	Group string
	// Help is a short hint under the field.
	Help string
	// Default is shown when nothing is stored and nothing runs.
	Default string
	// Running is the value in effect now ("" when not applicable).
	Running string
	// Flag is the command-line flag that set this value ("--sip"): the
	// stored value is then ignored and the field is read-only.
	Flag string
	// Restart says the change takes effect only when hushbox restarts.
	Restart bool
	// Choices make the field a select with these values.
	Choices []string
	// Check validates a trimmed value; nil accepts anything printable.
	Check func(string) error
}

// ID is the field's HTML id.
func (f SettingField) ID() string { return "set-" + strings.ReplaceAll(f.Key, ".", "-") }

// Settings are the editable settings (Config.Settings).
type Settings struct {
	Fields []SettingField
	// CheckAll sees every submitted value after each passed its own
	// Check, for rules across fields (a static address needs a gateway);
	// it returns errors by key.
	CheckAll func(map[string]string) map[string]string
	// Saved runs after the values are stored (the daemon writes the
	// appliance's network.conf and time.conf); an error is shown, the
	// values stay saved.
	Saved func(map[string]string) error
}

// maxSettingLen bounds any one setting value.
const maxSettingLen = 512

// settingsData is the settings page's data.
type settingsData struct {
	Version      string
	Fingerprint  string
	Identity     string
	MetricsToken string
	Groups       []settingGroup
	// Pending lists the labels of saved changes that wait for a restart.
	Pending    []string
	CanRestart bool
}

// settingGroup is one card of fields.
type settingGroup struct {
	Name   string
	Fields []settingView
}

// settingView is a field as the template shows it.
type settingView struct {
	SettingField
	Value string // in the input
	Error string
	// Stored is the saved value when it differs from Running (restart pending).
	Stored  string
	Pending bool
}

// metricsToken is the bearer token /metrics wants (hex), made on first use.
func (s *Server) metricsToken() (string, error) {
	b, err := s.cfg.Store.Secret(SecretMetricsToken, metricsTokenSize)
	if err != nil {
		return "", fmt.Errorf("web: metrics token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// settingsPage shows what the box is (version, certificate, identity), the
// metrics token and the editable settings.
func (s *Server) settingsPage(w http.ResponseWriter, r *http.Request) {
	s.showSettings(w, r, http.StatusOK, nil, nil)
}

// stored returns the stored value of every field (ok false when unset).
func (s *Server) storedSettings() (map[string]string, error) {
	out := map[string]string{}
	if s.cfg.Settings == nil {
		return out, nil
	}
	for _, f := range s.cfg.Settings.Fields {
		v, ok, err := s.cfg.Store.Setting(f.Key)
		if err != nil {
			return nil, fmt.Errorf("web: read setting %s: %w", f.Key, err)
		}
		if ok {
			out[f.Key] = v
		}
	}
	return out, nil
}

func (s *Server) showSettings(w http.ResponseWriter, r *http.Request, status int, errs formErrors, form map[string]string) {
	d := settingsData{Version: s.cfg.Version, Fingerprint: s.cfg.Fingerprint, CanRestart: s.cfg.System != nil}
	if id, err := s.cfg.Admin.Identity(r.Context()); err == nil {
		d.Identity = id
	}
	tok, err := s.metricsToken()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.MetricsToken = tok
	stored, err := s.storedSettings()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if s.cfg.Settings != nil {
		for _, f := range s.cfg.Settings.Fields {
			v := settingView{SettingField: f}
			sv, ok := stored[f.Key]
			switch {
			case f.Flag != "":
				v.Value = f.Running
			case ok:
				v.Value = sv
			case f.Running != "":
				v.Value = f.Running
			default:
				v.Value = f.Default
			}
			if fv, entered := form[f.Key]; entered {
				v.Value = fv
			}
			v.Error = errs[f.Key]
			if f.Restart && f.Flag == "" && ok && sv != f.Running {
				v.Pending, v.Stored = true, sv
				d.Pending = append(d.Pending, f.Label)
			}
			i := slices.IndexFunc(d.Groups, func(g settingGroup) bool { return g.Name == f.Group })
			if i < 0 {
				d.Groups = append(d.Groups, settingGroup{Name: f.Group})
				i = len(d.Groups) - 1
			}
			d.Groups[i].Fields = append(d.Groups[i].Fields, v)
		}
	}
	s.render(w, r, status, "settings", pageData{Title: "Settings", Errors: errs, Data: d})
}

// settingError explains what is wrong with value for f, or "".
func settingError(f SettingField, value string) string {
	switch {
	case !utf8.ValidString(value):
		return "not valid text"
	case len(value) > maxSettingLen:
		return fmt.Sprintf("at most %d bytes", maxSettingLen)
	case strings.ContainsFunc(value, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return "no control characters"
	case len(f.Choices) > 0 && !slices.Contains(f.Choices, value):
		return "choose one of " + strings.Join(f.Choices, ", ")
	}
	if f.Check != nil {
		if err := f.Check(value); err != nil {
			return plainError(err)
		}
	}
	return ""
}

// settingsSave validates every submitted field and stores them all, or
// nothing when any is bad. Fields set on the command line are not taken.
func (s *Server) settingsSave(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Settings == nil {
		http.NotFound(w, r)
		return
	}
	values := map[string]string{}
	errs := formErrors{}
	for _, f := range s.cfg.Settings.Fields {
		if f.Flag != "" {
			continue
		}
		if !r.PostForm.Has(f.Key) {
			errs[f.Key] = "missing"
			continue
		}
		v := strings.TrimSpace(r.PostForm.Get(f.Key))
		values[f.Key] = v
		if e := settingError(f, v); e != "" {
			errs[f.Key] = e
		}
	}
	if len(errs) == 0 && s.cfg.Settings.CheckAll != nil {
		for k, e := range s.cfg.Settings.CheckAll(values) {
			errs[k] = e
		}
	}
	if len(errs) > 0 {
		errs[""] = "Nothing was saved: correct the fields marked below."
		s.showSettings(w, r, http.StatusBadRequest, errs, values)
		return
	}
	old, err := s.storedSettings()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var changed, restart []string
	for _, f := range s.cfg.Settings.Fields {
		v, ok := values[f.Key]
		if !ok {
			continue
		}
		if prev, had := old[f.Key]; had && prev == v {
			continue
		}
		if err := s.cfg.Store.SetSetting(f.Key, v); err != nil {
			s.rollbackSettings(old, changed)
			s.log.Error("web: save settings", "key", f.Key, "err", err)
			s.showSettings(w, r, http.StatusInternalServerError, formErrors{"": "Nothing was saved: " + plainError(err)}, values)
			return
		}
		changed = append(changed, f.Key)
		if f.Restart && v != f.Running {
			restart = append(restart, f.Label)
		}
	}
	msg := "Settings saved."
	if len(changed) == 0 {
		msg = "Nothing changed."
	}
	if len(changed) > 0 && s.cfg.Settings.Saved != nil {
		if err := s.cfg.Settings.Saved(values); err != nil {
			s.log.Error("web: apply settings", "err", err)
			msg += " But they could not be written for the system: " + plainError(err)
		}
	}
	if len(restart) > 0 {
		msg += " Restart hushbox (System page) to apply: " + strings.Join(restart, ", ") + "."
	}
	// Setting values are configuration, not secrets: the keys are logged.
	s.log.Info("web: settings saved", "changed", strings.Join(changed, ","), "src", clientIP(r))
	s.flashRedirect(w, r, "/settings", flash{Msg: msg})
}

// rollbackSettings puts back the old values of keys already written.
func (s *Server) rollbackSettings(old map[string]string, keys []string) {
	for _, k := range keys {
		// A key that was unset gets the empty value, which the daemon
		// reads as unset (the default).
		if err := s.cfg.Store.SetSetting(k, old[k]); err != nil {
			s.log.Error("web: undo setting", "key", k, "err", err)
		}
	}
}

// apiSetting is one setting as GET /api/settings shows it.
type apiSetting struct {
	Key     string `json:"key"`
	Value   string `json:"value"`             // stored ("" when unset)
	Running string `json:"running,omitempty"` // in effect now
	Flag    string `json:"flag,omitempty"`    // set by this command-line flag
	Restart bool   `json:"restart"`           // a change needs a restart
}

// apiSettings lists the editable settings with their stored and running
// values (changes go through the settings page's form).
func (s *Server) apiSettings(w http.ResponseWriter, r *http.Request) {
	stored, err := s.storedSettings()
	if err != nil {
		s.log.Error("web: read settings", "err", err)
		writeJSON(w, http.StatusInternalServerError, apiError{Error: "cannot read settings"})
		return
	}
	out := []apiSetting{}
	if s.cfg.Settings != nil {
		for _, f := range s.cfg.Settings.Fields {
			out = append(out, apiSetting{Key: f.Key, Value: stored[f.Key], Running: f.Running, Flag: f.Flag, Restart: f.Restart})
		}
	}
	writeJSON(w, http.StatusOK, out)
}
