// Package audio is the sound device seen by the phone endpoint: capture and
// playback of 8 kHz mono 16-bit PCM in 20 ms frames. Backends: PortAudio
// (cgo, build tag "portaudio", the board's handset or a USB headset), WAV
// files and null (tests and the cloud build). Codecs, jitter buffer and
// concealment live in the subpackages.
package audio

import (
	"errors"
	"io"
)

// Format of every Device: telephone-band PCM.
const (
	SampleRate  = 8000 // Hz
	FrameMillis = 20   // one RTP packet of G.711
	FrameLen    = SampleRate * FrameMillis / 1000
)

// ErrNoDevice is returned when a backend has no usable device (no sound
// card, no PortAudio in this build): callers degrade to the null device.
var ErrNoDevice = errors.New("audio: no such device")

// Device is an open capture/playback pair. ReadFrame blocks until the next
// 20 ms of capture is available and fills exactly FrameLen samples;
// WriteFrame queues exactly FrameLen samples for playback and may block to
// pace the caller. Both are called from one goroutine each. ReadFrame
// returns io.EOF when a finite source (a WAV file) is exhausted.
type Device interface {
	ReadFrame(dst []int16) error
	WriteFrame(src []int16) error
	io.Closer
}

// Info describes a device a backend can open, for `hushbox audio list`.
type Info struct {
	Name       string `json:"name"`
	Backend    string `json:"backend"`
	MaxInputs  int    `json:"max_inputs"`
	MaxOutputs int    `json:"max_outputs"`
	Default    bool   `json:"default"`
}
