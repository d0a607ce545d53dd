package main

// `hushbox audio list` and `hushbox audio test`: which sound devices this
// build can use, and a loopback test of one of them (play a tone or a WAV
// file, record the capture, report level and latency).

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"hushbox/audio"
	_ "hushbox/audio/nulldev" // backends register themselves with audio.Open
	"hushbox/audio/portaudio"
	"hushbox/audio/wav"
	_ "hushbox/audio/wavdev"
)

const audioUsage = `usage:
  hushbox audio list [--json]
        sound devices of this build (PortAudio; none without it)
  hushbox audio test [--audio SPEC] [--seconds N] [--in IN.wav] [--out OUT.wav] [--tone HZ]
        play a tone (or IN.wav, 8 kHz mono) on the device while recording its
        capture (to OUT.wav); report capture level, stream latency and how the
        capture matches the playback (a loopback cable or speaker and mic)
SPEC: null | wav:IN.wav,OUT.wav | portaudio | portaudio:NAME (default portaudio)
`

func audioCmd(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageError{audioUsage}
	}
	switch args[0] {
	case "list":
		return audioList(args[1:], stdout)
	case "test":
		return audioTest(args[1:], stdout)
	}
	return usageError{fmt.Sprintf("unknown audio command %q\n%s", args[0], audioUsage)}
}

