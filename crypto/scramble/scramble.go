package scramble

import (
	"errors"
	"fmt"
)

// Signal constants of the scrambler.
const (
	SampleRate  = 8000 // samples per second
	VoiceBandLo = 300  // Hz, lower edge of the voice band
	VoiceBandHi = 3400 // Hz, upper edge of the voice band
)

// Errors returned (wrapped) for bad arguments.
var (
	ErrFrameSize = errors.New("unsupported frame size")
	ErrKeySize   = errors.New("bad key size")
)

// FrameSizes returns the supported frame sizes in samples (10, 20, 30 and
// 40 ms at 8 kHz).
func FrameSizes() []int { return append([]int(nil), frameSizes[:]...) }

// Scrambler scrambles and descrambles frames of one size under one key.
// Use one per call direction; it is not safe for concurrent use. A
// Scrambler holds only its key schedule and layout: the working memory of
// a frame comes from a pool shared by all Scramblers (see work).
type Scrambler struct {
	n     int
	t     *transform
	bands [3]band   // low edge, voice band, high edge
	ks    keystream // by value: one pointer fewer to chase on a cold frame
}

// band is one range of DCT bins mixed among themselves, with the offset of
// its choices in the frame's key material.
type band struct {
	lo, hi int // bins [lo, hi)
	layout mixLayout
	off    int
}

// New returns a Scrambler for frames of frameSize samples (80, 160, 240 or
// 320) keyed with a 32-byte key (a ChaCha20 key: see keystream). The key
// is the per-call, per-direction key; New keeps a copy, not the slice.
func New(key []byte, frameSize int) (*Scrambler, error) {
	t := transformFor(frameSize)
	if t == nil {
		return nil, fmt.Errorf("scramble: frame size %d: %w", frameSize, ErrFrameSize)
	}
	s := &Scrambler{n: frameSize, t: t}
	off := 0
	for i, r := range bandRanges(frameSize) {
		l := newMixLayout(r[1] - r[0])
		s.bands[i] = band{lo: r[0], hi: r[1], layout: l, off: off}
		off += l.bytes
	}
	ks, err := newKeystream(key, off)
	if err != nil {
		return nil, err
	}
	s.ks = *ks
	return s, nil
}

// bandRanges returns the three mixed ranges of DCT bins, in key-material
// order: the low edge [1, lo), the voice band [lo, hi) and the high edge
// [hi, n). Bin 0 (the frame mean, which has a different scale) is never
// mixed. Each range is mixed within itself, so energy never moves between
// the voice band and the edges: a channel that keeps 300-3400 Hz keeps the
// scrambled voice band.
func bandRanges(n int) [3][2]int {
	lo, hi := bandLimits(n)
	return [3][2]int{{1, lo}, {lo, hi}, {hi, n}}
}

// bandLimits returns the DCT bins [lo, hi) of the voice band for frame size
// n: bin k is k*4000/n Hz, lo = 300n/4000 = 3n/40, hi = 3400n/4000 = 17n/20.
func bandLimits(n int) (lo, hi int) {
	return VoiceBandLo * n / (SampleRate / 2), VoiceBandHi * n / (SampleRate / 2)
}

// FrameSize returns the frame size in samples.
func (s *Scrambler) FrameSize() int { return s.n }

// FrameNumber returns the frame number of an RTP timestamp: timestamp / N.
// Pass the timestamp extended to 64 bits (counting wraps) so that frame
// numbers, and with them the key material, never repeat within a call.
func (s *Scrambler) FrameNumber(timestamp uint64) uint64 { return timestamp / uint64(s.n) }

// Scramble writes the scrambled frame src into dst. Both must hold exactly
// FrameSize samples; dst may be src. ssrc and frame (see FrameNumber) select
// the key material. The output is saturated to int16.
func (s *Scrambler) Scramble(dst, src []int16, ssrc uint32, frame uint64) error {
	if err := s.check(dst, src); err != nil {
		return err
	}
	w := getWork(s.n, s.ks.size)
	s.t.forward(w.coef, src, &w.tmp)
	s.ks.fill(&w.ks, ssrc, frame)
	for _, b := range &s.bands {
		b.layout.mix(w.coef[b.lo:b.hi], w.mixed, w.ks.buf[b.off:])
	}
	s.t.inverse(dst, w.coef, &w.tmp)
	putWork(s.n, w)
	return nil
}

// Descramble undoes Scramble with the same key, ssrc and frame. Both slices
// must hold exactly FrameSize samples; dst may be src.
func (s *Scrambler) Descramble(dst, src []int16, ssrc uint32, frame uint64) error {
	if err := s.check(dst, src); err != nil {
		return err
	}
	w := getWork(s.n, s.ks.size)
	s.t.forward(w.coef, src, &w.tmp)
	s.ks.fill(&w.ks, ssrc, frame)
	for _, b := range &s.bands {
		b.layout.unmix(w.coef[b.lo:b.hi], w.mixed, w.ks.buf[b.off:])
	}
	s.t.inverse(dst, w.coef, &w.tmp)
	putWork(s.n, w)
	return nil
}

func (s *Scrambler) check(dst, src []int16) error {
	if len(src) != s.n || len(dst) != s.n {
		return fmt.Errorf("scramble: frame of %d samples into %d, want %d: %w", len(src), len(dst), s.n, ErrFrameSize)
	}
	return nil
}
