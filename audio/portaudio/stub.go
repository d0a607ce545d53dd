//go:build !portaudio

package portaudio

import (
	"fmt"

	"hushbox/audio"
)

// Available reports whether this build has PortAudio (build tag "portaudio").
const Available = false

var errNotBuilt = fmt.Errorf("portaudio: not in this build (build with -tags portaudio): %w", audio.ErrNoDevice)

// Open returns an error wrapping audio.ErrNoDevice: no PortAudio in this build.
func Open(name string) (audio.Device, error) { return nil, errNotBuilt }

// List returns an error wrapping audio.ErrNoDevice: no PortAudio in this build.
func List() ([]audio.Info, error) { return nil, errNotBuilt }

// Version names the PortAudio library linked in, "" without one.
func Version() string { return "" }
