package board

import (
	"os"
	"path/filepath"
	"testing"
)

func TestParseModel(t *testing.T) {
	tests := []struct {
		model string
		want  Kind
	}{
		{"Raspberry Pi 2 Model B Rev 1.1\x00", RPi2},
		{"Raspberry Pi 2 Model B Rev 1.2", RPi2},
		{"Cubietech Cubieboard2\x00", Cubieboard2},
		{"Cubietech Cubietruck\x00", Cubietruck},
		{"linux,dummy-virt\x00", QEMU},
		{"QEMU ARM Virtual Machine\x00", QEMU},
		{"cubietech,cubietruck\x00allwinner,sun7i-a20\x00", Cubietruck},
		{"Raspberry Pi 3 Model B Rev 1.2\x00", Generic},
		{"Raspberry Pi 4 Model B Rev 1.4\x00", Generic},
		{"Cubietech Cubieboard\x00", Generic}, // the A10 Cubieboard 1
		{"", Generic},
		{"\x00\x00", Generic},
		{"  Cubietech Cubieboard2 \n", Cubieboard2},
	}
	for _, tc := range tests {
		if got := ParseModel(tc.model); got != tc.want {
			t.Errorf("ParseModel(%q) = %s, want %s", tc.model, got, tc.want)
		}
	}
}

func TestDetect(t *testing.T) {
	dir := t.TempDir()
	write := func(sub, name, content string) string {
		d := filepath.Join(dir, sub)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(d, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return filepath.Join(d, "model")
	}
	tests := []struct {
		name      string
		path      string
		want      Kind
		wantModel string
	}{
		{"pi", write("pi", "model", "Raspberry Pi 2 Model B Rev 1.1\x00"), RPi2, "Raspberry Pi 2 Model B Rev 1.1"},
		{"cubieboard2", write("cb2", "model", "Cubietech Cubieboard2\x00"), Cubieboard2, "Cubietech Cubieboard2"},
		{"cubietruck", write("ct", "model", "Cubietech Cubietruck\x00"), Cubietruck, "Cubietech Cubietruck"},
		{"qemu virt has only compatible", write("virt", "compatible", "linux,dummy-virt\x00"), QEMU, "linux,dummy-virt"},
		{"no device tree (a laptop)", filepath.Join(dir, "none", "model"), Generic, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, m := Detect(tc.path)
			if k != tc.want || m != tc.wantModel {
				t.Errorf("Detect = %s %q, want %s %q", k, m, tc.want, tc.wantModel)
			}
		})
	}
}

func TestProfiles(t *testing.T) {
	for _, k := range []Kind{RPi2, Cubieboard2, Cubietruck} {
		p := ProfileFor(k)
		if p.Kind != k || p.Hook == "" || p.Handoff == "" || p.Spare == "" || p.Green == "" || p.Red == "" {
			t.Errorf("%s profile incomplete: %+v", k, p)
		}
		seen := map[string]bool{}
		for _, pin := range []string{p.Hook, p.Handoff, p.Spare, p.Green, p.Red} {
			if seen[pin] {
				t.Errorf("%s profile uses %s twice", k, pin)
			}
			seen[pin] = true
		}
	}
	for _, k := range []Kind{QEMU, Generic, Kind("toaster")} {
		if p := ProfileFor(k); p.HasGPIO() {
			t.Errorf("%s profile names GPIO pins: %+v", k, p)
		}
	}
}
