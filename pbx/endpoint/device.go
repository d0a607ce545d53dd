package endpoint

import (
	"io"

	"hushbox/audio"
)

// nullDevice is the device of a phone without audio: silence paced at
// 20 ms is what audio.Open("null") gives; here it only backs a nil
// Config.Audio, so capture returns silence at once and the sender falls
// back to its own 20 ms clock.
type nullDevice struct{}

func (nullDevice) ReadFrame(dst []int16) error { clear(dst); return errNullEOF }
func (nullDevice) WriteFrame([]int16) error    { return nil }
func (nullDevice) Close() error                { return nil }

var _ audio.Device = nullDevice{}

// errNullEOF makes the sender pace silence by its own clock.
var errNullEOF = io.EOF