func audioList(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("audio list", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	if pos, err := parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usageError{audioUsage}
	}
	infos, err := audio.List()
	if *asJSON {
		if infos == nil {
			infos = []audio.Info{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if encErr := enc.Encode(infos); encErr != nil {
			return encErr
		}
		return err
	}
	if !portaudio.Available {
		fmt.Fprintf(stdout, "no PortAudio in this build (backends: %v; build with -tags portaudio)\n", audio.Backends())
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s\n", portaudio.Version())
	if len(infos) == 0 {
		fmt.Fprintln(stdout, "no devices")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "BACKEND\tIN\tOUT\tDEFAULT\tNAME")
	for _, d := range infos {
		def := ""
		if d.Default {
			def = "yes"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", d.Backend, d.MaxInputs, d.MaxOutputs, def, d.Name)
	}
	return tw.Flush()
}

// maxLoopLag bounds the loopback delay searched for (400 ms).
const maxLoopLag = 400 * audio.SampleRate / 1000

func audioTest(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("audio test", flag.ContinueOnError)
	spec := fs.String("audio", "portaudio", "device: null, wav:IN,OUT, portaudio or portaudio:NAME")
	seconds := fs.Float64("seconds", 0, "how long to record (default: 3 s, or IN.wav's length + 0.5 s)")
	in := fs.String("in", "", "play this 8 kHz WAV file instead of the tone")
	out := fs.String("out", "", "write the capture to this WAV file")
	toneHz := fs.Float64("tone", 1000, "frequency of the test tone (bursts of 200 ms every 500 ms)")
	if pos, err := parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usageError{audioUsage}
	}
	if *seconds < 0 || *seconds > 600 {
		return usageError{"--seconds: want 0 to 600"}
	}
	if *toneHz <= 0 || *toneHz >= audio.SampleRate/2 {
		return usageError{"--tone: want a frequency between 0 and 4000 Hz"}
	}
	var play []int16
	if *in != "" {
		s, err := readSpeech(*in)
		if err != nil {
			return err
		}
		play = s
		if *seconds == 0 {
			*seconds = float64(len(s))/audio.SampleRate + 0.5
		}
	}
	if *seconds == 0 {
		*seconds = 3
	}
	frames := int(*seconds*audio.SampleRate) / audio.FrameLen
	if play == nil {
		play = testBursts(frames*audio.FrameLen, *toneHz)
	}

	dev, err := audio.Open(*spec)
	if err != nil {
		if errors.Is(err, audio.ErrNoDevice) {
			return fmt.Errorf("%w (try --audio null or --audio wav:IN.wav,OUT.wav)", err)
		}
		return err
	}
	if f, ok := dev.(interface{ Format() string }); ok {
		fmt.Fprintf(stdout, "device: %s\n", f.Format())
	}
	start := time.Now()
	rec, playErr, recErr := loopback(dev, play, frames)
	elapsed := time.Since(start)
	var capLat, playLat time.Duration
	lr, hasLat := dev.(audio.LatencyReporter)
	if hasLat {
		capLat, playLat = lr.Latency()
	}
	if x, ok := dev.(interface{ Xruns() (int64, int64) }); ok {
		if o, u := x.Xruns(); o+u > 0 {
			fmt.Fprintf(stdout, "xruns: %d capture overflows, %d playback underflows\n", o, u)
		}
	}
	closeErr := dev.Close()
	if err := errors.Join(recErr, playErr, closeErr); err != nil {
		return fmt.Errorf("audio test: %w", err)
	}
	if *out != "" {
		if err := wav.WriteFile(*out, wav.Audio{Rate: audio.SampleRate, Samples: rec}); err != nil {
			return fmt.Errorf("audio test: %w", err)
		}
	}

	rms, peak := levelDBFS(rec)
	fmt.Fprintf(stdout, "recorded: %d frames (%.2f s) in %.2f s\n", len(rec)/audio.FrameLen,
		float64(len(rec))/audio.SampleRate, elapsed.Seconds())
	fmt.Fprintf(stdout, "capture level: %.1f dBFS RMS, %.1f dBFS peak\n", rms, peak)
	if hasLat {
		fmt.Fprintf(stdout, "stream latency: capture %.1f ms, playback %.1f ms\n",
			ms(capLat), ms(playLat))
	}
	lag, corr := bestLag(play[:min(len(play), len(rec))], rec, maxLoopLag)
	if corr >= 0.5 {
		fmt.Fprintf(stdout, "loopback: capture follows playback by %.1f ms (correlation %.3f)\n",
			float64(lag)*1000/audio.SampleRate, corr)
	} else {
		fmt.Fprintf(stdout, "loopback: capture does not follow playback (correlation %.3f)\n", corr)
	}
	if *out != "" {
		fmt.Fprintf(stdout, "capture written to %s\n", *out)
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// loopback plays play (then silence) and records frames frames of capture,
// each direction in its own goroutine as the phone endpoint does. A finite
// capture source (a WAV file) ends the recording early; playback still
// runs to the end.
func loopback(dev audio.Device, play []int16, frames int) (rec []int16, playErr, recErr error) {
	done := make(chan error, 1)
	stop := make(chan struct{})
	go func() {
		buf := make([]int16, audio.FrameLen)
		for f := 0; f < frames; f++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			clear(buf)
			if off := f * audio.FrameLen; off < len(play) {
				copy(buf, play[off:])
			}
			if err := dev.WriteFrame(buf); err != nil {
				done <- fmt.Errorf("playback: %w", err)
				return
			}
		}
		done <- nil
	}()
	rec = make([]int16, 0, frames*audio.FrameLen)
	buf := make([]int16, audio.FrameLen)
	for range frames {
		if err := dev.ReadFrame(buf); err != nil {
			if !errors.Is(err, io.EOF) {
				recErr = fmt.Errorf("capture: %w", err)
				close(stop) // a broken device: do not play on
			}
			break
		}
		rec = append(rec, buf...)
	}
	return rec, <-done, recErr
}

// testBursts is the default test signal: 200 ms of a sine at -12 dBFS every
// 500 ms, so a loopback delay is unambiguous up to 300 ms.
func testBursts(n int, hz float64) []int16 {
	s := make([]int16, n)
	const period, on = audio.SampleRate / 2, audio.SampleRate / 5
	for i := range s {
		if i%period < on {
			s[i] = int16(8192 * sinTurns(hz*float64(i)/audio.SampleRate))
		}
	}
	return s
}
