// Package plc conceals lost 20 ms frames of telephone speech in the style of
// ITU-T G.711 Appendix I: on a loss it finds the pitch period in the recent
// history, repeats it (growing to two and three periods over the first
// 30 ms, joined by overlap-add so the repetition does not buzz), fades it
// out by 20% per 10 ms after the first 10 ms, goes silent after 60 ms, and
// cross-fades back into the next real frame.
//
// One deliberate departure: Appendix I delays its output by 3.75 ms so it can
// rewrite the last quarter pitch period already decoded. hushbox counts every
// millisecond of mouth-to-ear delay, so this Concealer adds none; instead it
// bends the first samples of the concealment onto the last real sample
// (removing the step there) and smooths the pitch buffer's own loop seam as
// Appendix I does.
//
// A Concealer is one direction of one call; not safe for concurrent use. It
// allocates nothing after New.
package plc

import (
	"math"

	"hushbox/audio"
)

// Appendix I constants, at 8 kHz.
const (
	pitchMin  = 40                      // 200 Hz
	pitchMax  = 120                     // 66 Hz
	pitchDiff = pitchMax - pitchMin     // lag search range
	povMax    = pitchMax >> 2           // longest quarter-period overlap
	histLen   = pitchMax*3 + povMax     // 390 samples of history
	nDec      = 2                       // coarse search decimation
	corrLen   = 160                     // 20 ms correlation window
	corrMin   = 250                     // minimum energy in the normalisation
	blk       = 80                      // Appendix I works in 10 ms blocks
	eOverlap  = 32                      // merge overlap growth per erased block
	attenFac  = 0.2                     // fade per 10 ms block
	attenIncr = attenFac / float32(blk) // per sample
	maxBlocks = 6                       // 60 ms of sound, then silence
)

// Concealer holds the history and the state of an ongoing erasure.
type Concealer struct {
	history  [histLen]float32 // last samples played (real or concealed)
	pitchbuf [histLen]float32 // private copy the concealment repeats
	lastq    [povMax]float32  // original last quarter period
	tmp      [blk]float32

	pitch, poverlap int
	pitchblen       int // 1, 2 or 3 periods
	poffset         int // read position within the pitch buffer
	erasecnt        int // 10 ms blocks concealed in this erasure
	atten           float32
	step            float32 // junction correction still to bend in
	stepLen, stepAt int
}

// New returns a Concealer with an all-silent history.
func New() *Concealer { return &Concealer{} }

// Reset forgets the history (a new call or a new stream).
func (c *Concealer) Reset() { *c = Concealer{} }

// Good records a real frame (audio.FrameLen samples) about to be played.
// If it follows concealment, its start is cross-faded in place from the
// concealed signal so the join does not click.
func (c *Concealer) Good(frame []int16) {
	frame = frame[:audio.FrameLen]
	if c.erasecnt > 0 {
		olen := c.poverlap + (c.erasecnt-1)*eOverlap
		if olen > blk {
			olen = blk
		}
		buf := c.tmp[:olen]
		c.synth(buf)
		c.scale(buf)
		for i := range buf {
			// Fade the real signal in, the synthetic one out.
			w := float32(i+1) / float32(olen+1)
			frame[i] = sat(w*float32(frame[i]) + (1-w)*buf[i])
		}
		c.erasecnt = 0
	}
	c.save(frame)
}

// Conceal fills dst (audio.FrameLen samples) with the concealment for a
// lost frame and records it as played.
func (c *Concealer) Conceal(dst []int16) {
	dst = dst[:audio.FrameLen]
	for h := 0; h < audio.FrameLen; h += blk {
		c.block(dst[h : h+blk])
	}
	c.save(dst)
}

// block conceals one 10 ms block (Appendix I's dofe).
func (c *Concealer) block(out []int16) {
	var f [blk]float32
	switch {
	case c.erasecnt == 0:
		copy(c.pitchbuf[:], c.history[:])
		c.pitch = c.findPitch()
		c.poverlap = c.pitch >> 2
		end := histLen
		copy(c.lastq[:c.poverlap], c.pitchbuf[end-c.poverlap:end])
		c.poffset = 0
		c.pitchblen = c.pitch
		c.seam()
		c.atten = 1
		// Bend the start onto the last real sample: the repeated
		// period begins where the sample before it ended.
		c.step = c.history[end-1] - c.history[end-c.pitch-1]
		c.stepLen, c.stepAt = c.poverlap+1, 0
		c.synth(f[:])
		c.bend(f[:])
	case c.erasecnt == 1 || c.erasecnt == 2:
		tail := c.tmp[:c.poverlap]
		save := c.poffset
		c.synth(tail) // the old buffer's continuation, to fade out
		c.poffset = save
		for c.poffset > c.pitch {
			c.poffset -= c.pitch
		}
		c.pitchblen += c.pitch // one more period of history
		c.seam()
		c.synth(f[:])
		for i := range tail {
			w := float32(i+1) / float32(len(tail)+1)
			f[i] = (1-w)*tail[i] + w*f[i]
		}
		c.scale(f[:])
	case c.erasecnt >= maxBlocks:
		// silence: f stays zero
	default:
		c.synth(f[:])
		c.scale(f[:])
	}
	c.erasecnt++
	for i := range out {
		out[i] = sat(f[i])
	}
}

