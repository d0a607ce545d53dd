// Package voicetest measures what the voice scrambler does to speech on a
// telephone channel. It runs
//
//	original -> scramble -> G.711 -> packet loss -> descramble -> concealment
//
// for several loss rates and reports, per condition, the quality of the
// descrambled speech (segmental SNR and STOI, against G.711 alone with the
// same losses) and how intelligible the scrambled signal is (STOI of what
// the relay hears, against a noise control: white noise with the
// original's frame energies, which is the best any energy-preserving
// scrambler can do, since it leaks exactly those energies).
//
// Everything is deterministic: the loss pattern and the control noise come
// from seeded generators, so a run is reproducible bit for bit.
package voicetest

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"hushbox/audio/stoi"
	"hushbox/crypto/scramble"
)

// Concealment is what the receiver plays for a lost packet. It runs on the
// descrambled (clear) audio: concealing scrambled audio would give noise.
type Concealment int

const (
	// Repeat plays the last good descrambled frame again (silence if none).
	Repeat Concealment = iota
	// Zero plays silence.
	Zero
)

func (c Concealment) String() string {
	if c == Zero {
		return "zero"
	}
	return "repeat"
}

// ParseConcealment parses "repeat" or "zero".
func ParseConcealment(s string) (Concealment, error) {
	switch s {
	case "repeat":
		return Repeat, nil
	case "zero":
		return Zero, nil
	}
	return 0, fmt.Errorf("concealment %q: want repeat or zero", s)
}

// Config sets up a run. The zero value of each field has a default.
type Config struct {
	Key         []byte    // 32-byte scrambler key (default: a fixed test key)
	SSRC        uint32    // RTP SSRC the frames are keyed with
	FrameSize   int       // samples per packet (default 160, 20 ms)
	ALaw        bool      // G.711 A-law instead of mu-law
	LossRates   []float64 // packet loss probabilities (default 0, 0.01, 0.05)
	Concealment Concealment
	Seed        uint64 // seed of the loss pattern and the control noise
}

// DefaultKey is the key used when Config.Key is empty (a test key, not a secret).
var DefaultKey = []byte("hushbox voicetest fixed test key")

func (c Config) withDefaults() Config {
	if len(c.Key) == 0 {
		c.Key = DefaultKey
	}
	if c.FrameSize == 0 {
		c.FrameSize = 160
	}
	if c.LossRates == nil {
		c.LossRates = []float64{0, 0.01, 0.05}
	}
	return c
}

// Result is one condition (one loss rate).
type Result struct {
	Loss float64 // packet loss probability
	Lost int     // packets actually lost

	// Descrambled speech against the original, and the same channel
	// without scrambling (G.711 and the same losses and concealment).
	SegSNR, SegSNRPlain float64 // segmental SNR, dB
	SNR, SNRPlain       float64 // whole-signal SNR, dB
	STOI, STOIPlain     float64

	// Intelligibility of what the relay hears (the scrambled signal after
	// G.711) and of the two controls. Each is the mean over Trials
	// realisations (SSRCs SSRC..SSRC+Trials-1, that is independent
	// keystreams, for the scrambled signal; noise seeds for the controls),
	// so the comparison is not decided by one draw (one draw varies by
	// about +-0.02).
	STOIScrambled float64
	STOIControl   float64 // white noise with the original's frame energies
	STOILeak      float64 // noise with everything this scrambler leaks (LeakControl)
}

// Trials is the number of realisations averaged for the scrambled and
// control STOI values.
const Trials = 8

// Report is the outcome of Run.
type Report struct {
	Config  Config
	Results []Result
	// The signals of the first condition (normally no loss), for figures:
	// the original, the scrambled signal after G.711 (what the relay
	// hears) and the descrambled signal.
	Original, Scrambled, Descrambled []int16
}

// ErrShort is returned for input shorter than STOI can measure.
var ErrShort = errors.New("input too short")

