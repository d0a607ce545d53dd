//go:build portaudio

package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// TestAudioPortAudioALSAFile: `hushbox audio list` and `hushbox audio test
// --audio portaudio` on PortAudio -> ALSA without a sound card. ALSA's file
// plugin (audio/portaudio/testdata/asound.conf.in, via ALSA_CONFIG_PATH)
// makes the default pcm capture the speech-like test file and write what is
// played to a raw file: the command's recording must correlate with the
// speech, and so must what it played.
func TestAudioPortAudioALSAFile(t *testing.T) {
	dir := t.TempDir()
	src := readWAV(t, vowelsWAV)
	card := newALSAFile(t, src)

	var out bytes.Buffer
	if err := run([]string{"audio", "list"}, &out, &out); err != nil {
		t.Fatalf("audio list: %v\n%s", err, out.String())
	}
	t.Logf("audio list:\n%s", out.String())
	if !strings.Contains(out.String(), "PortAudio") || !strings.Contains(out.String(), "default") {
		t.Errorf("audio list does not show PortAudio's default device:\n%s", out.String())
	}

	out.Reset()
	capture := filepath.Join(dir, "capture.wav")
	// Record a little less than the infile holds: at its end ALSA's file
	// plugin returns silence.
	if err := run([]string{"audio", "test", "--audio", "portaudio", "--in", vowelsWAV, "--out", capture,
		"--seconds", "2.8"}, &out, &out); err != nil {
		t.Fatalf("audio test: %v\n%s", err, out.String())
	}
	t.Logf("audio test:\n%s", out.String())
	for _, want := range []string{"device: capture \"default\" 8000 Hz", "stream latency: capture", "capture written to"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	rec := readWAV(t, capture)
	if lag, c := bestLag(src[:len(rec)], rec, 800); c < 0.95 {
		t.Errorf("recording correlates %.3f (lag %d) with the speech ALSA captured, want > 0.95", c, lag)
	}
	played := card.played(t)
	if lag, c := bestLag(src[:min(len(src), len(played))], played, 800); c < 0.95 {
		t.Errorf("ALSA's output file correlates %.3f (lag %d) with the speech played, want > 0.95", c, lag)
	}
}
