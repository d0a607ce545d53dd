package web

import (
	"net/http"
)

// systemLogLines is how many of the newest log lines the system page shows.
const systemLogLines = 200

// systemData is the system page's data.
type systemData struct {
	Available bool // a System hook is configured
	CanReboot bool
	Logs      []string
}

// systemPage shows the newest log lines and the restart (and, on the
// appliance, reboot) buttons.
func (s *Server) systemPage(w http.ResponseWriter, r *http.Request) {
	d := systemData{Available: s.cfg.System != nil}
	if d.Available {
		d.CanReboot = s.cfg.System.CanReboot()
		d.Logs = s.cfg.System.Logs(systemLogLines)
	}
	s.render(w, r, http.StatusOK, "system", pageData{Title: "System", Data: d})
}

// stoppingData is the page shown while the daemon restarts or reboots; its
// script reloads the dashboard once the box answers again.
type stoppingData struct {
	What string // "restarting" or "rebooting"
}

// systemRestart stops the daemon cleanly and starts it again. The answer
// is written before the web server shuts down (graceful shutdown waits for
// this request).
func (s *Server) systemRestart(w http.ResponseWriter, r *http.Request) {
	if s.cfg.System == nil {
		http.NotFound(w, r)
		return
	}
	if r.PostFormValue("confirm") != "yes" {
		s.systemError(w, r, "restart", "confirm the restart")
		return
	}
	s.log.Info("web: restart requested", "src", clientIP(r))
	if err := s.cfg.System.Restart(); err != nil {
		s.log.Error("web: restart", "err", err)
		s.systemError(w, r, "restart", "not restarted: "+plainError(err))
		return
	}
	noStore(w)
	s.render(w, r, http.StatusOK, "stopping", pageData{Title: "Restarting", Data: stoppingData{What: "restarting"}})
}

// systemReboot stops the daemon cleanly and reboots the board (appliance
// only).
func (s *Server) systemReboot(w http.ResponseWriter, r *http.Request) {
	if s.cfg.System == nil || !s.cfg.System.CanReboot() {
		http.NotFound(w, r)
		return
	}
	if r.PostFormValue("confirm") != "yes" {
		s.systemError(w, r, "reboot", "confirm the reboot")
		return
	}
	s.log.Info("web: reboot requested", "src", clientIP(r))
	if err := s.cfg.System.Reboot(); err != nil {
		s.log.Error("web: reboot", "err", err)
		s.systemError(w, r, "reboot", "not rebooted: "+plainError(err))
		return
	}
	noStore(w)
	s.render(w, r, http.StatusOK, "stopping", pageData{Title: "Rebooting", Data: stoppingData{What: "rebooting"}})
}

// systemError shows the system page again with msg next to the button.
func (s *Server) systemError(w http.ResponseWriter, r *http.Request, field, msg string) {
	d := systemData{Available: true, CanReboot: s.cfg.System.CanReboot(), Logs: s.cfg.System.Logs(systemLogLines)}
	s.render(w, r, http.StatusBadRequest, "system", pageData{Title: "System", Errors: formErrors{field: msg}, Data: d})
}
