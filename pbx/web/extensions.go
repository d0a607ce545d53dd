package web

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"hushbox/pbx/accounts"
	"hushbox/pbx/control"
	"hushbox/pbx/store"
)

// maxExtPassword bounds a chosen SIP password (phones store short ones).
const maxExtPassword = 128

// extensionForm is the "add extension" form as entered.
type extensionForm struct {
	Number, Name, PWMode, Password string
	RequireSRTP                    bool
}

func readExtensionForm(r *http.Request) extensionForm {
	return extensionForm{
		Number:      strings.TrimSpace(r.PostFormValue("number")),
		Name:        strings.TrimSpace(r.PostFormValue("name")),
		PWMode:      r.PostFormValue("pwmode"),
		Password:    r.PostFormValue("password"),
		RequireSRTP: r.PostFormValue("require_srtp") == "on",
	}
}

// numberError explains what is wrong with an extension number, or "".
func numberError(n string) string {
	if store.ValidNumber(n) != nil {
		return "2 to 15 digits, nothing else"
	}
	return ""
}

// nameError explains what is wrong with a display name, or "".
func nameError(n string) string {
	if !utf8.ValidString(n) {
		return "not valid text"
	}
	if utf8.RuneCountInString(n) > store.MaxNameLen {
		return fmt.Sprintf("at most %d characters", store.MaxNameLen)
	}
	if store.ValidName(n) != nil {
		return "printable characters only"
	}
	return ""
}

