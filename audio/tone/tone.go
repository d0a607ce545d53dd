// Package tone generates the call-progress tones a phone plays locally (dial
// tone, ringback, busy) and DTMF key feedback, at 8 kHz in 20 ms frames.
//
// Generation is fixed point: each frequency is a 32-bit phase accumulator
// stepping through a 1024-entry Q15 sine table, scaled by a Q15 amplitude.
// The per-sample path has no floating point, so the tones are the same on
// every GOARCH and cheap on the ARMv7 boards. The frequencies and cadences
// are the North American ones (ITU-T E.180 lists them for the US/Canada),
// which most handset users recognise.
package tone

import (
	"fmt"
	"math"
	"time"

	"hushbox/audio"
)

// tableBits is log2 of the sine table length.
const tableBits = 10

// sineQ15 is one period of sin() in Q15, filled once at start-up (the only
// floating point in the package).
var sineQ15 [1 << tableBits]int16

func init() {
	for i := range sineQ15 {
		sineQ15[i] = int16(math.Round(32767 * math.Sin(2*math.Pi*float64(i)/float64(len(sineQ15)))))
	}
}

// Tone describes a dual-frequency tone and its cadence.
type Tone struct {
	F1, F2 int           // Hz; F2 may be 0 for a single tone
	Amp    int16         // peak amplitude of each component (linear, int16 scale)
	On     time.Duration // tone on; 0 = continuous
	Off    time.Duration // then silence; the pattern repeats unless Once
	Once   bool          // play On once, then silence forever (key feedback)
}

// Levels: a sine of peak 32767 is +3.17 dBm0 in G.711, so each -20 dB is a
// factor of ten below that.
const (
	ampProgress = 5100 // -13 dBm0 per component, as North American call progress
	ampDTMF     = 7200 // -10 dBm0 per component: key feedback in the earpiece
)

// The call-progress tones.
var (
	Dial     = Tone{F1: 350, F2: 440, Amp: ampProgress}
	Ringback = Tone{F1: 440, F2: 480, Amp: ampProgress, On: 2 * time.Second, Off: 4 * time.Second}
	Busy     = Tone{F1: 480, F2: 620, Amp: ampProgress, On: 500 * time.Millisecond, Off: 500 * time.Millisecond}
)

// DTMF frequency pairs (ITU-T Q.23): rows 697/770/852/941 Hz, columns
// 1209/1336/1477/1633 Hz.
var (
	dtmfRows = [4]int{697, 770, 852, 941}
	dtmfCols = [4]int{1209, 1336, 1477, 1633}
	dtmfKeys = [4]string{"123A", "456B", "789C", "*0#D"}
)

// DTMFFeedback is how long a key press sounds locally.
const DTMFFeedback = 100 * time.Millisecond

// DTMF returns the tone of a keypad key (0-9, *, #, A-D; lower case a-d
// too), played once for DTMFFeedback.
func DTMF(key byte) (Tone, error) {
	if key >= 'a' && key <= 'd' {
		key -= 'a' - 'A'
	}
	for r, row := range dtmfKeys {
		for c := range len(row) {
			if row[c] == key {
				return Tone{F1: dtmfRows[r], F2: dtmfCols[c], Amp: ampDTMF, On: DTMFFeedback, Once: true}, nil
			}
		}
	}
	return Tone{}, fmt.Errorf("tone: %q is not a DTMF key", key)
}

// Generator renders a Tone as a frame source. Not safe for concurrent use;
// allocation-free.
type Generator struct {
	inc1, inc2 uint32 // phase steps per sample
	ph1, ph2   uint32
	amp        int32 // Q15 multiplier
	onN, perN  int   // samples on, samples per cadence period (0 = continuous)
	once       bool
	pos        int // sample position in the cadence
	done       bool
}

// New returns a generator positioned at the start of the tone.
func New(t Tone) *Generator {
	g := &Generator{
		inc1: phaseStep(t.F1),
		inc2: phaseStep(t.F2),
		amp:  int32(t.Amp),
		once: t.Once,
	}
	if t.On > 0 {
		g.onN = int(t.On * audio.SampleRate / time.Second)
		g.perN = g.onN + int(t.Off*audio.SampleRate/time.Second)
	}
	return g
}

// phaseStep is f/8000 of a full turn in 2^32 units, rounded.
func phaseStep(f int) uint32 {
	if f <= 0 || f >= audio.SampleRate/2 {
		return 0
	}
	return uint32((uint64(f)<<32 + audio.SampleRate/2) / audio.SampleRate)
}

// Reset restarts the tone (cadence and phase).
func (g *Generator) Reset() {
	g.ph1, g.ph2, g.pos, g.done = 0, 0, 0, false
}

// Done reports whether a Once tone has finished.
func (g *Generator) Done() bool { return g.done }

// FillFrame writes the next len(dst) samples (normally audio.FrameLen).
func (g *Generator) FillFrame(dst []int16) {
	for i := range dst {
		on := !g.done
		if g.perN > 0 && on {
			on = g.pos < g.onN
			g.pos++
			if g.pos == g.perN || (g.once && g.pos >= g.onN) {
				g.pos = 0
				if g.once {
					g.done = true
				}
			}
		}
		if !on {
			dst[i] = 0
			continue
		}
		var s int32
		if g.inc1 != 0 {
			s += int32(sineQ15[g.ph1>>(32-tableBits)])
			g.ph1 += g.inc1
		}
		if g.inc2 != 0 {
			s += int32(sineQ15[g.ph2>>(32-tableBits)])
			g.ph2 += g.inc2
		}
		// Q15 x Q15 amplitude, rounded; two components at most double it,
		// so clamp for amplitudes above half scale.
		v := (s*g.amp + 1<<14) >> 15
		if v > math.MaxInt16 {
			v = math.MaxInt16
		} else if v < math.MinInt16 {
			v = math.MinInt16
		}
		dst[i] = int16(v)
	}
}
