package web

import (
	"context"
	"encoding/json"
	"html/template"
	"io"
	"net/http"
	"strconv"

	"hushbox/pbx/call"
	"hushbox/pbx/handoff"
)

// Handoff is the board's hand-off as the web page drives it. The page
// finds it on Config.Admin (the daemon passes an Admin that also
// implements it when a peer link runs); without it the page and the API
// are not there.
type Handoff interface {
	HandoffMove(ctx context.Context, to, trigger string) (handoff.Result, error)
	HandoffStatus() handoff.Status
}

func (s *Server) handoffOf() Handoff {
	h, _ := s.cfg.Admin.(Handoff)
	return h
}

// handoffRoutes adds the Hand-off page and its JSON API:
//
//	GET  /handoff            the page: where calls are, pressure, the log, the drill buttons
//	POST /handoff            form: to=cloud|board (a drill)
//	GET  /api/handoff        handoff.Status
//	POST /api/handoff        {"to":"cloud"|"board"} → handoff.Result
func (s *Server) handoffRoutes(priv *http.ServeMux) {
	h := s.handoffOf()
	if h == nil {
		return
	}
	t, err := template.New("handoff").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/handoff.html")
	if err != nil {
		s.log.Error("web: hand-off page template", "err", err)
		return
	}
	s.pages.t["handoff"] = t
	priv.HandleFunc("GET /handoff", func(w http.ResponseWriter, r *http.Request) {
		s.render(w, r, http.StatusOK, "handoff", pageData{Title: "Hand-off", Data: h.HandoffStatus()})
	})
	priv.HandleFunc("POST /handoff", func(w http.ResponseWriter, r *http.Request) {
		to := r.PostFormValue("to")
		res, err := h.HandoffMove(r.Context(), to, handoff.TriggerAPI)
		if err != nil {
			s.flashRedirect(w, r, "/handoff", flash{Msg: "No hand-off: " + plainError(err)})
			return
		}
		s.log.Info("web: hand-off", "to", to, "moved", res.Moved, "failed", res.Failed, "src", clientIP(r))
		s.flashRedirect(w, r, "/handoff", flash{Msg: handoffSummary(res)})
	})
	priv.HandleFunc("GET /api/handoff", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, h.HandoffStatus())
	})
	priv.HandleFunc("POST /api/handoff", func(w http.ResponseWriter, r *http.Request) {
		var cmd handoff.MoveCommand
		dec := json.NewDecoder(io.LimitReader(r.Body, 4096))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&cmd); err != nil {
			writeJSON(w, http.StatusBadRequest, apiError{Error: "bad JSON body: " + err.Error()})
			return
		}
		res, err := h.HandoffMove(r.Context(), cmd.To, handoff.TriggerAPI)
		if err != nil {
			writeJSON(w, handoff.StatusOf(err), apiError{Error: plainError(err)})
			return
		}
		s.log.Info("web: hand-off", "to", cmd.To, "moved", res.Moved, "failed", res.Failed, "via", "api", "src", clientIP(r))
		writeJSON(w, http.StatusOK, res)
	})
}

// handoffSummary is a Move's outcome for people.
func handoffSummary(r handoff.Result) string {
	where := "the cloud"
	if r.To == handoff.ToBoard {
		where = "the board"
	}
	msg := "Moved " + strconv.Itoa(r.Moved) + " call leg(s) to " + where + " in " + strconv.Itoa(int(r.MS)) + " ms."
	if r.Failed > 0 {
		msg += " " + strconv.Itoa(r.Failed) + " stayed where they were (see the log)."
	}
	return msg
}

// callState is a live call's state for the dashboard, with where it is
// while handed to the cloud.
func callState(c call.Info) string {
	if c.Where == call.WhereCloud {
		return c.State + " · cloud"
	}
	return c.State
}
