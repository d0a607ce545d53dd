package main

import (
	"bytes"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestBencodeRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		in   any
		want string
	}{
		{"string", "spam", "4:spam"},
		{"int", 42, "i42e"},
		{"list", []string{"a", "bc"}, "l1:a2:bce"},
		{"dict sorted", map[string]any{"result": "ok", "command": "offer"}, "d7:command5:offer6:result2:oke"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := encodeBencode(&b, c.in); err != nil {
				t.Fatal(err)
			}
			if b.String() != c.want {
				t.Fatalf("encode = %q, want %q", b.String(), c.want)
			}
			if _, err := decodeBencode(b.Bytes()); err != nil {
				t.Fatalf("decode %q: %v", b.String(), err)
			}
		})
	}
}

func TestDecodeBencodeRejects(t *testing.T) {
	for _, in := range []string{"", "i12", "5:abc", "l1:a", "d1:ai1e", "di1ei2ee", "x", "i1ei2e", strings.Repeat("l", 100) + strings.Repeat("e", 100)} {
		if _, err := decodeBencode([]byte(in)); err == nil {
			t.Errorf("decodeBencode(%q) accepted", in)
		}
	}
}

func TestParseNGReply(t *testing.T) {
	sdp := "v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 20004 RTP/AVP 0\r\n"
	var b bytes.Buffer
	b.WriteString("hb7 ")
	_ = encodeBencode(&b, map[string]any{"result": "ok", "sdp": sdp})
	cookie, d, err := parseNGReply(b.Bytes())
	if err != nil || cookie != "hb7" {
		t.Fatalf("parseNGReply = %q, %v", cookie, err)
	}
	ap, err := sdpMedia(d["sdp"].(string))
	if err != nil || ap != netip.MustParseAddrPort("127.0.0.1:20004") {
		t.Fatalf("sdpMedia = %v, %v", ap, err)
	}
	if _, _, err := parseNGReply([]byte("hb8 d6:result5:error12:error-reason7:no calle")); err == nil {
		t.Fatal("an error reply was accepted")
	}
}

func TestSDPMediaRoundTrip(t *testing.T) {
	ap := netip.MustParseAddrPort("127.0.0.1:41234")
	got, err := sdpMedia(audioSDP(ap, 3))
	if err != nil || got != ap {
		t.Fatalf("sdpMedia(audioSDP(%v)) = %v, %v", ap, got, err)
	}
	if _, err := sdpMedia("v=0\r\nm=audio x RTP/AVP 0\r\n"); err == nil {
		t.Fatal("bad port accepted")
	}
}

func TestParseSessionLine(t *testing.T) {
	a, b, err := parseSessionLine("session 30000 30002")
	if err != nil || a != 30000 || b != 30002 {
		t.Fatalf("= %d %d %v", a, b, err)
	}
	for _, bad := range []string{"ready", "session 1", "session 0 2", "session x 2", "session 1 70000"} {
		if _, _, err := parseSessionLine(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseProc(t *testing.T) {
	stat, _ := os.ReadFile("testdata/proc-stat.txt")
	cpu, err := parseStatCPU(stat)
	if err != nil || cpu != 3.25 { // (250 + 75) ticks
		t.Fatalf("parseStatCPU = %v, %v; want 3.25", cpu, err)
	}
	status, _ := os.ReadFile("testdata/proc-status.txt")
	if kb, err := parseStatusKB(status, "VmHWM"); err != nil || kb != 4321 {
		t.Fatalf("VmHWM = %d, %v", kb, err)
	}
	if _, err := parseStatusKB(status, "VmSwap"); err == nil {
		t.Fatal("missing field found")
	}
}

func TestStats(t *testing.T) {
	lat := []int64{5, 1, 4, 2, 3, 6, 7, 8, 9, 10}
	s := summarise(10, lat, []float64{2, 4})
	if s.P50 != 5 || s.P99 != 10 || s.Max != 10 || s.JitterMean != 3 || s.lossPct() != 0 {
		t.Fatalf("summary = %+v", s)
	}
	if l := summarise(1000, make([]int64, 999), nil).lossPct(); l < 0.099 || l > 0.101 {
		t.Fatalf("loss = %v, want 0.1", l)
	}
	var j jitter
	for _, tr := range []int64{100, 100, 100} {
		j.add(tr)
	}
	if j.j != 0 {
		t.Fatalf("constant transit gives jitter %v", j.j)
	}
	j.add(260)
	if j.j != 10 {
		t.Fatalf("jitter = %v, want 10 (160/16)", j.j)
	}
}

// TestShellParsers runs the shell helpers of scripts/bench/lib.sh, which
// bench-register.sh and run.sh use to read sipp's screen, /proc and the
// result lines, on the files in testdata.
func TestShellParsers(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Fatal("bash missing")
	}
	lib, _ := filepath.Abs("../lib.sh")
	cases := []struct{ script, want string }{
		{"sipp_stats testdata/sipp-screen.txt", "60 0 20"},
		{"stat_cpu_ticks testdata/proc-stat.txt", "325"},
		{"status_kb testdata/proc-status.txt VmHWM", "4321"},
		{"status_kb testdata/proc-status.txt VmSwap", "0"},
		{"kv 'relay target=hushbox pps_per_core=41000 p50_us=90' pps_per_core", "41000"},
		{"ratio 3 4", "0.75"},
		{"ratio 3 0", "n/a"},
		{"tree_pids $$ | head -1", ""}, // checked below: the shell's own PID
	}
	for _, c := range cases {
		out, err := exec.Command("bash", "-c", ". "+lib+"; "+c.script).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", c.script, err, out)
		}
		got := strings.TrimSpace(string(out))
		if c.want == "" {
			if got == "" {
				t.Errorf("%s: no output", c.script)
			}
			continue
		}
		if got != c.want {
			t.Errorf("%s = %q, want %q", c.script, got, c.want)
		}
	}
}

func FuzzDecodeBencode(f *testing.F) {
	for _, s := range []string{"d6:result2:oke", "l1:ai3ee", "i-1e", "3:abc"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := decodeBencode(b)
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := encodeBencode(&out, v); err != nil {
			t.Fatalf("decoded %T does not encode: %v", v, err)
		}
		w, err := decodeBencode(out.Bytes())
		if err != nil || !reflect.DeepEqual(v, w) {
			t.Fatalf("round trip of %q changed: %v %v", b, w, err)
		}
	})
}
