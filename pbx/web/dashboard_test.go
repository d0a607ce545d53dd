package web

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hushbox/pbx/media"
	"hushbox/pbx/sysinfo"
)

// fakeGuard reports a fixed pressure.
type fakeGuard struct{ p Pressure }

func (g fakeGuard) Pressure() Pressure                        { return g.p }
func (fakeGuard) Bans() []Ban                                 { return nil }
func (fakeGuard) Ban(netip.Addr, time.Duration, string) error { return nil }
func (fakeGuard) Unban(netip.Addr) error                      { return nil }
func (fakeGuard) AllowList() []netip.Prefix                   { return nil }
func (fakeGuard) SetAllowList([]netip.Prefix) error           { return nil }
func (fakeGuard) Limits() GuardLimits                         { return GuardLimits{} }
func (fakeGuard) SetLimits(GuardLimits) error                 { return nil }
func (fakeGuard) Refused() uint64                             { return 77 }

// fakeProc points the server's sampler at a /proc with known figures:
// 23456 kB resident, 1 GiB total, 640 MiB available, load 0.52, 3 s CPU.
func fakeProc(t *testing.T, e *env) {
	t.Helper()
	root := t.TempDir()
	for name, body := range map[string]string{
		"self/stat":   "1 (hushbox) S 1 1 1 0 -1 0 0 0 0 0 250 50 0 0 20 0 1 0 1 1 1\n",
		"loadavg":     "0.52 0.58 0.61 2/467 12345\n",
		"meminfo":     "MemTotal: 1048576 kB\nMemAvailable: 655360 kB\n",
		"self/status": "Name:\thushbox\nVmRSS:\t23456 kB\n",
	} {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e.srv.sys = &sysinfo.Sampler{Root: root}
}

// TestDashboardRole: the page says which role the box has (board or cloud).
func TestDashboardRole(t *testing.T) {
	e := newEnv(t)
	c, _ := e.ready()
	if r := e.get(c, "/"); !strings.Contains(r.body, "v0.test · board") {
		t.Error("dashboard does not show the role beside the version")
	}
}

func TestDashboardGauges(t *testing.T) {
	e := newEnv(t)
	fakeProc(t, e)
	c, _ := e.ready()
	page := e.get(c, "/").body
	for _, want := range []string{
		`<span id="s-rss">22.9 MiB</span>`, `<span id="s-avail">640.0 MiB</span>`, `<span id="s-load">0.52</span>`,
		`id="g-mem" min="0" max="100" high="90" value="37.5"`,
		`<span class="val" id="s-pressure">guard off</span>`,
		"hushbox v0.test",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	e.srv.cfg.Guard = fakeGuard{p: Pressure{Level: 2, Name: "high", Score: 0.7}}
	page = e.get(c, "/").body
	for _, want := range []string{`<span id="s-pressure">high</span>`, `value="2"`, `<span id="s-refused">77</span>`} {
		if !strings.Contains(page, want) {
			t.Errorf("dashboard with a guard lacks %q", want)
		}
	}
}

func TestEventsCarryGauges(t *testing.T) {
	e := newEnv(t)
	fakeProc(t, e)
	e.srv.cfg.Guard = fakeGuard{p: Pressure{Level: 1, Name: "elevated", Score: 0.4}}
	c, _ := e.ready()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.ts.URL+"/events", nil)
	r, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	sc := bufio.NewScanner(r.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var ev liveEvent
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.RSS != "22.9 MiB" || ev.MemAvailable != "640.0 MiB" || ev.MemUsed != 37.5 || ev.Load != 0.52 {
			t.Errorf("event memory/load %+v", ev)
		}
		if ev.Pressure == nil || ev.Pressure.Name != "elevated" || ev.Refused != 77 {
			t.Errorf("event pressure %+v refused %d, want elevated and 77", ev.Pressure, ev.Refused)
		}
		if ev.SIP != 4321 {
			t.Errorf("event SIP messages %d, want the daemon's count 4321", ev.SIP)
		}
		return
	}
	t.Fatalf("no event: %v", sc.Err())
}

func TestMetricsSystemAndPressure(t *testing.T) {
	e := newEnv(t)
	fakeProc(t, e)
	e.ready()
	hdr := map[string]string{"Authorization": "Bearer " + metricsToken(t, e)}
	anon := newClient(t, e.ts)
	body := e.do(anon, "GET", "/metrics", nil, hdr).body
	for _, want := range []string{
		"process_resident_memory_bytes 24018944\n", "process_cpu_seconds_total 3\n", "hushbox_system_load1 0.52\n",
		"hushbox_memory_available_bytes 671088640\n", "hushbox_guard_enabled 0\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(body, "hushbox_pressure_level") {
		t.Error("pressure reported without a guard")
	}
	e.srv.cfg.Guard = fakeGuard{p: Pressure{Level: 3, Name: "critical", Score: 0.95}}
	body = e.do(anon, "GET", "/metrics", nil, hdr).body
	for _, want := range []string{"hushbox_pressure_level 3\n", "hushbox_pressure_score 0.95\n", "hushbox_guard_refused_total 77\n", "hushbox_guard_enabled 1\n"} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics with a guard lack %q", want)
		}
	}
}

