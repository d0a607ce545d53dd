package audio

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Backend is one kind of Device (null, WAV files, PortAudio) as seen by
// Open: it opens a Device from the argument part of a spec and lists the
// devices it can open.
type Backend struct {
	// Name is the spec prefix: "null", "wav", "portaudio".
	Name string
	// Open opens a device; arg is what followed "NAME:" in the spec ("" when
	// the spec was the bare name).
	Open func(arg string) (Device, error)
	// List reports the devices of this backend; nil means "one device, the
	// spec itself" and the backend is left out of List.
	List func() ([]Info, error)
}

var (
	regMu    sync.RWMutex
	backends = map[string]Backend{}
)

// Register makes a backend available to Open. Backends register from an
// init function, so a binary has exactly the backends it imports: the null
// and WAV backends always, PortAudio only in the build tagged "portaudio"
// (import hushbox/audio/nulldev, hushbox/audio/wavdev and
// hushbox/audio/portaudio for their side effect; cmd/hushbox does).
// Registering a name twice panics: that is a programming error at start-up.
func Register(b Backend) {
	if b.Name == "" || b.Open == nil || strings.ContainsAny(b.Name, ":,") {
		panic(fmt.Sprintf("audio: bad backend registration %q", b.Name))
	}
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := backends[b.Name]; dup {
		panic(fmt.Sprintf("audio: backend %q registered twice", b.Name))
	}
	backends[b.Name] = b
}

// Backends returns the names of the registered backends, sorted.
func Backends() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	names := make([]string, 0, len(backends))
	for n := range backends {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ParseSpec splits a device spec "NAME" or "NAME:ARG" into the backend name
// and its argument. Spaces around either are trimmed.
func ParseSpec(spec string) (name, arg string) {
	name, arg, _ = strings.Cut(spec, ":")
	return strings.TrimSpace(name), strings.TrimSpace(arg)
}

// Open opens the device a spec names:
//
//	null                  silence in, playback discarded, paced in real time
//	null:fast             the same without pacing (tests)
//	wav:IN.wav,OUT.wav    capture from IN (8 kHz mono 16-bit), playback recorded to OUT
//	portaudio             the default PortAudio input and output devices
//	portaudio:NAME        the PortAudio device whose name contains NAME
//
// A backend that is not in this build (portaudio without the build tag)
// gives an error wrapping ErrNoDevice, so callers can fall back to null.
func Open(spec string) (Device, error) {
	name, arg := ParseSpec(spec)
	if name == "" {
		return nil, fmt.Errorf("audio: empty device spec")
	}
	regMu.RLock()
	b, ok := backends[name]
	regMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("audio: backend %q not in this build (have %s): %w",
			name, strings.Join(Backends(), ", "), ErrNoDevice)
	}
	d, err := b.Open(arg)
	if err != nil {
		return nil, fmt.Errorf("audio: open %q: %w", spec, err)
	}
	return d, nil
}

// List returns the devices of every registered backend that can enumerate
// devices (PortAudio). Backends that fail are reported in the error while
// the devices of the others are still returned.
func List() ([]Info, error) {
	regMu.RLock()
	bs := make([]Backend, 0, len(backends))
	for _, b := range backends {
		bs = append(bs, b)
	}
	regMu.RUnlock()
	sort.Slice(bs, func(i, j int) bool { return bs[i].Name < bs[j].Name })
	var (
		out  []Info
		errs []string
	)
	for _, b := range bs {
		if b.List == nil {
			continue
		}
		infos, err := b.List()
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", b.Name, err))
			continue
		}
		out = append(out, infos...)
	}
	if len(errs) > 0 {
		return out, fmt.Errorf("audio: list: %s", strings.Join(errs, "; "))
	}
	return out, nil
}