// extPasswordError explains what is wrong with a chosen SIP password, or "".
func extPasswordError(pw string) string {
	switch {
	case !utf8.ValidString(pw):
		return "not valid text"
	case utf8.RuneCountInString(pw) < accounts.MinPasswordLength:
		return fmt.Sprintf("at least %d characters", accounts.MinPasswordLength)
	case len(pw) > maxExtPassword:
		return fmt.Sprintf("at most %d bytes", maxExtPassword)
	case strings.ContainsFunc(pw, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return "no control characters"
	}
	return ""
}

// validate checks every field; exts is the current list, to catch a taken
// number next to its field.
func (f extensionForm) validate(exts []control.ExtensionInfo) formErrors {
	errs := formErrors{}
	if e := numberError(f.Number); e != "" {
		errs["number"] = e
	} else {
		for _, x := range exts {
			if x.Number == f.Number {
				errs["number"] = "extension " + f.Number + " exists already"
			}
		}
	}
	if e := nameError(f.Name); e != "" {
		errs["name"] = e
	}
	switch f.PWMode {
	case "", "generate":
	case "choose":
		if e := extPasswordError(f.Password); e != "" {
			errs["password"] = e
		}
	default:
		errs["pwmode"] = "choose generate or choose"
	}
	return errs
}

// addExtension validates f and creates the extension with its policy, all
// or nothing. It returns the password set, or the field errors.
func (s *Server) addExtension(r *http.Request, f extensionForm) (string, formErrors, error) {
	exts, err := s.cfg.Admin.Extensions(r.Context())
	if err != nil {
		return "", nil, fmt.Errorf("list extensions: %w", err)
	}
	if errs := f.validate(exts); len(errs) > 0 {
		return "", errs, nil
	}
	pw := ""
	if f.PWMode == "choose" {
		pw = f.Password
	}
	set, err := s.cfg.Admin.AddExtension(r.Context(), f.Number, f.Name, pw)
	if err != nil {
		if errors.Is(err, store.ErrExists) {
			return "", formErrors{"number": "extension " + f.Number + " exists already"}, nil
		}
		return "", nil, fmt.Errorf("add extension: %w", err)
	}
	if f.RequireSRTP {
		if err := s.cfg.Admin.SetRequireSRTP(r.Context(), f.Number, true); err != nil {
			// Nothing half-saved: take the extension back out.
			if rerr := s.cfg.Admin.RemoveExtension(r.Context(), f.Number); rerr != nil {
				s.log.Error("web: undo extension add", "ext", f.Number, "err", rerr)
			}
			return "", nil, fmt.Errorf("set SRTP policy: %w", err)
		}
	}
	s.log.Info("web: extension added", "ext", f.Number, "require_srtp", f.RequireSRTP, "generated_password", pw == "", "src", clientIP(r))
	return set, nil, nil
}

// extensionsData is the extensions page's data.
type extensionsData struct {
	Extensions []control.ExtensionInfo
	Error      string
}

func (s *Server) showExtensions(w http.ResponseWriter, r *http.Request, status int, errs formErrors, form map[string]string) {
	exts, err := s.cfg.Admin.Extensions(r.Context())
	d := extensionsData{Extensions: exts}
	if err != nil {
		d.Error = "cannot list extensions"
		s.log.Error("web: list extensions", "err", err)
	}
	s.render(w, r, status, "extensions", pageData{Title: "Extensions", Errors: errs, Form: form, Data: d})
}

func (s *Server) extensionsPage(w http.ResponseWriter, r *http.Request) {
	s.showExtensions(w, r, http.StatusOK, nil, nil)
}

func (s *Server) extensionAdd(w http.ResponseWriter, r *http.Request) {
	f := readExtensionForm(r)
	pw, errs, err := s.addExtension(r, f)
	if err != nil {
		s.log.Error("web: add extension", "ext", f.Number, "err", err)
		errs = formErrors{"": "the extension was not added: " + plainError(err)}
	}
	if len(errs) > 0 {
		form := map[string]string{"number": f.Number, "name": f.Name, "pwmode": f.PWMode}
		if f.RequireSRTP {
			form["require_srtp"] = "on"
		}
		s.showExtensions(w, r, http.StatusBadRequest, errs, form)
		return
	}
	s.flashRedirect(w, r, "/extensions", s.passwordFlash("Extension "+f.Number+" added. Its SIP password (shown only now):", f.Number, f.Name, pw))
}

// pathNumber is the {num} of the URL, or "" when it is no valid number.
func pathNumber(r *http.Request) string {
	n := r.PathValue("num")
	if store.ValidNumber(n) != nil {
		return ""
	}
	return n
}

func (s *Server) extensionDelete(w http.ResponseWriter, r *http.Request) {
	num := pathNumber(r)
	if num == "" {
		http.NotFound(w, r)
		return
	}
	if err := s.cfg.Admin.RemoveExtension(r.Context(), num); err != nil {
		s.log.Error("web: remove extension", "ext", num, "err", err)
		s.showExtensions(w, r, http.StatusBadRequest, formErrors{"": "extension " + num + " was not removed: " + plainError(err)}, nil)
		return
	}
	s.log.Info("web: extension removed", "ext", num, "src", clientIP(r))
	s.flashRedirect(w, r, "/extensions", flash{Msg: "Extension " + num + " removed."})
}

func (s *Server) extensionPassword(w http.ResponseWriter, r *http.Request) {
	num := pathNumber(r)
	if num == "" {
		http.NotFound(w, r)
		return
	}
	pw := r.PostFormValue("password")
	if pw != "" {
		if e := extPasswordError(pw); e != "" {
			s.showExtensions(w, r, http.StatusBadRequest, formErrors{"password-" + num: e}, nil)
			return
		}
	}
	set, err := s.cfg.Admin.SetPassword(r.Context(), num, pw)
	if err != nil {
		s.log.Error("web: reset extension password", "ext", num, "err", err)
		s.showExtensions(w, r, http.StatusBadRequest, formErrors{"password-" + num: "not changed: " + plainError(err)}, nil)
		return
	}
	s.log.Info("web: extension password reset", "ext", num, "generated", pw == "", "src", clientIP(r))
	s.flashRedirect(w, r, "/extensions", s.passwordFlash("New SIP password of "+num+" (shown only now):", num, "", set))
}

func (s *Server) extensionSRTP(w http.ResponseWriter, r *http.Request) {
	num := pathNumber(r)
	if num == "" {
		http.NotFound(w, r)
		return
	}
	var on bool
	switch r.PostFormValue("require_srtp") {
	case "on":
		on = true
	case "off":
	default:
		s.showExtensions(w, r, http.StatusBadRequest, formErrors{"srtp-" + num: "want on or off"}, nil)
		return
	}
	if err := s.cfg.Admin.SetRequireSRTP(r.Context(), num, on); err != nil {
		s.log.Error("web: set SRTP policy", "ext", num, "err", err)
		s.showExtensions(w, r, http.StatusBadRequest, formErrors{"srtp-" + num: "not changed: " + plainError(err)}, nil)
		return
	}
	s.log.Info("web: extension policy changed", "ext", num, "require_srtp", on, "src", clientIP(r))
	state := "no longer requires"
	if on {
		state = "requires"
	}
	s.flashRedirect(w, r, "/extensions", flash{Msg: "Extension " + num + " " + state + " SRTP."})
}

// extensionName changes an extension's display name.
func (s *Server) extensionName(w http.ResponseWriter, r *http.Request) {
	num := pathNumber(r)
	if num == "" {
		http.NotFound(w, r)
		return
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	if e := nameError(name); e != "" {
		s.showExtensions(w, r, http.StatusBadRequest, formErrors{"name-" + num: e}, nil)
		return
	}
	if err := s.cfg.Admin.SetName(r.Context(), num, name); err != nil {
		s.log.Error("web: rename extension", "ext", num, "err", err)
		s.showExtensions(w, r, http.StatusBadRequest, formErrors{"": "extension " + num + " not renamed: " + plainError(err)}, nil)
		return
	}
	s.log.Info("web: extension renamed", "ext", num, "src", clientIP(r))
	s.flashRedirect(w, r, "/extensions", flash{Msg: "Extension " + num + " renamed."})
}

// plainError is an error's message without the package prefixes a user
// has no use for.
func plainError(err error) string {
	msg := err.Error()
	if errors.Is(err, store.ErrNotFound) {
		return "not found"
	}
	if i := strings.LastIndex(msg, "invalid value: "); i >= 0 {
		return msg[i+len("invalid value: "):]
	}
	if i := strings.LastIndex(msg, ": "); i >= 0 && len(msg)-i < 120 {
		return msg[i+2:]
	}
	return msg
}
