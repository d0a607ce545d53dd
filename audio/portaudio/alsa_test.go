//go:build portaudio

package portaudio

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"hushbox/audio"
)

// alsaFileConfig writes an ALSA configuration whose default pcm captures
// from the raw file in and records playback to the raw file out, and
// points ALSA_CONFIG_PATH at it for the rest of the test (alsa-lib re-reads
// its configuration when Pa_Initialize finds other files named there).
func alsaFileConfig(t *testing.T, dir string, in []int16) (out string) {
	t.Helper()
	inPath := filepath.Join(dir, "in.raw")
	out = filepath.Join(dir, "out.raw")
	writeRaw(t, inPath, in)
	tmpl, err := os.ReadFile(filepath.Join("testdata", "asound.conf.in"))
	if err != nil {
		t.Fatal(err)
	}
	conf := strings.NewReplacer("@IN@", inPath, "@OUT@", out, "@CAPLOG@", filepath.Join(dir, "captured.raw")).Replace(string(tmpl))
	confPath := filepath.Join(dir, "asound.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ALSA_CONFIG_PATH", confPath)
	return out
}

// interleave repeats each sample for every channel.
func interleave(x []int16, channels int) []int16 {
	y := make([]int16, 0, len(x)*channels)
	for _, s := range x {
		for range channels {
			y = append(y, s)
		}
	}
	return y
}

func deinterleave(x []int16) (left, right []int16) {
	for i := 0; i+1 < len(x); i += 2 {
		left, right = append(left, x[i]), append(right, x[i+1])
	}
	return left, right
}

