package endpoint

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"hushbox/audio"
)

// LatencyComponent is one part of the mouth-to-ear delay the endpoint adds
// on top of the network.
type LatencyComponent struct {
	Name   string
	Millis float64
	Note   string
}

// Latency lists the delay the endpoint adds, per component, for a jitter
// buffer of jitterFrames 20 ms frames (0: the default). The figures are
// what the design imposes, per sample: the capture frame (a sample waits
// for the rest of its 20 ms frame before the frame is sent), the jitter
// buffer's playout delay (its target: the playout clock is anchored to
// the first packet's arrival), the scrambler (it works inside the frame:
// no look-ahead, no extra frame) and the playback buffer (one frame queued
// to the device, the least a PortAudio stream of 20 ms periods holds; WAV
// and null devices hold none). The device's own latency beyond one period
// (ALSA buffer sizes) comes on top and depends on the hardware.
//
// When dev reports its own buffering (audio.LatencyReporter: PortAudio),
// its capture latency is added and its playback latency replaces the
// one-frame playback buffer.
func Latency(jitterFrames int, dev audio.Device) []LatencyComponent {
	if jitterFrames <= 0 {
		jitterFrames = defaultJitterFrames
	}
	frame := float64(audio.FrameMillis)
	out := []LatencyComponent{
		{"capture frame", frame, "one 20 ms frame is captured before it is sent"},
		{"jitter buffer", float64(jitterFrames) * frame,
			fmt.Sprintf("%d frame(s); grows by one after two late packets within a second (up to %d); playout clock anchored to the first packet", jitterFrames, maxJitterFrames)},
		{"scrambler", 0, "frame-local transform (DCT, keyed mixing, inverse DCT): no look-ahead"},
		{"playback buffer", frame, "one frame queued to the device"},
	}
	if lr, ok := dev.(audio.LatencyReporter); ok {
		capt, play := lr.Latency()
		out = append(out, LatencyComponent{"capture device", ms(capt), "buffering the sound device reports"})
		out[3] = LatencyComponent{"playback buffer", ms(play), "playback latency the sound device reports"}
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// WriteLatency prints the report with its total.
func WriteLatency(w io.Writer, jitterFrames int, dev audio.Device) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COMPONENT\tMS\tNOTE")
	total := 0.0
	for _, c := range Latency(jitterFrames, dev) {
		total += c.Millis
		fmt.Fprintf(tw, "%s\t%.1f\t%s\n", c.Name, c.Millis, c.Note)
	}
	fmt.Fprintf(tw, "total added\t%.1f\ttarget: under 60 ms on top of the network\n", total)
	return tw.Flush()
}
