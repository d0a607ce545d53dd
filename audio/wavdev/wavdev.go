// Package wavdev is an audio device made of two WAV files: capture plays
// IN.wav (8 kHz 16-bit PCM; stereo is averaged to mono) as a microphone, and
// playback is recorded and written to OUT.wav when the device is closed.
// It is how tests and `hushbox phone --audio wav:in.wav,out.wav` put known
// speech into a call and keep what came back.
//
// Spec: "wav:IN,OUT[,fast]". Either file may be left out ("wav:,out.wav"
// captures silence forever, "wav:in.wav" discards playback). By default
// both directions are paced in real time like a sound card; "fast" reads
// and writes as fast as the caller asks. File names cannot contain commas.
package wavdev

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"hushbox/audio"
	"hushbox/audio/wav"
)

func init() {
	audio.Register(audio.Backend{Name: "wav", Open: open})
}

// MaxRecord bounds the playback kept in memory for OUT.wav (one hour of
// 8 kHz audio, 57 MB); later frames are counted as dropped, not recorded.
const MaxRecord = 3600 * audio.SampleRate

// ErrClosed is returned by ReadFrame and WriteFrame after Close.
var ErrClosed = errors.New("wavdev: device closed")

// Options configure a WAV device.
type Options struct {
	In    string // capture source; "" captures silence without end
	Out   string // playback recording, written on Close; "" discards
	Paced bool   // one frame per 20 ms in each direction, like a sound card
}

// ParseSpec parses the argument of a "wav:" spec.
func ParseSpec(arg string) (Options, error) {
	parts := strings.Split(arg, ",")
	if arg == "" || len(parts) > 3 {
		return Options{}, fmt.Errorf("wav: want IN.wav,OUT.wav[,fast], got %q", arg)
	}
	o := Options{Paced: true}
	o.In = strings.TrimSpace(parts[0])
	if len(parts) > 1 {
		o.Out = strings.TrimSpace(parts[1])
	}
	if len(parts) == 3 {
		if p := strings.TrimSpace(parts[2]); p != "fast" {
			return Options{}, fmt.Errorf("wav: unknown option %q (want \"fast\")", p)
		}
		o.Paced = false
	}
	if o.In == "" && o.Out == "" {
		return Options{}, fmt.Errorf("wav: neither an input nor an output file in %q", arg)
	}
	return o, nil
}

func open(arg string) (audio.Device, error) {
	o, err := ParseSpec(arg)
	if err != nil {
		return nil, err
	}
	return Open(o)
}

// Device is an open WAV device. ReadFrame and WriteFrame may be called from
// two goroutines; Close from a third once they have stopped or not.
type Device struct {
	opts Options
	max  int // MaxRecord; smaller in tests

	rmu   sync.Mutex
	in    []int16 // capture source
	pos   int     // next capture sample
	rpace audio.Pacer

	wmu     sync.Mutex
	out     []int16 // recorded playback
	dropped int     // frames not recorded (over MaxRecord)
	wpace   audio.Pacer
	closed  bool
}

// Open loads the capture file (refusing anything but 8 kHz 16-bit PCM) and
// checks the output file can be created, so a bad path fails now rather
// than after the call.
func Open(o Options) (*Device, error) {
	d := &Device{opts: o, max: MaxRecord}
	if o.In != "" {
		a, err := wav.ReadFile(o.In)
		if err != nil {
			return nil, fmt.Errorf("wav: capture file: %w", err)
		}
		if a.Rate != audio.SampleRate {
			return nil, fmt.Errorf("wav: capture file %s is %d Hz; want %d Hz mono 16-bit (convert: sox %s -r 8000 -c 1 -b 16 out.wav)",
				o.In, a.Rate, audio.SampleRate, o.In)
		}
		d.in = a.Samples
	}
	if o.Out != "" {
		f, err := os.OpenFile(o.Out, os.O_WRONLY|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("wav: playback file: %w", err)
		}
		f.Close()
	}
	return d, nil
}

// ReadFrame fills dst with the next 20 ms of IN.wav. The last partial
// frame is padded with silence; after it ReadFrame returns io.EOF. Without
// an input file it returns silence forever.
func (d *Device) ReadFrame(dst []int16) error {
	if len(dst) != audio.FrameLen {
		return fmt.Errorf("wavdev: read of %d samples, want %d", len(dst), audio.FrameLen)
	}
	d.rmu.Lock()
	defer d.rmu.Unlock()
	if d.isClosed() {
		return ErrClosed
	}
	if d.opts.In != "" && d.pos >= len(d.in) {
		return io.EOF
	}
	if d.opts.Paced {
		d.rpace.Wait()
	}
	n := 0
	if d.pos < len(d.in) {
		n = copy(dst, d.in[d.pos:])
		d.pos += n
	}
	clear(dst[n:])
	return nil
}

// WriteFrame records src for OUT.wav.
func (d *Device) WriteFrame(src []int16) error {
	if len(src) != audio.FrameLen {
		return fmt.Errorf("wavdev: write of %d samples, want %d", len(src), audio.FrameLen)
	}
	d.wmu.Lock()
	closed := d.closed
	d.wmu.Unlock()
	if closed {
		return ErrClosed
	}
	if d.opts.Paced {
		d.wpace.Wait() // outside the lock: Close must not wait for a frame time
	}
	d.wmu.Lock()
	defer d.wmu.Unlock()
	if d.closed {
		return ErrClosed
	}
	if d.opts.Out == "" {
		return nil
	}
	if len(d.out)+len(src) > d.max {
		d.dropped++
		return nil
	}
	d.out = append(d.out, src...)
	return nil
}

func (d *Device) isClosed() bool {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	return d.closed
}

// Recorded returns a copy of the playback recorded so far and the number
// of frames dropped because the recording was full.
func (d *Device) Recorded() (samples []int16, dropped int) {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	return append([]int16(nil), d.out...), d.dropped
}

// Close writes OUT.wav (8 kHz mono 16-bit). A second Close does nothing.
func (d *Device) Close() error {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	if d.opts.Out == "" {
		return nil
	}
	if err := wav.WriteFile(d.opts.Out, wav.Audio{Rate: audio.SampleRate, Samples: d.out}); err != nil {
		return fmt.Errorf("wavdev: write %s: %w", d.opts.Out, err)
	}
	return nil
}
