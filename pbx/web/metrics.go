package web

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"hushbox/pbx/media"
)

// metrics serves Prometheus text format to a scraper holding the bearer
// token shown on the settings page (store secret web.metrics_token). No
// session is involved and nothing else is accepted.
func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	want, err := s.metricsToken()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || !tokensEqual(strings.TrimSpace(got), want) {
		s.log.Debug("web: metrics refused", "src", clientIP(r))
		w.Header().Set("WWW-Authenticate", `Bearer realm="hushbox metrics"`)
		http.Error(w, "metrics need the bearer token from the settings page", http.StatusUnauthorized)
		return
	}
	st := s.status(r.Context())
	var scrambled, dropped uint64
	for _, c := range st.Calls {
		scrambled += c.ScrambledFrames
		dropped += c.DroppedFrames
	}
	var b bytes.Buffer
	metric := func(name, kind, help string, v any) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n%s %v\n", name, help, name, kind, name, v)
	}
	fmt.Fprintf(&b, "# HELP hushbox_build_info The running version.\n# TYPE hushbox_build_info gauge\nhushbox_build_info{version=\"%s\"} 1\n", labelValue(s.cfg.Version))
	metric("hushbox_uptime_seconds", "gauge", "Seconds since the daemon started.", int64(st.Uptime.Seconds()))
	metric("hushbox_registrations", "gauge", "Live SIP registrations (bindings).", len(st.Registrations))
	metric("hushbox_extensions", "gauge", "Configured extensions.", st.Extensions)
	metric("hushbox_calls_active", "gauge", "Calls in progress.", len(st.Calls))
	metric("hushbox_sip_messages_received_total", "counter", "SIP messages received on every transport, refused ones included.", st.SIP)
	metric("hushbox_rtp_packets_relayed_total", "counter", "RTP packets relayed by calls, as observed by the web server.", st.Packets)
	metric("hushbox_calls_scrambled_frames", "gauge", "Frames scrambled or descrambled by the calls in progress.", scrambled)
	metric("hushbox_calls_dropped_frames", "gauge", "Frames the calls in progress could not scramble (never sent in clear).", dropped)
	metric("process_cpu_seconds_total", "counter", "User and system CPU time of the hushbox process.", st.Sys.CPUSeconds)
	metric("process_resident_memory_bytes", "gauge", "Resident memory of the hushbox process.", st.Sys.RSS)
	metric("hushbox_system_load1", "gauge", "System load average over one minute.", st.Sys.Load1)
	metric("hushbox_memory_available_bytes", "gauge", "Memory the system can still give to programs (MemAvailable).", st.Sys.MemAvailable)
	metric("hushbox_memory_total_bytes", "gauge", "The system's memory (MemTotal).", st.Sys.MemTotal)
	guard := 0
	if st.Pressure != nil {
		guard = 1
		metric("hushbox_pressure_level", "gauge", "DoS guard pressure: 0 normal, 1 elevated, 2 high, 3 critical.", st.Pressure.Level)
		metric("hushbox_pressure_score", "gauge", "DoS guard pressure score, 0 to 1.", st.Pressure.Score)
		metric("hushbox_guard_refused_total", "counter", "SIP requests the DoS guard dropped or refused.", st.Refused)
		if k, ok := s.cfg.Guard.(KernelDropper); ok {
			metric("hushbox_guard_kernel_dropped_total", "counter", "Packets the kernel limits (nftables) dropped before the process saw them; included in hushbox_guard_refused_total.", k.KernelDropped())
		}
	}
	metric("hushbox_guard_enabled", "gauge", "1 when the DoS guard runs.", guard)
	if s.cfg.RelayHolds != nil {
		writeHoldHistogram(&b, s.cfg.RelayHolds())
	}
	up := 1
	if len(st.Problems) > 0 {
		up = 0
	}
	metric("hushbox_status_complete", "gauge", "1 when every status source answered, 0 otherwise.", up)
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Write(b.Bytes())
}

// writeHoldHistogram writes the relay's holds as a Prometheus histogram
// (cumulative buckets in seconds, sum and count).
func writeHoldHistogram(b *bytes.Buffer, h media.HoldStats) {
	const name = "hushbox_relay_hold_seconds"
	fmt.Fprintf(b, "# HELP %s Time RTP and RTCP datagrams waited in the relay's sockets before it read them (kernel receive time to read; a relay short of CPU holds every call).\n# TYPE %s histogram\n", name, name)
	var cum uint64
	for i, le := range media.HoldBounds {
		cum += h.Buckets[i]
		fmt.Fprintf(b, "%s_bucket{le=\"%s\"} %d\n", name, strconv.FormatFloat(le.Seconds(), 'g', -1, 64), cum)
	}
	fmt.Fprintf(b, "%s_bucket{le=\"+Inf\"} %d\n%s_sum %s\n%s_count %d\n", name, h.Count, name,
		strconv.FormatFloat(h.Sum.Seconds(), 'g', -1, 64), name, h.Count)
}

// KernelDropper is a Guard that also limits floods in the kernel.
type KernelDropper interface {
	KernelDropped() uint64
}

// labelValue escapes a Prometheus label value.
func labelValue(v string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v)
}
