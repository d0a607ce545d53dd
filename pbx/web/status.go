package web

import (
	"context"
	"sync"
	"time"

	"hushbox/pbx/call"
	"hushbox/pbx/control"
	"hushbox/pbx/sysinfo"
)

// status is one look at the running box, for the dashboard, /events and
// /metrics. Errors (e.g. "hushbox is not running" from a store-only Admin)
// leave the lists empty and are noted.
type status struct {
	Uptime        time.Duration
	Registrations []control.Registration
	Calls         []call.Info
	Extensions    int
	// Packets is the running total of RTP packets relayed by calls seen.
	Packets uint64
	// Sys is the process's CPU and memory and the system's load.
	Sys sysinfo.Snapshot
	// Pressure is the DoS guard's verdict; nil when there is no guard.
	Pressure *Pressure
	// Refused is how many SIP requests the guard dropped or refused.
	Refused uint64
	// Version is the running version.
	Version string
	// SIP is the running total of SIP messages received.
	SIP uint64
	// Problems are short notes on what could not be read.
	Problems []string
}

func (s *Server) status(ctx context.Context) status {
	st := status{Uptime: s.now().Sub(s.cfg.Started).Truncate(time.Second)}
	var err error
	if st.Registrations, err = s.cfg.Admin.Registrations(ctx); err != nil {
		st.Problems = append(st.Problems, "registrations: "+plainError(err))
	}
	if st.Calls, err = s.cfg.Admin.Calls(ctx); err != nil {
		st.Problems = append(st.Problems, "calls: "+plainError(err))
	}
	if exts, err := s.cfg.Admin.Extensions(ctx); err == nil {
		st.Extensions = len(exts)
	} else {
		st.Problems = append(st.Problems, "extensions: "+plainError(err))
	}
	st.Packets = s.traffic.observe(st.Calls)
	st.Version = s.cfg.Version
	if s.cfg.SIPMessages != nil {
		st.SIP = s.cfg.SIPMessages()
	}
	if st.Sys, err = s.sys.Sample(); err != nil {
		st.Problems = append(st.Problems, "cpu and memory: "+plainError(err))
	}
	if s.cfg.Guard != nil {
		p := s.cfg.Guard.Pressure()
		st.Pressure = &p
		st.Refused = s.cfg.Guard.Refused()
	}
	return st
}

// traffic turns the per-call packet counters of live calls into one
// running total that only grows, so a graph can show packets per second
// across calls starting and ending. Packets of a call between its last
// observation and its end are not counted.
type traffic struct {
	mu    sync.Mutex
	last  map[string]uint64
	total uint64
}

func (t *traffic) observe(calls []call.Info) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	seen := make(map[string]uint64, len(calls))
	for _, c := range calls {
		n := c.PacketsAtoB + c.PacketsBtoA
		if prev, ok := t.last[c.CallID]; ok && n >= prev {
			t.total += n - prev
		} else if !ok {
			t.total += n
		}
		seen[c.CallID] = n
	}
	t.last = seen
	return t.total
}