// TestMetricsRelayHolds: the relay's holds are a Prometheus histogram
// with cumulative buckets in seconds, and absent without a relay.
func TestMetricsRelayHolds(t *testing.T) {
	e := newEnv(t)
	e.ready()
	hdr := map[string]string{"Authorization": "Bearer " + metricsToken(t, e)}
	anon := newClient(t, e.ts)
	if body := e.do(anon, "GET", "/metrics", nil, hdr).body; strings.Contains(body, "hushbox_relay_hold") {
		t.Error("relay holds reported without a relay")
	}
	var h media.HoldStats
	h.Buckets[0], h.Buckets[1], h.Buckets[6], h.Buckets[len(media.HoldBounds)] = 10, 5, 2, 1 // <=1 ms, <=2 ms, <=60 ms, >1 s
	h.Count, h.Sum = 18, 1500*time.Millisecond
	e.srv.cfg.RelayHolds = func() media.HoldStats { return h }
	body := e.do(anon, "GET", "/metrics", nil, hdr).body
	for _, want := range []string{
		"# TYPE hushbox_relay_hold_seconds histogram\n",
		`hushbox_relay_hold_seconds_bucket{le="0.001"} 10` + "\n",
		`hushbox_relay_hold_seconds_bucket{le="0.002"} 15` + "\n",
		`hushbox_relay_hold_seconds_bucket{le="0.04"} 15` + "\n",
		`hushbox_relay_hold_seconds_bucket{le="0.06"} 17` + "\n",
		`hushbox_relay_hold_seconds_bucket{le="1"} 17` + "\n",
		`hushbox_relay_hold_seconds_bucket{le="+Inf"} 18` + "\n",
		"hushbox_relay_hold_seconds_sum 1.5\n", "hushbox_relay_hold_seconds_count 18\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestFmtBytes(t *testing.T) {
	for in, want := range map[uint64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 5 << 20: "5.0 MiB", 3 << 30: "3.0 GiB"} {
		if got := fmtBytes(in); got != want {
			t.Errorf("fmtBytes(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestExtensionRename(t *testing.T) {
	e := newEnv(t)
	c, csrf := e.ready()
	if r := e.postForm(c, "/extensions", url.Values{"csrf": {csrf}, "number": {"101"}, "name": {"Alice"}, "pwmode": {"generate"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("add = %d", r.StatusCode)
	}
	for _, tc := range []struct {
		name, num, newName string
		status             int
		msg                string
	}{
		{"too long", "101", strings.Repeat("x", 65), http.StatusBadRequest, "at most 64"},
		{"unprintable", "101", "a\u0007b", http.StatusBadRequest, "printable"},
		{"missing extension", "199", "Bob", http.StatusBadRequest, "extension 199 not renamed: not found"},
		{"bad number in path", "1x", "Bob", http.StatusNotFound, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.postForm(c, "/extensions/"+tc.num+"/name", url.Values{"csrf": {csrf}, "name": {tc.newName}})
			if r.StatusCode != tc.status || !strings.Contains(r.body, tc.msg) {
				t.Fatalf("= %d, want %d with %q:\n%s", r.StatusCode, tc.status, tc.msg, r.body)
			}
			if x, _ := e.db.Extension("101"); x.Name != "Alice" {
				t.Fatalf("name changed to %q by a refused request", x.Name)
			}
		})
	}
	if r := e.postForm(c, "/extensions/101/name", url.Values{"csrf": {csrf}, "name": {"  Front Desk "}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("rename = %d", r.StatusCode)
	}
	if x, _ := e.db.Extension("101"); x.Name != "Front Desk" {
		t.Errorf("name %q, want Front Desk", x.Name)
	}
	if !strings.Contains(e.get(c, "/extensions").body, "Extension 101 renamed.") {
		t.Error("no confirmation after the rename")
	}
}
