package board

import (
	"os"
	"path/filepath"
	"strings"
)

// ModelPath is where Linux exposes the device tree's model string.
const ModelPath = "/proc/device-tree/model"

// Kind is a board hushbox knows.
type Kind string

// The boards. Generic is anything else: no GPIO is assumed.
const (
	RPi2        Kind = "rpi2"
	Cubieboard2 Kind = "cubieboard2"
	Cubietruck  Kind = "cubietruck"
	QEMU        Kind = "qemu"
	Generic     Kind = "generic"
)

// ParseModel maps a device-tree model (or compatible) string to a Kind. The
// kernel's strings end in a NUL, which is ignored, as is surrounding space.
func ParseModel(model string) Kind {
	// compatible is a NUL-separated list; model is one string. Look at
	// each entry.
	for _, m := range strings.Split(model, "\x00") {
		m = strings.TrimSpace(m)
		switch {
		case m == "":
			continue
		case strings.HasPrefix(m, "Raspberry Pi 2 Model B"):
			return RPi2
		case strings.HasPrefix(m, "Cubietech Cubieboard2"), m == "cubietech,cubieboard2":
			return Cubieboard2
		case strings.HasPrefix(m, "Cubietech Cubietruck"), m == "cubietech,cubietruck":
			return Cubietruck
		case m == "linux,dummy-virt", strings.Contains(strings.ToLower(m), "qemu"):
			return QEMU
		}
	}
	return Generic
}

// Detect reads the device tree's model at modelPath (ModelPath on the
// appliance; tests pass their own file) and, when that file is missing, the
// compatible file beside it (qemu's virt machine has only compatible). It
// returns the Kind and the model string read (empty if none). A missing or
// unreadable device tree is Generic, never an error: a laptop has none.
func Detect(modelPath string) (Kind, string) {
	b, err := os.ReadFile(modelPath)
	if err != nil {
		b, err = os.ReadFile(filepath.Join(filepath.Dir(modelPath), "compatible"))
		if err != nil {
			return Generic, ""
		}
	}
	model := strings.TrimRight(string(b), "\x00\n ")
	return ParseModel(model), model
}
