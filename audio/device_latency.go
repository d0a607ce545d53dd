package audio

import "time"

// LatencyReporter is implemented by devices that know the buffering they add
// (PortAudio reports the stream latency of capture and playback), for the
// mouth-to-ear latency budget of `hushbox audio test` and the endpoint.
type LatencyReporter interface {
	Latency() (capture, playback time.Duration)
}
