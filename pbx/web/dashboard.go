package web

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request) {
	st := s.status(r.Context())
	s.render(w, r, http.StatusOK, "dashboard", pageData{Title: "Dashboard", Data: st})
}

// liveCall is a call as /events sends it.
type liveCall struct {
	From     string `json:"from"`
	To       string `json:"to"`
	State    string `json:"state"`
	Codec    string `json:"codec"`
	SAS      string `json:"sas,omitempty"`
	Trunk    string `json:"trunk,omitempty"`
	Duration string `json:"duration"`
}

// liveEvent is one /events message.
type liveEvent struct {
	Time          int64      `json:"time"` // Unix milliseconds
	Uptime        string     `json:"uptime"`
	Registrations int        `json:"registrations"`
	Calls         int        `json:"calls"`
	Extensions    int        `json:"extensions"`
	Packets       uint64     `json:"packets"`
	List          []liveCall `json:"list"`
}

func (s *Server) liveEvent(r *http.Request) liveEvent {
	st := s.status(r.Context())
	now := s.now()
	ev := liveEvent{Time: now.UnixMilli(), Uptime: fmtUptime(st.Uptime), Registrations: len(st.Registrations),
		Calls: len(st.Calls), Extensions: st.Extensions, Packets: st.Packets, List: make([]liveCall, 0, len(st.Calls))}
	for _, c := range st.Calls {
		ev.List = append(ev.List, liveCall{From: c.From, To: c.To, State: c.State, Codec: c.Codec, SAS: c.SAS, Trunk: c.Trunk,
			Duration: fmtDuration(now.Sub(c.Start))})
	}
	return ev
}

// fmtUptime shows an uptime as "3d 4h 5m" (seconds under a minute).
func fmtUptime(d time.Duration) string {
	d = d.Truncate(time.Second)
	if d < time.Minute {
		return d.String()
	}
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	out := ""
	if days > 0 {
		out = strconv.Itoa(int(days)) + "d "
	}
	return out + strconv.Itoa(int(d/time.Hour)) + "h " + strconv.Itoa(int(d/time.Minute%60)) + "m"
}

// events streams a liveEvent now and then every eventEvery until the
// client leaves or its session ends (Server-Sent Events).
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	select {
	case s.streams <- struct{}{}:
		defer func() { <-s.streams }()
	default:
		writeJSON(w, http.StatusServiceUnavailable, apiError{Error: "too many live views open"})
		return
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	id := sessionOf(r).id
	tick := time.NewTicker(s.eventEvery)
	defer tick.Stop()
	first := true
	for {
		b, err := json.Marshal(s.liveEvent(r))
		if err != nil {
			s.log.Error("web: encode event", "err", err)
			return
		}
		_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		prefix := ""
		if first {
			prefix, first = "retry: 5000\n", false
		}
		if _, err := w.Write([]byte(prefix + "event: status\ndata: " + string(b) + "\n\n")); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
		if !s.sessions.alive(id) {
			return
		}
	}
}
