package main

import (
	"bytes"
	"errors"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"hushbox/audio"
	"hushbox/audio/portaudio"
	"hushbox/audio/wav"
)

// vowelsWAV is the speech-like test signal of the audio packages (8 kHz).
var vowelsWAV = filepath.Join("..", "..", "audio", "portaudio", "testdata", "vowels.wav")

func readWAV(t *testing.T, path string) []int16 {
	t.Helper()
	a, err := wav.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if a.Rate != audio.SampleRate {
		t.Fatalf("%s: %d Hz", path, a.Rate)
	}
	return a.Samples
}

// TestAudioTestWAV: `hushbox audio test` with the WAV backend as the
// "sound card" (its capture plays the same file): the recording is the
// file, the device recorded the playback, and the loopback is found at
// zero delay.
func TestAudioTestWAV(t *testing.T) {
	dir := t.TempDir()
	played, capture := filepath.Join(dir, "played.wav"), filepath.Join(dir, "capture.wav")
	var out bytes.Buffer
	err := run([]string{"audio", "test", "--audio", "wav:" + vowelsWAV + "," + played + ",fast",
		"--in", vowelsWAV, "--out", capture}, &out, &out)
	if err != nil {
		t.Fatalf("audio test: %v\n%s", err, out.String())
	}
	t.Log(out.String())
	src := readWAV(t, vowelsWAV)
	rec := readWAV(t, capture)
	if !slices.Equal(rec[:len(src)], src) {
		t.Error("capture.wav is not the device's capture file")
	}
	if got := readWAV(t, played); !slices.Equal(got[:len(src)], src) {
		t.Error("the device did not record what was played")
	}
	for _, want := range []string{"loopback: capture follows playback by 0.0 ms (correlation 1.000)", "capture level: -"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

// TestAudioTestNull: the null device records silence and finds no loopback.
func TestAudioTestNull(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"audio", "test", "--audio", "null:fast", "--seconds", "0.5"}, &out, &out); err != nil {
		t.Fatalf("audio test: %v", err)
	}
	for _, want := range []string{"recorded: 25 frames", "capture level: -120.0 dBFS RMS", "capture does not follow playback"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestAudioUsageErrors(t *testing.T) {
	tests := [][]string{
		{"audio"},
		{"audio", "play"},
		{"audio", "test", "--seconds", "-1"},
		{"audio", "test", "--tone", "5000"},
		{"audio", "test", "extra"},
		{"audio", "list", "extra"},
	}
	for _, args := range tests {
		var out bytes.Buffer
		err := run(args, &out, &out)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("%v: error %v, want a usage error", args, err)
		}
	}
}

// TestAudioOpenErrors: a backend missing from the build is ErrNoDevice
// (with a hint); a bad WAV file is a plain error naming the problem.
func TestAudioOpenErrors(t *testing.T) {
	var out bytes.Buffer
	err := run([]string{"audio", "test", "--audio", "alsa"}, &out, &out)
	if !errors.Is(err, audio.ErrNoDevice) || !strings.Contains(err.Error(), "--audio null") {
		t.Errorf("unknown backend: %v, want ErrNoDevice with a hint", err)
	}
	err = run([]string{"audio", "test", "--audio", "wav:/nonexistent/in.wav"}, &out, &out)
	if err == nil || errors.Is(err, audio.ErrNoDevice) || !strings.Contains(err.Error(), "capture file") {
		t.Errorf("missing WAV: %v", err)
	}
}

// TestAudioList: without PortAudio the list says so; with it, it prints
// the table (the devices depend on the machine).
func TestAudioList(t *testing.T) {
	var out bytes.Buffer
	err := run([]string{"audio", "list"}, &out, &out)
	if !portaudio.Available {
		if err != nil || !strings.Contains(out.String(), "no PortAudio in this build") {
			t.Errorf("audio list = %v, %q; want \"no PortAudio in this build\"", err, out.String())
		}
		return
	}
	if err == nil && !strings.Contains(out.String(), "BACKEND") && !strings.Contains(out.String(), "no devices") {
		t.Errorf("audio list printed %q", out.String())
	}
}

func TestBestLag(t *testing.T) {
	x := make([]int16, 2000)
	for i := range x {
		x[i] = int16(5000 * math.Sin(float64(i)*0.37) * math.Sin(float64(i)*0.011))
	}
	delayed := append(make([]int16, 123), x...)
	tests := []struct {
		name     string
		y        []int16
		wantLag  int
		minCorr  float64
		maxCorr  float64
		checkLag bool
	}{
		{"same", x, 0, 0.999, 1.001, true},
		{"delayed 123", delayed, 123, 0.999, 1.001, true},
		{"silence", make([]int16, 2000), 0, -0.001, 0.001, false},
	}
	for _, tt := range tests {
		lag, corr := bestLag(x, tt.y, 400)
		if (tt.checkLag && lag != tt.wantLag) || corr < tt.minCorr || corr > tt.maxCorr {
			t.Errorf("%s: lag %d corr %.4f, want lag %d corr in [%.3f, %.3f]", tt.name, lag, corr, tt.wantLag, tt.minCorr, tt.maxCorr)
		}
	}
}

func TestLevelDBFS(t *testing.T) {
	full := make([]int16, 8000)
	for i := range full {
		full[i] = int16(32767 * math.Sin(2*math.Pi*float64(i)/80))
	}
	tests := []struct {
		name      string
		x         []int16
		rms, peak float64
		tolerance float64
	}{
		{"silence", make([]int16, 100), -120, -120, 0},
		{"empty", nil, -120, -120, 0},
		{"full-scale sine", full, -3.01, 0, 0.05},
	}
	for _, tt := range tests {
		rms, peak := levelDBFS(tt.x)
		if math.Abs(rms-tt.rms) > tt.tolerance || math.Abs(peak-tt.peak) > tt.tolerance {
			t.Errorf("%s: %.2f/%.2f dBFS, want %.2f/%.2f", tt.name, rms, peak, tt.rms, tt.peak)
		}
	}
}
