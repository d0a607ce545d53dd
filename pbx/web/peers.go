package web

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"strings"
	"time"

	"hushbox/pbx/peer"
	"hushbox/pbx/store"
)

// Peers is the peer manager as the Peers page uses it; *peer.Manager
// satisfies it. The page finds it on Config.Admin (the daemon passes an
// Admin that also implements Peers); an Admin without it hides the page.
type Peers interface {
	IssueCode(peer.Options) (peer.Code, time.Time, error)
	CodeLive() (time.Time, bool)
	Pair(ctx context.Context, addr, code string, o peer.Options) (peer.Peer, error)
	Peers() []peer.Status
	Peer(name string) (peer.Peer, bool)
	RemovePeer(ctx context.Context, name string) error
	Attempts() peer.Attempts
	CertFP() string
	// PairHandler serves peer.PairPath, the public pairing endpoint.
	PairHandler() http.Handler
}

// pairPath is the public pairing endpoint, open before setup too.
const pairPath = peer.PairPath

// peersOf is the peer manager behind the page, or nil.
func (s *Server) peersOf() Peers {
	p, _ := s.cfg.Admin.(Peers)
	return p
}

// peerRoutes adds the Peers page (priv) and the public pairing endpoint
// (pub), when the daemon peers.
func (s *Server) peerRoutes(priv, pub *http.ServeMux) {
	p := s.peersOf()
	if p == nil {
		return
	}
	t, err := template.New("peers").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/peers.html")
	if err != nil {
		s.log.Error("web: peers page template", "err", err)
		return
	}
	s.pages.t["peers"] = t
	pub.Handle("POST "+peer.PairPath, p.PairHandler())
	priv.HandleFunc("GET /peers", s.peersPage)
	priv.HandleFunc("POST /peers/code", s.peerCode)
	priv.HandleFunc("POST /peers/pair", s.peerPair)
	priv.HandleFunc("POST /peers/{name}/delete", s.peerDelete)
	priv.HandleFunc("GET /api/peers", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, p.Peers())
	})
}

// peersData is the Peers page's data.
type peersData struct {
	Peers    []peer.Status
	Identity string
	CertFP   string
	Attempts peer.Attempts
	// Code is shown once, right after it is issued; CodeExpires with it,
	// or alone when a code issued earlier is still live.
	Code        string
	CodeExpires time.Time
	Error       string
}

// peerForms are the defaults of the page's two forms: trunks on.
var peerForms = map[string]string{"code_trunk": "on", "trunk": "on"}

func (s *Server) showPeers(w http.ResponseWriter, r *http.Request, status int, errs formErrors, form map[string]string, code string, exp time.Time) {
	p := s.peersOf()
	d := peersData{Peers: p.Peers(), CertFP: p.CertFP(), Attempts: p.Attempts(), Code: code, CodeExpires: exp}
	if code == "" {
		if e, ok := p.CodeLive(); ok {
			d.CodeExpires = e
		}
	}
	if id, err := s.cfg.Admin.Identity(r.Context()); err == nil {
		d.Identity = id
	} else {
		s.log.Error("web: identity", "err", err)
	}
	if form == nil {
		form = peerForms
	}
	s.render(w, r, status, "peers", pageData{Title: "Peers", Errors: errs, Form: form, Data: d})
}

func (s *Server) peersPage(w http.ResponseWriter, r *http.Request) {
	s.showPeers(w, r, http.StatusOK, nil, nil, "", time.Time{})
}

// peerOptions reads and checks the name, trunk and prefix fields (named
// with prefix pre); it also checks that neither a peer nor, when a trunk
// is wanted, a trunk has the name already.
func (s *Server) peerOptions(r *http.Request, pre string, errs formErrors, form map[string]string) peer.Options {
	o := peer.Options{
		Name:   strings.TrimSpace(r.PostFormValue(pre + "name")),
		Trunk:  r.PostFormValue(pre+"trunk") == "on",
		Prefix: strings.TrimSpace(r.PostFormValue(pre + "prefix")),
	}
	form[pre+"name"], form[pre+"prefix"] = o.Name, o.Prefix
	if o.Trunk {
		form[pre+"trunk"] = "on"
	}
	if o.Name != "" {
		if store.ValidTrunkName(o.Name) != nil {
			errs[pre+"name"] = "1 to 32 of a-z, 0-9 and '-', starting with a letter; or empty"
		} else if _, ok := s.peersOf().Peer(o.Name); ok {
			errs[pre+"name"] = "a peer called " + o.Name + " exists already"
		} else if o.Trunk {
			if ts, err := s.cfg.Admin.Trunks(r.Context()); err == nil {
				for _, t := range ts {
					if t.Name == o.Name {
						errs[pre+"name"] = "a trunk called " + o.Name + " exists already"
					}
				}
			}
		}
	}
	if o.Prefix != "" && (len(o.Prefix) > 15 || !allDigits(o.Prefix)) {
		errs[pre+"prefix"] = "1 to 15 digits, or empty"
	}
	return o
}

