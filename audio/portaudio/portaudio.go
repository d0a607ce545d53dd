//go:build portaudio

package portaudio

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	pa "github.com/gordonklaus/portaudio"

	"hushbox/audio"
)

// Available reports whether this build has PortAudio (build tag "portaudio").
const Available = true

func init() {
	audio.Register(audio.Backend{
		Name: "portaudio",
		Open: func(arg string) (audio.Device, error) { return Open(arg) },
		List: List,
	})
}

// rates are tried in order: 8 kHz needs no resampling; 48 and 44.1 kHz are
// what USB headsets and HDMI/I2S codecs run at.
var rates = []int{audio.SampleRate, 48000, 44100, 16000}

// channelCounts are tried in order for each rate: mono, else stereo (some
// USB headsets only play stereo), downmixed/duplicated here.
var channelCounts = []int{1, 2}

// paMu serialises Initialize/Terminate and device enumeration: the Go
// binding keeps unsynchronised package state for them.
var paMu sync.Mutex

func initialize() error {
	paMu.Lock()
	defer paMu.Unlock()
	if err := pa.Initialize(); err != nil {
		return fmt.Errorf("portaudio: initialize: %v: %w", err, audio.ErrNoDevice)
	}
	return nil
}

func terminate() {
	paMu.Lock()
	defer paMu.Unlock()
	if err := pa.Terminate(); err != nil {
		slog.Warn("portaudio: terminate", "err", err)
	}
}

// Version names the PortAudio library linked in.
func Version() string { return pa.VersionText() }

// List reports the PortAudio devices for `hushbox audio list`.
func List() ([]audio.Info, error) {
	if err := initialize(); err != nil {
		return nil, err
	}
	defer terminate()
	paMu.Lock()
	defer paMu.Unlock()
	devs, err := pa.Devices()
	if err != nil {
		return nil, fmt.Errorf("portaudio: devices: %w", err)
	}
	defIn, _ := pa.DefaultInputDevice()
	defOut, _ := pa.DefaultOutputDevice()
	infos := make([]audio.Info, 0, len(devs))
	for _, d := range devs {
		infos = append(infos, audio.Info{
			Name:       d.Name,
			Backend:    "portaudio",
			MaxInputs:  d.MaxInputChannels,
			MaxOutputs: d.MaxOutputChannels,
			Default:    d == defIn || d == defOut,
		})
	}
	return infos, nil
}

// pick chooses the device for one direction: the default one when name is
// empty, else the one called name (ignoring case), else the only one whose
// name contains name.
func pick(name string, input bool) (*pa.DeviceInfo, error) {
	paMu.Lock()
	defer paMu.Unlock()
	dir := "output"
	if input {
		dir = "input"
	}
	if name == "" {
		get := pa.DefaultOutputDevice
		if input {
			get = pa.DefaultInputDevice
		}
		d, err := get()
		if err != nil {
			return nil, fmt.Errorf("portaudio: default %s device: %v: %w", dir, err, audio.ErrNoDevice)
		}
		return d, nil
	}
	devs, err := pa.Devices()
	if err != nil {
		return nil, fmt.Errorf("portaudio: devices: %w", err)
	}
	var cands []*pa.DeviceInfo
	for _, d := range devs {
		ch := d.MaxOutputChannels
		if input {
			ch = d.MaxInputChannels
		}
		if ch < 1 {
			continue
		}
		if strings.EqualFold(d.Name, name) {
			return d, nil
		}
		if strings.Contains(strings.ToLower(d.Name), strings.ToLower(name)) {
			cands = append(cands, d)
		}
	}
	switch len(cands) {
	case 0:
		return nil, fmt.Errorf("portaudio: no %s device named %q (see hushbox audio list): %w", dir, name, audio.ErrNoDevice)
	case 1:
		return cands[0], nil
	}
	names := make([]string, len(cands))
	for i, d := range cands {
		names[i] = fmt.Sprintf("%q", d.Name)
	}
	return nil, fmt.Errorf("portaudio: %q matches %d %s devices: %s", name, len(cands), dir, strings.Join(names, ", "))
}