func writeRaw(t *testing.T, path string, s []int16) {
	t.Helper()
	b := make([]byte, 2*len(s))
	for i, v := range s {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readRaw(t *testing.T, path string) []int16 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := make([]int16, len(b)/2)
	for i := range s {
		s[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return s
}

// bestCorr is the highest normalised correlation of y[i+d] with x[i] for
// d in [0, maxLag], and that d.
func bestCorr(x, y []int16, maxLag int) (float64, int) {
	best, at := -1.0, 0
	for d := 0; d <= maxLag && d < len(y); d++ {
		n := min(len(x), len(y)-d)
		var sxy, sxx, syy float64
		for i := range n {
			a, b := float64(x[i]), float64(y[i+d])
			sxy, sxx, syy = sxy+a*b, sxx+a*a, syy+b*b
		}
		if sxx > 0 && syy > 0 && sxy/math.Sqrt(sxx*syy) > best {
			best, at = sxy/math.Sqrt(sxx*syy), d
		}
	}
	return best, at
}

// TestALSAFilePlugin drives the real PortAudio/ALSA stack without a sound
// card, at 8 kHz and with the card forced to 48 kHz and 44.1 kHz (the
// resampling path of USB headsets): what PortAudio captures is the speech in
// the ALSA infile, and what is played ends up in the ALSA output file.
func TestALSAFilePlugin(t *testing.T) {
	src := vowels(2*8000, 8000)
	dir := t.TempDir()
	// One configuration for the process; its infile holds the speech at
	// each rate the subtests open the card at, one after the other.
	cases := []struct {
		rate, channels int
		minCo          float64
	}{{8000, 1, 0.999}, {48000, 1, 0.98}, {44100, 1, 0.98}, {48000, 2, 0.98}}
	outPath := alsaFileConfig(t, dir, nil)
	for _, c := range cases {
		t.Run(strconv.Itoa(c.rate)+"x"+strconv.Itoa(c.channels), func(t *testing.T) {
			defer func(r, ch []int) { rates, channelCounts = r, ch }(rates, channelCounts)
			rates, channelCounts = []int{c.rate}, []int{c.channels}
			// The file plugin opens both files when the pcm is opened.
			writeRaw(t, filepath.Join(dir, "in.raw"), interleave(vowels(2*c.rate, c.rate), c.channels))
			os.Remove(outPath)
			dev, err := Open("")
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			d := dev.(*Device)
			t.Logf("%s", d.Format())
			if d.in.rate != c.rate || d.out.rate != c.rate || d.in.channels != c.channels || d.out.channels != c.channels {
				t.Fatalf("opened %s, want %d Hz x%d", d.Format(), c.rate, c.channels)
			}
			frames := len(src)/audio.FrameLen - 5 // stay inside this rate's part of the infile
			var rec []int16
			buf := make([]int16, audio.FrameLen)
			for f := range frames {
				if err := dev.WriteFrame(src[f*audio.FrameLen : (f+1)*audio.FrameLen]); err != nil {
					t.Fatalf("WriteFrame %d: %v", f, err)
				}
				if err := dev.ReadFrame(buf); err != nil {
					t.Fatalf("ReadFrame %d: %v", f, err)
				}
				rec = append(rec, buf...)
			}
			if err := dev.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if err := dev.WriteFrame(buf); !errors.Is(err, ErrClosed) {
				t.Errorf("write after close: %v, want ErrClosed", err)
			}
			// Capture: the speech in the infile, at 8 kHz.
			want := vowels(2*8000, 8000)
			co, lag := bestCorr(want, rec, 800)
			t.Logf("capture: correlation %.4f at %d samples", co, lag)
			if co < c.minCo {
				t.Errorf("capture correlates %.4f with the infile speech, want >= %.3f", co, c.minCo)
			}
			// Playback: the file plugin wrote the device-rate stream.
			played := readRaw(t, outPath)
			if c.channels == 2 {
				left, right := deinterleave(played)
				if !slices.Equal(left, right) {
					t.Error("stereo playback: channels differ")
				}
				played = left
			}
			ref := vowels(2*c.rate, c.rate)
			co, lag = bestCorr(ref[:len(ref)/2], played, c.rate/100)
			t.Logf("playback: %d samples, correlation %.4f at %d samples", len(played), co, lag)
			if co < c.minCo {
				t.Errorf("playback correlates %.4f with the source, want >= %.3f", co, c.minCo)
			}
		})
	}
}

// TestPickByName: "portaudio:NAME" finds the device by exact name or by a
// unique part of it; an unknown name is ErrNoDevice. (Same ALSA
// configuration as above: its only pcm is "default".)
func TestPickByName(t *testing.T) {
	alsaFileConfig(t, t.TempDir(), vowels(8000, 8000))
	infos, err := List()
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	var names []string
	for _, in := range infos {
		names = append(names, in.Name)
	}
	if !slices.Contains(names, "default") {
		t.Fatalf("List = %q, want the default pcm", names)
	}
	for _, name := range []string{"default", "DEFAULT", "faul"} {
		d, err := audio.Open("portaudio:" + name)
		if err != nil {
			t.Errorf("open portaudio:%s: %v", name, err)
			continue
		}
		d.Close()
	}
	if _, err := audio.Open("portaudio:no such card"); !errors.Is(err, audio.ErrNoDevice) {
		t.Errorf("unknown device: %v, want ErrNoDevice", err)
	}
}

// TestApplianceConfig: the ALSA configuration the appliance ships
// (rootfs/alsa: alsa.conf loading asound.conf) is accepted by alsa-lib and
// PortAudio; on a machine without a sound card the phone's device is
// ErrNoDevice (the endpoint then falls back to null), not a crash.
func TestApplianceConfig(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join("..", "..", "rootfs", "alsa")
	asound, err := filepath.Abs(filepath.Join(root, "asound.conf"))
	if err != nil {
		t.Fatal(err)
	}
	top, err := os.ReadFile(filepath.Join(root, "alsa.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(top), `"/etc/asound.conf"`) {
		t.Fatal("alsa.conf does not load /etc/asound.conf")
	}
	conf := filepath.Join(dir, "alsa.conf")
	if err := os.WriteFile(conf, []byte(strings.ReplaceAll(string(top), `"/etc/asound.conf"`, strconv.Quote(asound))), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ALSA_CONFIG_PATH", conf)
	if _, err := List(); err != nil {
		t.Fatalf("List with the appliance configuration: %v", err)
	}
	if _, err := os.Stat("/proc/asound/card0"); err == nil {
		t.Skip("this machine has a sound card: not checking the no-card fallback")
	}
	d, err := Open("")
	if err == nil {
		d.Close()
		t.Fatal("opened the default device without a sound card")
	}
	if !errors.Is(err, audio.ErrNoDevice) {
		t.Errorf("Open without a card: %v, want ErrNoDevice", err)
	}
}
