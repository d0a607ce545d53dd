//go:build portaudio

package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestPhonePortAudioCall is the board's handset in a real call, without a
// sound card: `hushbox phone --audio portaudio` (101) on PortAudio -> ALSA,
// whose default pcm is the `file` plugin (audio/portaudio/testdata/
// asound.conf.in via ALSA_CONFIG_PATH) reading espeak-ng speech as the
// microphone and writing what is played to a raw file, calls a WAV phone
// (102) through a hushbox daemon; the call is scrambled end to end. As a
// user would check: both phones show the same SAS, 102's recording is
// 101's speech, and what the handset played is 102's speech. `make
// audio-check` runs it for the amd64 build, `make arm-check` for the ARMv7
// build under qemu-arm-static.
func TestPhonePortAudioCall(t *testing.T) {
	dir := t.TempDir()
	speech101 := speechFile(t, dir, "from-101", "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background.")
	speech102 := speechFile(t, dir, "from-102", "Rice is often served in round bowls. The juice of lemons makes fine punch.")
	src101, src102 := readWAV(t, speech101), readWAV(t, speech102)

	// The handset: ALSA's file plugin captures 101's speech.
	handset := newALSAFile(t, src101)

	box, _, boxOut := startBox(t, "41100-41139")
	m := regexp.MustCompile(`SIP on udp\+tcp (\S+) `).FindStringSubmatch(boxOut.String())
	if m == nil {
		t.Fatalf("no SIP address:\n%s", boxOut.String())
	}
	sip := m[1]
	for _, ext := range []string{"101", "102"} {
		if out, err := runCLI(t, "ext", "add", ext, "--password", "pa-phone-"+ext, "--data", box); err != nil {
			t.Fatalf("ext add %s: %v\n%s", ext, err, out)
		}
	}

	rec102 := filepath.Join(dir, "heard-102.wav")
	phone := func(out *lockedBuffer, args ...string) <-chan error {
		done := make(chan error, 1)
		go func() { done <- run(append([]string{"phone", "--server", sip}, args...), out, out) }()
		return done
	}
	out102 := &lockedBuffer{}
	done102 := phone(out102, "--user", "102", "--password", "pa-phone-102", "--answer",
		"--audio", "wav:"+speech102+","+rec102, "--data", filepath.Join(dir, "id-102"))
	waitOutput(t, out102, done102, "phone: registered", 30*time.Second)

	talk := float64(len(src101))/8000 + 1
	out101 := &lockedBuffer{}
	done101 := phone(out101, "--user", "101", "--password", "pa-phone-101", "--dial", "102",
		"--audio", "portaudio", "--data", filepath.Join(dir, "id-101"),
		"--duration", strconv.FormatFloat(talk, 'f', 2, 64)+"s")
	for name, d := range map[string]<-chan error{"101": done101, "102": done102} {
		out := map[string]*lockedBuffer{"101": out101, "102": out102}[name]
		select {
		case err := <-d:
			if err != nil {
				t.Fatalf("phone %s: %v\n%s", name, err, out.String())
			}
		case <-time.After(time.Duration(talk*1000)*time.Millisecond + 90*time.Second):
			t.Fatalf("phone %s did not finish its call:\n%s", name, out.String())
		}
	}
	t.Logf("phone 101 (PortAudio):\n%s", out101.String())
	t.Logf("phone 102 (WAV):\n%s", out102.String())

	sas := regexp.MustCompile(`scrambled SAS=(\S+)`)
	s101, s102 := sas.FindStringSubmatch(out101.String()), sas.FindStringSubmatch(out102.String())
	if s101 == nil || s102 == nil || s101[1] != s102[1] {
		t.Errorf("SAS: 101 %v, 102 %v: want both scrambled with the same SAS", s101, s102)
	}

	heard := readWAV(t, rec102)
	checkHeard(t, "102's recording (WAV)", src101, heard)
	played := handset.played(t)
	checkHeard(t, "101's earpiece (PortAudio, ALSA's output file)", src102, played)
}

// checkHeard says whether got is the speech src as a listener hears it:
// each half second of src that holds speech is looked for in got on its
// own, since a jitter buffer that grows under load shifts the rest of a
// call (by 20 ms steps) without hurting what anyone hears. The median half
// second must correlate > 0.95, and all but one > 0.9 (one concealed loss,
// typically as the call's media starts, is allowed).
func checkHeard(t *testing.T, what string, src, got []int16) {
	t.Helper()
	const win, maxLag = 4000, 6000
	var cs []float64
	good := 0
	for at := 0; at+win <= len(src); at += win {
		w := src[at : at+win]
		var e float64
		for _, v := range w {
			e += float64(v) * float64(v)
		}
		if e/win < 500*500 { // below about -36 dBFS: a pause
			continue
		}
		if at >= len(got) {
			cs = append(cs, 0)
			continue
		}
		_, c := bestLag(w, got[at:], maxLag)
		cs = append(cs, c)
		if c > 0.9 {
			good++
		}
	}
	if len(cs) == 0 {
		t.Fatalf("%s: the source holds no speech", what)
	}
	sorted := slices.Clone(cs)
	slices.Sort(sorted)
	median := sorted[len(sorted)/2]
	t.Logf("%s: %.2f s; per half second of speech correlation %.3f (median %.3f)", what, float64(len(got))/8000, cs, median)
	if median <= 0.95 || good < len(cs)-1 {
		t.Errorf("%s is not the speech sent: per half second correlation %.3f, want median > 0.95 and all but one > 0.9", what, cs)
	}
}

// waitOutput waits until out holds want, failing when done reports first.
func waitOutput(t *testing.T, out *lockedBuffer, done <-chan error, want string, limit time.Duration) {
	t.Helper()
	deadline := time.After(limit)
	for !strings.Contains(out.String(), want) {
		select {
		case err := <-done:
			t.Fatalf("stopped before %q: %v\n%s", want, err, out.String())
		case <-deadline:
			t.Fatalf("no %q after %v:\n%s", want, limit, out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// speechFile is espeak-ng speaking text, at 8 kHz mono 16-bit (sox), with
// a quarter second of silence before and after.
func speechFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	espeak, sox := tool(t, "espeak-ng"), tool(t, "sox")
	raw, out := filepath.Join(dir, name+"-espeak.wav"), filepath.Join(dir, name+".wav")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if b, err := exec.CommandContext(ctx, espeak, "-w", raw, text).CombinedOutput(); err != nil {
		t.Fatalf("espeak-ng: %v\n%s", err, b)
	}
	if b, err := exec.CommandContext(ctx, sox, raw, "-r", "8000", "-c", "1", "-b", "16", out, "pad", "0.25", "0.25").CombinedOutput(); err != nil {
		t.Fatalf("sox: %v\n%s", err, b)
	}
	return out
}

// tool finds an external program; without it the test is skipped, except
// in CI (CI=true), where it fails.
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is needed (CI=true): %v", name, errors.Unwrap(err))
	}
	t.Skipf("%s not installed", name)
	return ""
}