// stream is one direction of a Device: a blocking PortAudio stream at the
// device rate and channel count, and the conversion to 8 kHz mono.
type stream struct {
	mu       sync.Mutex // one Read/Write at a time; Close waits for it
	s        *pa.Stream
	buf      []int16 // interleaved device samples, one frame
	mono     []int16 // one frame at the device rate, mono
	channels int
	rate     int
	rs       *resampler // nil at 8 kHz
	xruns    atomic.Int64
	closed   bool
}

// openStream opens dev for capture (input) or playback at the first rate
// and channel count (mono, then stereo) the device accepts.
func openStream(dev *pa.DeviceInfo, input bool) (*stream, error) {
	var errs []error
	for _, rate := range rates {
		for _, ch := range channelCounts {
			maxCh := dev.MaxOutputChannels
			if input {
				maxCh = dev.MaxInputChannels
			}
			if ch > maxCh {
				continue
			}
			frame := rate * audio.FrameMillis / 1000
			st := &stream{buf: make([]int16, frame*ch), mono: make([]int16, frame), channels: ch, rate: rate}
			p := pa.StreamParameters{SampleRate: float64(rate), FramesPerBuffer: frame}
			dp := pa.StreamDeviceParameters{Device: dev, Channels: ch}
			if input {
				dp.Latency = dev.DefaultLowInputLatency
				p.Input = dp
			} else {
				dp.Latency = dev.DefaultLowOutputLatency
				p.Output = dp
			}
			paMu.Lock()
			err := pa.IsFormatSupported(p, st.buf)
			if err == nil {
				st.s, err = pa.OpenStream(p, st.buf)
			}
			paMu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("%d Hz x%d: %w", rate, ch, err))
				continue
			}
			if rate != audio.SampleRate {
				if input {
					st.rs, err = newResampler(rate, audio.SampleRate)
				} else {
					st.rs, err = newResampler(audio.SampleRate, rate)
				}
				if err != nil {
					st.s.Close()
					return nil, err
				}
			}
			if err := st.s.Start(); err != nil {
				st.s.Close()
				return nil, fmt.Errorf("start %d Hz: %w", rate, err)
			}
			return st, nil
		}
	}
	return nil, fmt.Errorf("no usable format: %w", errors.Join(errs...))
}

// close stops the stream (playback drains what was written) and frees it.
func (st *stream) close() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return nil
	}
	st.closed = true
	errStop := st.s.Stop()
	errClose := st.s.Close()
	return errors.Join(errStop, errClose)
}

// Device is an open PortAudio capture/playback pair.
type Device struct {
	in, out       *stream
	inDev, outDev string
	terminated    sync.Once
}

// ErrClosed is returned by ReadFrame and WriteFrame after Close.
var ErrClosed = errors.New("portaudio: device closed")

// Open opens capture and playback on the named device ("" for the
// defaults) as described in the package comment.
func Open(name string) (audio.Device, error) {
	if err := initialize(); err != nil {
		return nil, err
	}
	d, err := open(name)
	if err != nil {
		terminate()
		return nil, err
	}
	return d, nil
}

func open(name string) (*Device, error) {
	inDev, err := pick(name, true)
	if err != nil {
		return nil, err
	}
	outDev, err := pick(name, false)
	if err != nil {
		return nil, err
	}
	in, err := openStream(inDev, true)
	if err != nil {
		return nil, fmt.Errorf("portaudio: capture on %q: %w", inDev.Name, err)
	}
	out, err := openStream(outDev, false)
	if err != nil {
		in.close()
		return nil, fmt.Errorf("portaudio: playback on %q: %w", outDev.Name, err)
	}
	slog.Debug("portaudio: open", "capture", inDev.Name, "capture_hz", in.rate, "capture_channels", in.channels,
		"playback", outDev.Name, "playback_hz", out.rate, "playback_channels", out.channels)
	return &Device{in: in, out: out, inDev: inDev.Name, outDev: outDev.Name}, nil
}

