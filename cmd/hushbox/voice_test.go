package main

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hushbox/audio/wav"
)

// toneBursts is a simple test signal: 1 s of 8 kHz tone bursts at two
// pitches, peaking near -12 dBFS.
func toneBursts(seconds float64) []int16 {
	n := int(seconds * 8000)
	x := make([]int16, n)
	for i := range x {
		f := 440.0
		if (i/1600)%2 == 1 {
			f = 1300
		}
		env := math.Pow(math.Sin(math.Pi*float64(i%1600)/1600), 2)
		x[i] = int16(8000 * env * math.Sin(2*math.Pi*f*float64(i)/8000))
	}
	return x
}

func writeWAV(t *testing.T, path string, rate int, x []int16) {
	t.Helper()
	if err := wav.WriteFile(path, wav.Audio{Rate: rate, Samples: x}); err != nil {
		t.Fatal(err)
	}
}

func snr(x, y []int16) float64 {
	var s, e float64
	for i := range x {
		d := float64(x[i]) - float64(y[i])
		s += float64(x[i]) * float64(x[i])
		e += d * d
	}
	return 10 * math.Log10(s/e)
}

func TestScrambleDescrambleFiles(t *testing.T) {
	dir := t.TempDir()
	in, scr, out, wrong := filepath.Join(dir, "in.wav"), filepath.Join(dir, "s.wav"), filepath.Join(dir, "out.wav"), filepath.Join(dir, "wrong.wav")
	x := toneBursts(1.01) // not a whole number of frames: padded
	writeWAV(t, in, 8000, x)
	const key = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	var stdout bytes.Buffer
	if err := scrambleCmd([]string{"--key-hex", key, "--ssrc", "77", in, scr}, &stdout, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "scrambled 51 frames") {
		t.Errorf("output %q", stdout.String())
	}
	if err := scrambleCmd([]string{scr, out, "--key-hex", key, "--ssrc", "77"}, &stdout, true); err != nil {
		t.Fatal(err)
	}
	if err := scrambleCmd([]string{"--key-hex", strings.Repeat("ab", 32), "--ssrc", "77", scr, wrong}, &stdout, true); err != nil {
		t.Fatal(err)
	}
	read := func(p string) []int16 {
		a, err := wav.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if a.Rate != 8000 || len(a.Samples) != 51*160 {
			t.Fatalf("%s: %d Hz, %d samples, want 8000 Hz and 8160 (padded)", p, a.Rate, len(a.Samples))
		}
		return a.Samples[:len(x)]
	}
	if got := snr(x, read(out)); got < 60 {
		t.Errorf("descrambled file: SNR %.1f dB, want >= 60", got)
	}
	if got := snr(x, read(scr)); got > 1 {
		t.Errorf("scrambled file: SNR %.1f dB against the original, want noise", got)
	}
	if got := snr(x, read(wrong)); got > 1 {
		t.Errorf("wrong key: SNR %.1f dB, want noise", got)
	}
}

func TestVoiceCommandErrors(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.wav")
	writeWAV(t, in, 8000, toneBursts(1))
	hi := filepath.Join(dir, "hi.wav")
	writeWAV(t, hi, 16000, toneBursts(1))
	const key = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	tests := []struct {
		name  string
		run   func() error
		usage bool   // want a usageError
		msg   string // in the error
	}{
		{"scramble without key", func() error { return scrambleCmd([]string{in, filepath.Join(dir, "o.wav")}, &bytes.Buffer{}, false) }, true, "usage"},
		{"scramble short key", func() error {
			return scrambleCmd([]string{"--key-hex", "0011", in, filepath.Join(dir, "o.wav")}, &bytes.Buffer{}, false)
		}, true, "64 hex digits"},
		{"scramble 16-byte key", func() error {
			return scrambleCmd([]string{"--key-hex", key[:32], in, filepath.Join(dir, "o.wav")}, &bytes.Buffer{}, false)
		}, true, "hex digits"},
		{"scramble one file", func() error { return scrambleCmd([]string{"--key-hex", key, in}, &bytes.Buffer{}, false) }, true, "usage"},
		{"scramble bad frame size", func() error {
			return scrambleCmd([]string{"--key-hex", key, "--frame-size", "100", in, filepath.Join(dir, "o.wav")}, &bytes.Buffer{}, false)
		}, true, "frame size"},
		{"scramble 16 kHz", func() error {
			return scrambleCmd([]string{"--key-hex", key, hi, filepath.Join(dir, "o.wav")}, &bytes.Buffer{}, false)
		}, false, "sox"},
		{"scramble missing file", func() error {
			return scrambleCmd([]string{"--key-hex", key, filepath.Join(dir, "none.wav"), filepath.Join(dir, "o.wav")}, &bytes.Buffer{}, false)
		}, false, "none.wav"},
		{"voicetest no file", func() error { return voicetestCmd(nil, &bytes.Buffer{}) }, true, "usage"},
		{"voicetest bad loss", func() error { return voicetestCmd([]string{"--loss", "0,x", in}, &bytes.Buffer{}) }, true, "--loss"},
		{"voicetest bad conceal", func() error { return voicetestCmd([]string{"--conceal", "plc", in}, &bytes.Buffer{}) }, true, "concealment"},
		{"voicetest 16 kHz", func() error { return voicetestCmd([]string{hi}, &bytes.Buffer{}) }, false, "sox"},
	}
	for _, tt := range tests {
		err := tt.run()
		if err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		var ue usageError
		if errors.As(err, &ue) != tt.usage || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: error %q (usage error %v), want usage=%v containing %q", tt.name, err, errors.As(err, &ue), tt.usage, tt.msg)
		}
	}
}

func TestVoicetestCommand(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "speech.wav")
	writeWAV(t, in, 8000, toneBursts(2))
	var stdout bytes.Buffer
	if err := voicetestCmd([]string{"--loss", "0,5", in}, &stdout); err != nil {
		t.Fatal(err)
	}
	out := stdout.String()
	for _, want := range []string{"0 %", "5 %", "segSNR", "STOI scrambled", "noise control", "leak control", "figure.png"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, name := range []string{"original.png", "scrambled.png", "descrambled.png", "figure.png"} {
		if _, err := os.Stat(filepath.Join(dir, "speech-spectrograms", name)); err != nil {
			t.Error(err)
		}
	}
	stdout.Reset()
	if err := voicetestCmd([]string{"--markdown", "row", "--png-dir", "-", in}, &stdout); err != nil {
		t.Fatal(err)
	}
	if got := stdout.String(); !strings.HasPrefix(got, "| row | ") || strings.Count(got, "|") != 9 { // label, segSNR, 3 loss rates, 3 relay columns
		t.Errorf("markdown row %q, want 8 cells", got)
	}
}