func (s *Server) peerCode(w http.ResponseWriter, r *http.Request) {
	errs, form := formErrors{}, map[string]string{}
	o := s.peerOptions(r, "code_", errs, form)
	if len(errs) > 0 {
		s.showPeers(w, r, http.StatusBadRequest, errs, form, "", time.Time{})
		return
	}
	code, exp, err := s.peersOf().IssueCode(o)
	if err != nil {
		s.log.Error("web: pairing code", "err", err)
		s.showPeers(w, r, http.StatusBadRequest, formErrors{"": "no code was made: " + plainError(err)}, form, "", time.Time{})
		return
	}
	s.log.Info("web: pairing code shown", "expires", exp, "src", clientIP(r))
	// Rendered, not redirected: the code is on this one answer only.
	s.showPeers(w, r, http.StatusOK, nil, nil, code.String(), exp)
}

func (s *Server) peerPair(w http.ResponseWriter, r *http.Request) {
	errs, form := formErrors{}, map[string]string{}
	o := s.peerOptions(r, "", errs, form)
	addr := strings.TrimSpace(r.PostFormValue("address"))
	form["address"] = addr
	naddr, err := peer.NormalizeAddr(addr)
	if err != nil {
		errs["address"] = "host or host:port of the other box's web page, e.g. 192.0.2.7:8443"
	}
	code := r.PostFormValue("code")
	if _, err := peer.ParseCode(code); err != nil {
		errs["code"] = "the code the other box shows: 8 letters or digits 2-7 and a check character (a typo?)"
	} else {
		form["code"] = code
	}
	if len(errs) > 0 {
		delete(form, "code")
		s.showPeers(w, r, http.StatusBadRequest, errs, form, "", time.Time{})
		return
	}
	p, err := s.peersOf().Pair(r.Context(), naddr, code, o)
	if err != nil {
		s.log.Warn("web: pairing failed", "address", naddr, "err", err, "src", clientIP(r))
		delete(form, "code") // a code serves one attempt
		switch {
		case errors.Is(err, peer.ErrRefused):
			errs["code"] = "refused: " + plainError(err)
		case errors.Is(err, store.ErrExists):
			errs["name"] = "a peer with that name exists already"
		case errors.Is(err, store.ErrInvalid):
			errs[""] = plainError(err)
		default:
			errs["address"] = "could not pair: " + plainError(err)
		}
		s.showPeers(w, r, http.StatusBadRequest, errs, form, "", time.Time{})
		return
	}
	s.log.Info("web: peer paired", "peer", p.Name, "address", p.Address, "trunk", p.Trunk, "src", clientIP(r))
	msg := "Paired with " + p.Name + " (identity " + p.Identity.Fingerprint() + ")."
	if p.Trunk != "" {
		msg += " Trunk " + p.Trunk + " made."
	} else if o.Trunk {
		msg += " No trunk was made (the peer has no SIP TLS, or the name is taken)."
	}
	s.flashRedirect(w, r, "/peers", flash{Msg: msg})
}

func (s *Server) peerDelete(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if store.ValidTrunkName(name) != nil {
		http.NotFound(w, r)
		return
	}
	if err := s.peersOf().RemovePeer(r.Context(), name); err != nil {
		s.log.Error("web: remove peer", "peer", name, "err", err)
		s.showPeers(w, r, http.StatusBadRequest, formErrors{"": "peer " + name + " was not removed: " + plainError(err)}, nil, "", time.Time{})
		return
	}
	s.log.Info("web: peer removed", "peer", name, "src", clientIP(r))
	s.flashRedirect(w, r, "/peers", flash{Msg: "Peer " + name + " removed."})
}
