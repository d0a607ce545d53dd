// Package nulldev is the audio device of a box without a sound card (the
// cloud build, tests): capture is silence, playback is discarded. By
// default it is paced like a sound card (one frame per 20 ms in each
// direction) so a phone endpoint sends RTP at the right rate; unpaced it
// runs as fast as the caller (tests).
//
// Spec: "null" (paced) or "null:fast" (unpaced).
package nulldev

import (
	"errors"
	"fmt"
	"sync/atomic"

	"hushbox/audio"
)

func init() {
	audio.Register(audio.Backend{Name: "null", Open: open})
}

// open parses the argument of a "null" spec.
func open(arg string) (audio.Device, error) {
	switch arg {
	case "":
		return New(true), nil
	case "fast":
		return New(false), nil
	}
	return nil, fmt.Errorf("null: unknown option %q (want \"fast\" or nothing)", arg)
}

// ErrClosed is returned by ReadFrame and WriteFrame after Close.
var ErrClosed = errors.New("nulldev: device closed")

// Device is the null device.
type Device struct {
	paced         bool
	rpace, wpace  audio.Pacer
	closed        atomic.Bool
	read, written atomic.Int64 // frames, for tests and statistics
}

// New returns a null device, paced in real time or not.
func New(paced bool) *Device { return &Device{paced: paced} }

// ReadFrame fills dst with silence.
func (d *Device) ReadFrame(dst []int16) error {
	if d.closed.Load() {
		return ErrClosed
	}
	if len(dst) != audio.FrameLen {
		return fmt.Errorf("nulldev: read of %d samples, want %d", len(dst), audio.FrameLen)
	}
	if d.paced {
		d.rpace.Wait()
	}
	clear(dst)
	d.read.Add(1)
	return nil
}

// WriteFrame discards src.
func (d *Device) WriteFrame(src []int16) error {
	if d.closed.Load() {
		return ErrClosed
	}
	if len(src) != audio.FrameLen {
		return fmt.Errorf("nulldev: write of %d samples, want %d", len(src), audio.FrameLen)
	}
	if d.paced {
		d.wpace.Wait()
	}
	d.written.Add(1)
	return nil
}

// Frames reports how many frames were read and written.
func (d *Device) Frames() (read, written int64) { return d.read.Load(), d.written.Load() }

// Close makes further reads and writes fail. It is safe to call twice.
func (d *Device) Close() error {
	d.closed.Store(true)
	return nil
}