// Run runs every condition of cfg on the 8 kHz speech x. x is cut to a
// whole number of frames.
func Run(x []int16, cfg Config) (*Report, error) {
	cfg = cfg.withDefaults()
	n := cfg.FrameSize
	x = x[:len(x)/n*n]
	if len(x) < scramble.SampleRate/2 {
		return nil, fmt.Errorf("voicetest: %d samples: %w", len(x), ErrShort)
	}
	s, err := scramble.New(cfg.Key, n)
	if err != nil {
		return nil, fmt.Errorf("voicetest: %w", err)
	}
	scrambled := make([]int16, len(x))
	for f := 0; f*n < len(x); f++ {
		if err := s.Scramble(scrambled[f*n:(f+1)*n], x[f*n:(f+1)*n], cfg.SSRC, uint64(f)); err != nil {
			return nil, fmt.Errorf("voicetest: scramble: %w", err)
		}
	}
	onAir := g711(scrambled, cfg.ALaw)
	plainCoded := g711(x, cfg.ALaw)
	rep := &Report{Config: cfg, Original: x}
	var stoiScr, stoiCtl, stoiLeak float64
	other := make([]int16, len(x))
	for t := range Trials {
		heard := onAir
		if t > 0 {
			for f := 0; f*n < len(x); f++ {
				if err := s.Scramble(other[f*n:(f+1)*n], x[f*n:(f+1)*n], cfg.SSRC+uint32(t), uint64(f)); err != nil {
					return nil, fmt.Errorf("voicetest: scramble: %w", err)
				}
			}
			heard = g711(other, cfg.ALaw)
		}
		for _, m := range []struct {
			y   []int16
			sum *float64
		}{
			{heard, &stoiScr},
			{NoiseControl(x, n, cfg.Seed+uint64(t)), &stoiCtl},
			{LeakControl(x, n, cfg.Seed+uint64(t)), &stoiLeak},
		} {
			v, err := stoi.PCM(x, m.y, scramble.SampleRate)
			if err != nil {
				return nil, fmt.Errorf("voicetest: %w", err)
			}
			*m.sum += v / Trials
		}
	}
	for i, p := range cfg.LossRates {
		lost := LossPattern(len(x)/n, p, cfg.Seed+uint64(i)+1)
		received := make([]int16, len(x))
		for f := 0; f*n < len(x); f++ {
			if lost[f] {
				continue
			}
			if err := s.Descramble(received[f*n:(f+1)*n], onAir[f*n:(f+1)*n], cfg.SSRC, uint64(f)); err != nil {
				return nil, fmt.Errorf("voicetest: descramble: %w", err)
			}
		}
		conceal(received, lost, n, cfg.Concealment)
		plain := append([]int16(nil), plainCoded...)
		conceal(plain, lost, n, cfg.Concealment)
		r := Result{Loss: p, STOIScrambled: stoiScr, STOIControl: stoiCtl, STOILeak: stoiLeak}
		for _, l := range lost {
			if l {
				r.Lost++
			}
		}
		r.SegSNR, r.SegSNRPlain = SegmentalSNR(x, received, n), SegmentalSNR(x, plain, n)
		r.SNR, r.SNRPlain = SNR(x, received), SNR(x, plain)
		if r.STOI, err = stoi.PCM(x, received, scramble.SampleRate); err != nil {
			return nil, fmt.Errorf("voicetest: %w", err)
		}
		if r.STOIPlain, err = stoi.PCM(x, plain, scramble.SampleRate); err != nil {
			return nil, fmt.Errorf("voicetest: %w", err)
		}
		rep.Results = append(rep.Results, r)
		if i == 0 {
			rep.Scrambled, rep.Descrambled = onAir, received
		}
	}
	return rep, nil
}

// LossPattern returns, for each of frames packets, whether it is lost:
// independent losses with probability p from a PCG generator seeded with
// seed.
func LossPattern(frames int, p float64, seed uint64) []bool {
	rng := rand.New(rand.NewPCG(seed, 0x10557))
	lost := make([]bool, frames)
	for i := range lost {
		lost[i] = rng.Float64() < p
	}
	return lost
}

// conceal fills the lost frames of x (n samples each) in place.
func conceal(x []int16, lost []bool, n int, c Concealment) {
	for f, l := range lost {
		if !l {
			continue
		}
		dst := x[f*n : (f+1)*n]
		if c == Zero || f == 0 {
			clear(dst)
			continue
		}
		copy(dst, x[(f-1)*n:f*n]) // the previous frame, itself concealed if lost
	}
}

const scrambleRate = scramble.SampleRate
