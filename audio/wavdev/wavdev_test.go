package wavdev

import (
	"errors"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"hushbox/audio"
	"hushbox/audio/wav"
)

func writeWAV(t *testing.T, path string, rate int, s []int16) {
	t.Helper()
	if err := wav.WriteFile(path, wav.Audio{Rate: rate, Samples: s}); err != nil {
		t.Fatal(err)
	}
}

func ramp(n int) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(i%2000 - 1000)
	}
	return s
}

func TestParseSpec(t *testing.T) {
	tests := []struct {
		arg     string
		want    Options
		wantErr bool
	}{
		{"in.wav,out.wav", Options{In: "in.wav", Out: "out.wav", Paced: true}, false},
		{"in.wav", Options{In: "in.wav", Paced: true}, false},
		{",out.wav", Options{Out: "out.wav", Paced: true}, false},
		{"in.wav,out.wav,fast", Options{In: "in.wav", Out: "out.wav"}, false},
		{" in.wav , out.wav ", Options{In: "in.wav", Out: "out.wav", Paced: true}, false},
		{"", Options{}, true},
		{",", Options{}, true},
		{"a,b,slow", Options{}, true},
		{"a,b,fast,x", Options{}, true},
	}
	for _, tt := range tests {
		got, err := ParseSpec(tt.arg)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseSpec(%q) error = %v, wantErr %v", tt.arg, err, tt.wantErr)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseSpec(%q) = %+v, want %+v", tt.arg, got, tt.want)
		}
	}
}

// TestCaptureAndRecord: what is read is IN.wav frame by frame (the last
// frame padded with silence, then io.EOF), and what is written ends up in
// OUT.wav after Close.
func TestCaptureAndRecord(t *testing.T) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.wav"), filepath.Join(dir, "out.wav")
	src := ramp(3*audio.FrameLen + 50)
	writeWAV(t, in, 8000, src)

	d, err := audio.Open("wav:" + in + "," + out + ",fast")
	if err != nil {
		t.Fatal(err)
	}
	var got []int16
	buf := make([]int16, audio.FrameLen)
	for {
		err := d.ReadFrame(buf)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf...)
		if err := d.WriteFrame(buf); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 4*audio.FrameLen {
		t.Fatalf("captured %d samples, want %d (4 frames)", len(got), 4*audio.FrameLen)
	}
	if !slices.Equal(got[:len(src)], src) {
		t.Error("captured samples differ from in.wav")
	}
	for _, s := range got[len(src):] {
		if s != 0 {
			t.Fatal("last frame not padded with silence")
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	rec, err := wav.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Rate != 8000 || !slices.Equal(rec.Samples, got) {
		t.Errorf("out.wav: %d Hz, %d samples; want 8000 Hz and the %d samples written", rec.Rate, len(rec.Samples), len(got))
	}
	if err := d.ReadFrame(buf); !errors.Is(err, ErrClosed) {
		t.Errorf("read after close: %v, want ErrClosed", err)
	}
	if err := d.WriteFrame(buf); !errors.Is(err, ErrClosed) {
		t.Errorf("write after close: %v, want ErrClosed", err)
	}
}

func TestNoInputIsSilence(t *testing.T) {
	d, err := Open(Options{Out: filepath.Join(t.TempDir(), "o.wav")})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	buf := ramp(audio.FrameLen)
	for range 3 {
		if err := d.ReadFrame(buf); err != nil {
			t.Fatal(err)
		}
	}
	if slices.ContainsFunc(buf, func(s int16) bool { return s != 0 }) {
		t.Error("capture without input file is not silence")
	}
}

func TestRefusals(t *testing.T) {
	dir := t.TempDir()
	wide := filepath.Join(dir, "16k.wav")
	writeWAV(t, wide, 16000, ramp(1000))
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"wrong rate", Options{In: wide}, "16000 Hz"},
		{"missing input", Options{In: filepath.Join(dir, "nope.wav")}, "capture file"},
		{"unwritable output", Options{Out: filepath.Join(dir, "no", "dir", "o.wav")}, "playback file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open(%+v) = %v, want error mentioning %q", tt.opts, err, tt.want)
			}
		})
	}
	d, err := Open(Options{Out: filepath.Join(dir, "o.wav")})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.WriteFrame(make([]int16, 7)); err == nil {
		t.Error("short frame accepted")
	}
}

func TestRecordBounded(t *testing.T) {
	d, err := Open(Options{Out: filepath.Join(t.TempDir(), "o.wav")})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	d.max = 3 * audio.FrameLen
	for range 3 {
		if err := d.WriteFrame(make([]int16, audio.FrameLen)); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.WriteFrame(make([]int16, audio.FrameLen)); err != nil {
		t.Fatal(err)
	}
	if rec, dropped := d.Recorded(); len(rec) != 3*audio.FrameLen || dropped != 1 {
		t.Errorf("recorded %d samples, dropped %d frames; want the frame dropped", len(rec), dropped)
	}
}

// FuzzParseSpec: any spec string (it comes from the command line or a
// config file) parses or fails without panicking, and what parses names at
// least one file and no comma.
func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{"in.wav,out.wav", ",o.wav,fast", "a", ",,", "a,b,c,d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		o, err := ParseSpec(arg)
		if err != nil {
			return
		}
		if o.In == "" && o.Out == "" {
			t.Fatalf("ParseSpec(%q) = %+v: no file", arg, o)
		}
		if strings.Contains(o.In+o.Out, ",") {
			t.Fatalf("ParseSpec(%q) = %+v: comma in a name", arg, o)
		}
	})
}
