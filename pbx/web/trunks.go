package web

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"

	"hushbox/crypto/keys"
	"hushbox/pbx/control"
	"hushbox/pbx/store"
)

// trunkForm is the "add hushbox trunk" form as entered.
type trunkForm struct {
	Name, Address, PeerKey, Prefix, Strip string
}

func readTrunkForm(r *http.Request) trunkForm {
	return trunkForm{
		Name:    strings.TrimSpace(r.PostFormValue("name")),
		Address: strings.TrimSpace(r.PostFormValue("address")),
		PeerKey: strings.TrimSpace(r.PostFormValue("peer_key")),
		Prefix:  strings.TrimSpace(r.PostFormValue("prefix")),
		Strip:   strings.TrimSpace(r.PostFormValue("strip")),
	}
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// validate checks every field and builds the trunk to store.
func (f trunkForm) validate(existing []control.TrunkInfo) (store.Trunk, formErrors) {
	errs := formErrors{}
	t := store.Trunk{Name: f.Name, Kind: store.TrunkHushbox, Address: f.Address, Transport: "tls", PeerKey: f.PeerKey, Prefix: f.Prefix}
	if store.ValidTrunkName(f.Name) != nil {
		errs["name"] = "1 to 32 of a-z, 0-9 and '-', starting with a letter"
	} else {
		for _, x := range existing {
			if x.Name == f.Name {
				errs["name"] = "trunk " + f.Name + " exists already"
			}
		}
	}
	host, port, err := net.SplitHostPort(f.Address)
	p, perr := strconv.Atoi(port)
	if err != nil || host == "" || !validHost(host) || perr != nil || p < 1 || p > 65535 {
		errs["address"] = "host:port of the peer's SIP TLS, e.g. 192.0.2.7:5061"
	}
	if _, err := keys.ParsePublicKey(f.PeerKey); err != nil {
		errs["peer_key"] = "the peer's identity, hbx1:... as its web page shows it"
	}
	if f.Prefix != "" && (len(f.Prefix) > 15 || !allDigits(f.Prefix)) {
		errs["prefix"] = "1 to 15 digits, or empty"
	}
	if f.Strip != "" {
		n, err := strconv.Atoi(f.Strip)
		if err != nil || n < 0 || n > len(f.Prefix) {
			errs["strip"] = "a number from 0 to the prefix length"
		}
		t.Strip = n
	}
	if len(errs) == 0 {
		if err := t.Validate(); err != nil {
			errs[""] = plainError(err)
		}
	}
	return t, errs
}

// trunksData is the trunks page's data.
type trunksData struct {
	Trunks   []control.TrunkInfo
	Identity string
	Error    string
}

func (s *Server) showTrunks(w http.ResponseWriter, r *http.Request, status int, errs formErrors, form map[string]string) {
	ts, err := s.cfg.Admin.Trunks(r.Context())
	d := trunksData{Trunks: ts}
	if err != nil {
		d.Error = "cannot list trunks"
		s.log.Error("web: list trunks", "err", err)
	}
	if id, err := s.cfg.Admin.Identity(r.Context()); err == nil {
		d.Identity = id
	} else {
		s.log.Error("web: identity", "err", err)
	}
	s.render(w, r, status, "trunks", pageData{Title: "Trunks", Errors: errs, Form: form, Data: d})
}

func (s *Server) trunksPage(w http.ResponseWriter, r *http.Request) {
	s.showTrunks(w, r, http.StatusOK, nil, nil)
}

func (s *Server) trunkAdd(w http.ResponseWriter, r *http.Request) {
	f := readTrunkForm(r)
	form := map[string]string{"name": f.Name, "address": f.Address, "peer_key": f.PeerKey, "prefix": f.Prefix, "strip": f.Strip}
	existing, err := s.cfg.Admin.Trunks(r.Context())
	if err != nil {
		s.fail(w, r, fmt.Errorf("list trunks: %w", err))
		return
	}
	t, errs := f.validate(existing)
	if len(errs) > 0 {
		s.showTrunks(w, r, http.StatusBadRequest, errs, form)
		return
	}
	if err := s.cfg.Admin.AddTrunk(r.Context(), t, ""); err != nil {
		s.log.Error("web: add trunk", "trunk", t.Name, "err", err)
		errs = formErrors{"": "the trunk was not added: " + plainError(err)}
		if errors.Is(err, store.ErrExists) {
			errs = formErrors{"name": "trunk " + t.Name + " exists already"}
		}
		s.showTrunks(w, r, http.StatusBadRequest, errs, form)
		return
	}
	s.log.Info("web: trunk added", "trunk", t.Name, "kind", t.Kind, "address", t.Address, "src", clientIP(r))
	s.flashRedirect(w, r, "/trunks", flash{Msg: "Trunk " + t.Name + " added."})
}

func (s *Server) trunkDelete(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if store.ValidTrunkName(name) != nil {
		http.NotFound(w, r)
		return
	}
	if err := s.cfg.Admin.RemoveTrunk(r.Context(), name); err != nil {
		s.log.Error("web: remove trunk", "trunk", name, "err", err)
		s.showTrunks(w, r, http.StatusBadRequest, formErrors{"": "trunk " + name + " was not removed: " + plainError(err)}, nil)
		return
	}
	s.log.Info("web: trunk removed", "trunk", name, "src", clientIP(r))
	s.flashRedirect(w, r, "/trunks", flash{Msg: "Trunk " + name + " removed."})
}
