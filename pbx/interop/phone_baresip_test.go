package interop

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestPhoneCallsBaresip: `hushbox phone` (101) calls a baresip extension
// (102, auto answer) through the daemon. baresip cannot scramble, so the
// phone must say the call is not scrambled, and the audio goes through in
// clear both ways: what baresip records correlates > 0.9 with the phone's
// speech, and what the phone records with baresip's.
func TestPhoneCallsBaresip(t *testing.T) {
	requireTool(t, "baresip")
	work := t.TempDir()
	speech101, src101 := speechWAV(t, work, "from-101", "This is the hushbox phone calling a baresip extension. The quick brown fox jumps over the lazy dog.")
	speech102, src102 := speechWAV(t, work, "from-102", "Baresip answers the hushbox phone. Pack my box with five dozen liquor jugs, please.")
	talk := max(wavSeconds(t, speech101), wavSeconds(t, speech102)) + 1.5
	// baresip ends the call when its source ends: make it outlast the call.
	src102 = padWAV(t, src102, filepath.Join(work, "from-102-long.wav"), talk+10)

	p := startPBX(t, md5Only...)
	p.addExt("101", "phone-101-pw")
	p.addExt("102", "baresip-102-pw")
	ctrl := freePort(t)
	dir102 := baresipConfig(t, p, "102", "baresip-102-pw", src102, freeSIPPort(t), ctrl, freeUDPRange(t, 10))
	b := startBaresip(t, "102", dir102, ctrl)
	b.waitRegistered(15 * time.Second)

	rec101 := filepath.Join(work, "heard-101.wav")
	phone := startPhone(t, "101", p, phoneArgs("101", "phone-101-pw", "--dial", "102",
		"--audio", "wav:"+src101+","+rec101, "--data", filepath.Join(work, "id-101"),
		"--duration", strconv.FormatFloat(talk, 'f', 2, 64)+"s")...)
	line := phone.waitLine("scrambled", 20*time.Second)
	if !strings.Contains(line, "not scrambled") {
		t.Errorf("phone says %q, want \"not scrambled\" (baresip has no key share)", line)
	}
	b.waitEvent("CALL_ESTABLISHED", 15*time.Second)
	phone.wait(time.Duration(talk+30) * time.Second)
	b.waitEvent("CALL_CLOSED", 10*time.Second)
	_ = b.command("quit", "") // flushes the recording
	select {
	case <-b.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("baresip did not quit")
	}

	check := func(what, speech, rec string) {
		sig, err := readWAVMono16(speech)
		if err != nil {
			t.Fatalf("%s: %v", speech, err)
		}
		got, err := readWAVMono16(rec)
		if err != nil {
			t.Errorf("%s: %v", what, err)
			return
		}
		r, lag := bestNormXCorr(sig, got, 8000*3)
		t.Logf("%s: recording %.2f s, speech %.2f s, best lag %d samples, correlation %.4f",
			what, float64(len(got))/8000, float64(len(sig))/8000, lag, r)
		if r <= 0.9 {
			t.Errorf("%s: correlation %.4f at lag %d, want > 0.9", what, r, lag)
		}
	}
	recs, _ := filepath.Glob(filepath.Join(dir102, "dump-*-dec.wav"))
	if len(recs) != 1 {
		t.Fatalf("want one recording at baresip, found %v", recs)
	}
	check("phone -> baresip", speech101, recs[0])
	check("baresip -> phone", speech102, rec101)
	p.waitCDR("101", "102", "ANSWERED")
}
