package web

import (
	"net/http"
)

// PhoneStatus is the board phone (extension 100) as the Phone page shows it.
type PhoneStatus struct {
	Extension  string `json:"extension"`
	Registered bool   `json:"registered"`
	State      string `json:"state"` // idle, dialing, ringing, in call
	Peer       string `json:"peer,omitempty"`
	Scrambled  bool   `json:"scrambled"`
	SAS        string `json:"sas,omitempty"` // read it aloud with the other side
	OffHook    bool   `json:"off_hook"`
	Last       string `json:"last"`   // the last thing that happened
	Frames     string `json:"frames"` // RTP packets of the current call
}

// Phone is the board's own phone, driven from the Phone page. Optional in
// Config: nil shows that the box runs no phone.
type Phone interface {
	Status() PhoneStatus
	Dial(number string) error
	Answer() error
	Hangup()
	SendDTMF(keys string) error
}

// phoneRoutes adds the Phone page and its forms (CSRF-checked like every
// other form: the session middleware refuses a POST without the token).
func (s *Server) phoneRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /phone", s.phonePage)
	mux.HandleFunc("POST /phone/dial", s.phoneDial)
	mux.HandleFunc("POST /phone/answer", s.phoneAnswer)
	mux.HandleFunc("POST /phone/hangup", s.phoneHangup)
	mux.HandleFunc("POST /phone/dtmf", s.phoneDTMF)
	mux.HandleFunc("GET /api/phone", s.apiPhone)
}

type phoneData struct {
	Available bool
	Status    PhoneStatus
}

func (s *Server) phonePage(w http.ResponseWriter, r *http.Request) {
	s.showPhone(w, r, http.StatusOK, nil)
}

func (s *Server) showPhone(w http.ResponseWriter, r *http.Request, status int, errs formErrors) {
	d := phoneData{Available: s.cfg.Phone != nil}
	if d.Available {
		d.Status = s.cfg.Phone.Status()
	}
	s.render(w, r, status, "phone", pageData{Title: "Phone", Data: d, Errors: errs})
}

func (s *Server) phoneDial(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Phone == nil {
		http.NotFound(w, r)
		return
	}
	num := r.PostFormValue("number")
	if err := s.cfg.Phone.Dial(num); err != nil {
		s.showPhone(w, r, http.StatusBadRequest, formErrors{"number": plainError(err)})
		return
	}
	s.log.Info("web: phone dials", "number", num, "src", clientIP(r))
	s.flashRedirect(w, r, "/phone", flash{Msg: "Calling " + num + "."})
}

func (s *Server) phoneAnswer(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Phone == nil {
		http.NotFound(w, r)
		return
	}
	if err := s.cfg.Phone.Answer(); err != nil {
		s.showPhone(w, r, http.StatusBadRequest, formErrors{"answer": plainError(err)})
		return
	}
	s.flashRedirect(w, r, "/phone", flash{Msg: "Answered."})
}

func (s *Server) phoneHangup(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Phone == nil {
		http.NotFound(w, r)
		return
	}
	s.cfg.Phone.Hangup()
	s.flashRedirect(w, r, "/phone", flash{Msg: "Hung up."})
}

func (s *Server) phoneDTMF(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Phone == nil {
		http.NotFound(w, r)
		return
	}
	if err := s.cfg.Phone.SendDTMF(r.PostFormValue("keys")); err != nil {
		s.showPhone(w, r, http.StatusBadRequest, formErrors{"keys": plainError(err)})
		return
	}
	s.flashRedirect(w, r, "/phone", flash{Msg: "Keys sent."})
}

// apiPhone is the phone's status as JSON, for the page's refresh.
func (s *Server) apiPhone(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Phone == nil {
		http.NotFound(w, r)
		return
	}
	writeJSON(w, http.StatusOK, s.cfg.Phone.Status())
}