// ReadFrame blocks for the next 20 ms of capture. An input overflow (the
// caller was late and the card dropped samples) is counted, not an error.
func (d *Device) ReadFrame(dst []int16) error {
	if len(dst) != audio.FrameLen {
		return fmt.Errorf("portaudio: read of %d samples, want %d", len(dst), audio.FrameLen)
	}
	st := d.in
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return ErrClosed
	}
	if err := st.s.Read(); err != nil {
		if !errors.Is(err, pa.InputOverflowed) {
			return fmt.Errorf("portaudio: read: %w", err)
		}
		st.xruns.Add(1)
	}
	mono := st.buf
	if st.channels == 2 {
		for i := range st.mono {
			st.mono[i] = int16((int32(st.buf[2*i]) + int32(st.buf[2*i+1])) / 2)
		}
		mono = st.mono
	}
	if st.rs != nil {
		st.rs.process(mono, dst)
	} else {
		copy(dst, mono)
	}
	return nil
}

// WriteFrame queues 20 ms for playback, blocking while the card's buffer
// is full. An output underflow (the caller was late) is counted.
func (d *Device) WriteFrame(src []int16) error {
	if len(src) != audio.FrameLen {
		return fmt.Errorf("portaudio: write of %d samples, want %d", len(src), audio.FrameLen)
	}
	st := d.out
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return ErrClosed
	}
	mono := st.mono
	if st.rs != nil {
		st.rs.process(src, mono)
	} else {
		copy(mono, src)
	}
	if st.channels == 2 {
		for i, s := range mono {
			st.buf[2*i], st.buf[2*i+1] = s, s
		}
	} else {
		copy(st.buf, mono)
	}
	if err := st.s.Write(); err != nil {
		if !errors.Is(err, pa.OutputUnderflowed) {
			return fmt.Errorf("portaudio: write: %w", err)
		}
		st.xruns.Add(1)
	}
	return nil
}

// Latency reports the buffering of capture and playback: PortAudio's
// stream latency plus the resampler's 2 ms when the card is not at 8 kHz.
func (d *Device) Latency() (capture, playback time.Duration) {
	lat := func(st *stream, input bool) time.Duration {
		st.mu.Lock()
		defer st.mu.Unlock()
		if st.closed {
			return 0
		}
		var l time.Duration
		if info := st.s.Info(); info != nil {
			l = info.OutputLatency
			if input {
				l = info.InputLatency
			}
		}
		if st.rs != nil {
			l += kernelHalf * time.Second / audio.SampleRate
		}
		return l
	}
	return lat(d.in, true), lat(d.out, false)
}

// Format describes what was opened, e.g. "capture "default" 8000 Hz x1,
// playback "default" 48000 Hz x2".
func (d *Device) Format() string {
	return fmt.Sprintf("capture %q %d Hz x%d, playback %q %d Hz x%d",
		d.inDev, d.in.rate, d.in.channels, d.outDev, d.out.rate, d.out.channels)
}

// Xruns reports input overflows and output underflows so far.
func (d *Device) Xruns() (overflows, underflows int64) {
	return d.in.xruns.Load(), d.out.xruns.Load()
}

// Close stops both streams, letting queued playback finish, and releases
// PortAudio. It waits for a ReadFrame or WriteFrame in progress (at most a
// frame time on a working card). A second Close does nothing.
func (d *Device) Close() error {
	errIn := d.in.close()
	errOut := d.out.close()
	d.terminated.Do(terminate)
	if err := errors.Join(errIn, errOut); err != nil {
		return fmt.Errorf("portaudio: close: %w", err)
	}
	return nil
}
