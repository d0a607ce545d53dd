package web

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"time"

	"hushbox/pbx/sysinfo"
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
	SIP           uint64     `json:"sip"` // SIP messages received so far
	List          []liveCall `json:"list"`
	// CPU is the process's CPU use in percent of one core; Load the
	// system's 1-minute load average.
	CPU  float64 `json:"cpu"`
	Load float64 `json:"load"`
	// RSS and MemAvailable are shown formatted ("23.4 MiB"); MemUsed is
	// the system's used memory in percent, for the gauge.
	RSS          string  `json:"rss"`
	MemAvailable string  `json:"mem_available"`
	MemUsed      float64 `json:"mem_used"`
	// Pressure is the guard's verdict; absent when there is no guard.
	Pressure *Pressure `json:"pressure,omitempty"`
	Refused  uint64    `json:"refused"`
}

func (s *Server) liveEvent(r *http.Request) liveEvent {
	st := s.status(r.Context())
	now := s.now()
	ev := liveEvent{Time: now.UnixMilli(), Uptime: fmtUptime(st.Uptime), Registrations: len(st.Registrations),
		Calls: len(st.Calls), Extensions: st.Extensions, Packets: st.Packets, SIP: st.SIP, List: make([]liveCall, 0, len(st.Calls))}
	ev.CPU, ev.Load = round1(st.Sys.ProcessCPU), st.Sys.Load1
	ev.RSS, ev.MemAvailable, ev.MemUsed = fmtBytes(st.Sys.RSS), fmtBytes(st.Sys.MemAvailable), round1(memUsed(st.Sys))
	ev.Pressure, ev.Refused = st.Pressure, st.Refused
	for _, c := range st.Calls {
		ev.List = append(ev.List, liveCall{From: c.From, To: c.To, State: callState(c), Codec: c.Codec, SAS: c.SAS, Trunk: c.Trunk,
			Duration: fmtDuration(now.Sub(c.Start))})
	}
	return ev
}

// round1 rounds to one decimal.
func round1(v float64) float64 { return math.Round(v*10) / 10 }

// memUsed is the system's memory in use, in percent.
func memUsed(s sysinfo.Snapshot) float64 {
	if s.MemTotal == 0 || s.MemAvailable > s.MemTotal {
		return 0
	}
	return float64(s.MemTotal-s.MemAvailable) * 100 / float64(s.MemTotal)
}

// fmtBytes shows a byte count in binary units ("23.4 MiB").
func fmtBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatUint(n, 10) + " B"
	}
	v, i := float64(n)/unit, 0
	for v >= unit && i < 3 {
		v /= unit
		i++
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + []string{"KiB", "MiB", "GiB", "TiB"}[i]
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
