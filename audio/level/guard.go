// Package level is the hands-free guard between the phone's speaker and its
// microphone: without an echo canceller, a loudspeaker phone sends the far
// end its own voice back (acoustic echo) and can overload the line when the
// user leans into the microphone. The Guard does the two cheap things that
// make hands-free usable:
//
//   - half-duplex ducking: while the far end is talking (its playback level
//     is high, plus a hangover for the room's echo tail) and the microphone
//     is not clearly louder than that (the near end is not talking over it),
//     capture is attenuated (18 dB by default), so the echo is not sent;
//   - AGC-lite: a peak limiter with instant attack and slow release keeps
//     capture under a ceiling instead of hard-clipping it. It never boosts,
//     so it never pumps up room noise.
//
// All gains are Q15 integers. The ducking gain ramps per sample (2 ms down,
// 20 ms up) so switching makes no click; the limiter's gain drops at a frame
// boundary when a frame would exceed the ceiling and recovers by 1 dB per
// frame. Nothing allocates. A Guard serves one call; Playback and Capture may run on
// different goroutines (the playback and capture loops), so its state is
// guarded by a mutex taken once per frame.
package level

import (
	"math"
	"sync"
	"time"

	"hushbox/audio"
)

// Config tunes the guard; zero values take the defaults.
type Config struct {
	// DuckDB is the capture attenuation while the far end holds the line.
	DuckDB int // default 18
	// FarThreshold is the far-end level (mean absolute sample) above which
	// the far end counts as talking: default 300, about -40 dBFS.
	FarThreshold int
	// BreakInDB: the near end breaks in (no ducking) when its level exceeds
	// the far end's playback level by this much. Default 0: the microphone
	// as loud as the speaker is talk, not echo, since the echo path of a
	// handset or desk phone loses well over that.
	BreakInDB int
	// Hangover keeps ducking after the far end stops, covering the room's
	// echo tail. Default 200 ms.
	Hangover time.Duration
	// Limit is the capture ceiling of the limiter. Default 29000 (-1 dBFS).
	Limit int
}

const (
	unity       = 1 << 15 // Q15 gain of 1.0
	duckAttack  = 16      // samples to go from open to ducked
	duckRelease = 160     // samples to come back (one frame)
	limRelease  = 1.122   // limiter recovery per frame (+1 dB)
)

// Guard applies ducking and limiting to capture frames.
type Guard struct {
	mu sync.Mutex

	duckGain  int32 // Q15 gain while ducked
	farThr    int32
	breakInQ8 int32 // near must exceed far x breakInQ8/256
	hangN     int   // hangover in frames
	limit     int32
	limRelQ15 int32 // limiter release factor per frame, Q15 above unity

	farEnv  int32 // far-end envelope (mean abs), fast attack, slow release
	farHold int32 // its last level while active, for break-in in the hangover
	hang    int   // frames of hangover left
	gain    int32 // current ducking gain, Q15
	limGain int32 // current limiter gain, Q15
	ducking bool
}

// New returns a guard, open (no ducking) and at unity gain.
func New(cfg Config) *Guard {
	if cfg.DuckDB <= 0 {
		cfg.DuckDB = 18
	}
	if cfg.FarThreshold <= 0 {
		cfg.FarThreshold = 300
	}
	if cfg.Hangover <= 0 {
		cfg.Hangover = 200 * time.Millisecond
	}
	if cfg.Limit <= 0 || cfg.Limit > math.MaxInt16 {
		cfg.Limit = 29000
	}
	// Configuration-time floating point only; the per-sample path is integer.
	return &Guard{
		duckGain:  int32(math.Round(unity * math.Pow(10, -float64(cfg.DuckDB)/20))),
		farThr:    int32(cfg.FarThreshold),
		breakInQ8: int32(math.Round(256 * math.Pow(10, float64(cfg.BreakInDB)/20))),
		hangN:     int(cfg.Hangover / (audio.FrameMillis * time.Millisecond)),
		limit:     int32(cfg.Limit),
		limRelQ15: int32(math.Round(unity * limRelease)),
		gain:      unity,
		limGain:   unity,
	}
}

// meanAbs is the frame's mean absolute sample value.
func meanAbs(f []int16) int32 {
	if len(f) == 0 {
		return 0
	}
	var s int64
	for _, v := range f {
		if v < 0 {
			s -= int64(v)
		} else {
			s += int64(v)
		}
	}
	return int32(s / int64(len(f)))
}

// Playback observes a frame on its way to the speaker.
func (g *Guard) Playback(frame []int16) {
	lvl := meanAbs(frame)
	g.mu.Lock()
	defer g.mu.Unlock()
	if lvl > g.farEnv {
		g.farEnv = lvl // attack at once
	} else {
		g.farEnv -= (g.farEnv - lvl) >> 1 // release: halve per frame
	}
	if g.farEnv > g.farThr {
		g.hang = g.hangN
		// The loudest recent far-end level, slowly forgotten.
		g.farHold = max(g.farHold-g.farHold>>5, g.farEnv)
	}
}

// Ducking reports whether the last capture frame was attenuated.
func (g *Guard) Ducking() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.ducking
}

// Capture processes a frame from the microphone in place.
func (g *Guard) Capture(frame []int16) {
	near := meanAbs(frame)
	var peak int32
	for _, v := range frame {
		a := int32(v)
		if a < 0 {
			a = -a
		}
		peak = max(peak, a)
	}
	g.mu.Lock()
	defer g.mu.Unlock()

	farActive := g.farEnv > g.farThr || g.hang > 0
	ref := g.farEnv
	if g.hang > 0 {
		// The echo tail is as loud as the talk that caused it.
		ref = max(ref, g.farHold)
	}
	breakIn := int64(near)*256 > int64(ref)*int64(g.breakInQ8)
	g.ducking = farActive && !breakIn
	if g.hang > 0 && g.farEnv <= g.farThr {
		g.hang--
		if g.hang == 0 {
			g.farHold = 0
		}
	}
	target, step := int32(unity), (unity-g.duckGain)/duckRelease
	if g.ducking {
		target, step = g.duckGain, (unity-g.duckGain)/duckAttack
	}
	step = max(step, 1)

	// Limiter: the gain this frame needs so its peak, after ducking, stays
	// under the limit. Attack at once, release by limRelease per frame.
	want := int32(unity)
	if top := int64(peak) * int64(max(g.gain, target)) >> 15; top > int64(g.limit) {
		want = int32(int64(g.limit) << 15 / top)
	}
	if want < g.limGain {
		g.limGain = want
	} else {
		g.limGain = min(int32(int64(g.limGain)*int64(g.limRelQ15)>>15), want)
	}

	for i, v := range frame {
		switch {
		case g.gain > target:
			g.gain = max(g.gain-step, target)
		case g.gain < target:
			g.gain = min(g.gain+step, target)
		}
		total := int64(g.gain) * int64(g.limGain) >> 15
		s := (int64(v)*total + 1<<14) >> 15
		// Rounding can leave the limited peak one step over; clamp.
		s = max(min(s, int64(g.limit)), -int64(g.limit))
		frame[i] = int16(s)
	}
}