// seam overlap-adds the pitch buffer's last quarter period with the quarter
// period before its start, so looping from its end to its start is smooth.
func (c *Concealer) seam() {
	q := c.poverlap
	if q == 0 {
		return
	}
	end := histLen
	start := end - c.pitchblen
	for i := range q {
		w := float32(i+1) / float32(q+1)
		c.pitchbuf[end-q+i] = (1-w)*c.lastq[i] + w*c.pitchbuf[start-q+i]
	}
}

// synth reads the repeating pitch buffer (Appendix I's getfespeech).
func (c *Concealer) synth(out []float32) {
	start := histLen - c.pitchblen
	for len(out) > 0 {
		n := min(c.pitchblen-c.poffset, len(out))
		copy(out[:n], c.pitchbuf[start+c.poffset:start+c.poffset+n])
		c.poffset += n
		if c.poffset == c.pitchblen {
			c.poffset = 0
		}
		out = out[n:]
	}
}

// bend adds the decaying junction correction to the first samples.
func (c *Concealer) bend(out []float32) {
	for i := range out {
		if c.stepAt >= c.stepLen {
			return
		}
		c.stepAt++
		out[i] += c.step * float32(c.stepLen-c.stepAt) / float32(c.stepLen)
	}
}

// scale applies the fade: 20% per 10 ms, linearly per sample.
func (c *Concealer) scale(out []float32) {
	for i := range out {
		out[i] *= c.atten
		c.atten -= attenIncr
		if c.atten < 0 {
			c.atten = 0
		}
	}
}

// save appends a played frame to the history.
func (c *Concealer) save(s []int16) {
	copy(c.history[:], c.history[len(s):])
	h := c.history[histLen-len(s):]
	for i, v := range s {
		h[i] = float32(v)
	}
}

// findPitch returns the pitch period (40..120 samples) that best predicts
// the last 20 ms from the samples one period earlier: a coarse search on
// every second sample, then a fine search around the winner, by
// normalised cross-correlation (Appendix I's findpitch).
func (c *Concealer) findPitch() int {
	pb := c.pitchbuf[:]
	r := pb[histLen-corrLen:]
	base := histLen - corrLen - pitchMax // lag pitchMax
	corrAt := func(j, stride int) float32 {
		var s float32
		l := pb[base+j:]
		for i := 0; i < corrLen; i += stride {
			s += r[i] * l[i]
		}
		return s
	}
	norm := func(corr, energy float32) float32 {
		if energy < corrMin {
			energy = corrMin
		}
		return corr / float32(math.Sqrt(float64(energy)))
	}
	var energy float32
	for i := 0; i < corrLen; i += nDec {
		v := pb[base+i]
		energy += v * v
	}
	best, bestJ := norm(corrAt(0, nDec), energy), 0
	for j := nDec; j <= pitchDiff; j += nDec {
		old, nw := pb[base+j-nDec], pb[base+j-nDec+corrLen]
		energy += nw*nw - old*old
		if v := norm(corrAt(j, nDec), energy); v >= best {
			best, bestJ = v, j
		}
	}
	lo, hi := max(bestJ-(nDec-1), 0), min(bestJ+(nDec-1), pitchDiff)
	energy = 0
	for i := range corrLen {
		v := pb[base+lo+i]
		energy += v * v
	}
	best, bestJ = norm(corrAt(lo, 1), energy), lo
	for j := lo + 1; j <= hi; j++ {
		old, nw := pb[base+j-1], pb[base+j-1+corrLen]
		energy += nw*nw - old*old
		if v := norm(corrAt(j, 1), energy); v > best {
			best, bestJ = v, j
		}
	}
	return pitchMax - bestJ
}

func sat(v float32) int16 {
	switch {
	case v >= math.MaxInt16:
		return math.MaxInt16
	case v <= math.MinInt16:
		return math.MinInt16
	case v >= 0:
		return int16(v + 0.5)
	default:
		return int16(v - 0.5)
	}
}
