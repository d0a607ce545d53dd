package audio_test

import (
	"errors"
	"strings"
	"testing"

	"hushbox/audio"
	_ "hushbox/audio/nulldev"
	_ "hushbox/audio/portaudio"
	_ "hushbox/audio/wavdev"
)

func TestParseSpec(t *testing.T) {
	tests := []struct{ spec, name, arg string }{
		{"null", "null", ""},
		{"wav:a.wav,b.wav", "wav", "a.wav,b.wav"},
		{"portaudio:USB Headset: Audio (hw:1,0)", "portaudio", "USB Headset: Audio (hw:1,0)"},
		{" portaudio : x ", "portaudio", "x"},
		{"", "", ""},
	}
	for _, tt := range tests {
		name, arg := audio.ParseSpec(tt.spec)
		if name != tt.name || arg != tt.arg {
			t.Errorf("ParseSpec(%q) = %q, %q; want %q, %q", tt.spec, name, arg, tt.name, tt.arg)
		}
	}
}

func TestOpen(t *testing.T) {
	tests := []struct {
		spec     string
		ok       bool
		noDevice bool // error wraps ErrNoDevice: fall back to null
	}{
		{"null", true, false},
		{"null:fast", true, false},
		{"null:bogus", false, false},
		{"wav:,/nonexistent-dir/x.wav", false, false},
		{"", false, false},
		{"oss", false, true},
	}
	for _, tt := range tests {
		d, err := audio.Open(tt.spec)
		if tt.ok {
			if err != nil {
				t.Errorf("Open(%q): %v", tt.spec, err)
			} else {
				d.Close()
			}
			continue
		}
		if err == nil {
			d.Close()
			t.Errorf("Open(%q) succeeded, want error", tt.spec)
			continue
		}
		if errors.Is(err, audio.ErrNoDevice) != tt.noDevice {
			t.Errorf("Open(%q) = %v; ErrNoDevice %v, want %v", tt.spec, err, !tt.noDevice, tt.noDevice)
		}
	}
}

func TestBackendsAndList(t *testing.T) {
	got := strings.Join(audio.Backends(), ",")
	if !strings.Contains(got, "null") || !strings.Contains(got, "wav") {
		t.Errorf("Backends() = %s, want null and wav", got)
	}
	if strings.Contains(got, "portaudio") {
		return // List depends on this machine's ALSA: audio/portaudio tests it
	}
	if infos, err := audio.List(); err != nil || len(infos) != 0 {
		t.Errorf("List without PortAudio = %v, %v; want no devices, no error", infos, err)
	}
}

func TestRegisterRefusesDuplicatesAndBadNames(t *testing.T) {
	for _, b := range []audio.Backend{
		{Name: "null", Open: func(string) (audio.Device, error) { return nil, nil }},
		{Name: "a:b", Open: func(string) (audio.Device, error) { return nil, nil }},
		{Name: "nil-open"},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%q) did not panic", b.Name)
				}
			}()
			audio.Register(b)
		}()
	}
}
