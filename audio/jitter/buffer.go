package jitter

import (
	"sync"
	"time"

	"hushbox/audio"
)

// Capacity is the number of frame slots in the ring (1.28 s of audio): more
// than MaxDelay plus the longest underrun the buffer rides through, so a
// frame that is not too late always has a slot.
const Capacity = 64

// window is the number of recent transit times the target delay is
// computed from (about 2.5 s of packets).
const window = 128

// frameDur is the duration of one frame.
const frameDur = audio.FrameMillis * time.Millisecond

// Status is what Pop produced for this tick.
type Status uint8

const (
	// Silence: nothing to play (not started, or idle between talk spurts);
	// the caller plays silence or comfort noise. dst is zeroed.
	Silence Status = iota
	// Frame: dst holds the next real frame.
	Frame
	// Conceal: the frame due now is missing (lost or not yet arrived); the
	// caller fills dst with concealment (plc.Concealer.Conceal).
	Conceal
)

func (s Status) String() string {
	switch s {
	case Frame:
		return "frame"
	case Conceal:
		return "conceal"
	default:
		return "silence"
	}
}

// Result describes one Pop: its status and, for Frame, the RTP sequence
// number and timestamp of the frame played.
type Result struct {
	Status Status
	Seq    uint16
	TS     uint32
}

// PushResult says what Push did with a packet.
type PushResult uint8

const (
	// Stored: the frame will be played.
	Stored PushResult = iota
	// Late: its playout time has passed; discarded.
	Late
	// Duplicate: the frame is already buffered; discarded.
	Duplicate
	// Restarted: the packet did not fit the stream (a sequence jump, or a
	// run of late packets after a sender restart); the buffer was flushed
	// and a new stream started with this packet.
	Restarted
	// Invalid: the frame was not audio.FrameLen samples; discarded.
	Invalid
)

// Config bounds the adaptive delay. Zero values take the defaults.
type Config struct {
	MinDelay time.Duration // default 20 ms, at least one frame
	MaxDelay time.Duration // default 200 ms, at most Capacity/2 frames
}

// Stats are counters since New (or the last Reset) and the live delay.
type Stats struct {
	Received   uint64 // frames stored
	Duplicates uint64 // discarded as already buffered
	Late       uint64 // discarded because their playout time had passed
	Lost       uint64 // missing when due (Pop moved past them); a frame that
	//                     comes later still is counted in Late too
	Concealed uint64 // Pops that returned Conceal (loss and underrun)
	Dropped   uint64 // frames discarded to shrink the delay
	Restarts  uint64 // stream restarts (sequence jumps, sender restart)
	Played    uint64 // Pops that returned Frame

	TargetDelay  time.Duration // what the buffer aims for now
	CurrentDelay time.Duration // smoothed buffer level (frames waiting x 20 ms)
	Jitter       time.Duration // RFC 3550 interarrival jitter estimate
}

type slot struct {
	ext    int64 // extended sequence number; valid only if used
	ts     uint32
	used   bool
	marker bool
	quiet  bool
	pcm    [audio.FrameLen]int16
}

type state uint8

const (
	empty     state = iota // no packet yet
	buffering              // waiting for the first frame of a spurt to age
	playing
	idle // underrun outlasted MaxDelay; waiting for the next spurt
)

// Buffer is an adaptive jitter buffer for 20 ms frames. The zero value is
// not usable; call New.
type Buffer struct {
	mu sync.Mutex // Push (network goroutine) and Pop (playback) race

	minF, maxF int64 // delay bounds in frames

	ring [Capacity]slot

	st       state
	highest  int64 // highest extended sequence number seen
	playSeq  int64 // extended sequence number due at the next Pop
	waited   int64 // Pops since the spurt's first frame arrived (buffering)
	credit   int64 // concealed underrun frames not yet matched to a loss
	sinceAdj int64 // Pops since the last drop
	lateRun  int   // consecutive late packets
	floor    int64 // playSeq after the last Pop that played; older is late
	hasFloor bool

	// timing
	epoch     time.Time
	haveEpoch bool
	tsExt     int64 // extended timestamp of the highest packet
	transits  [window]int32
	scratch   [window]int32
	nTransit  int
	tPos      int
	transit0  int64
	prevTr    int64
	havePrev  bool
	jitterQ4  int64 // RFC 3550 A.8, in samples << 4
	target    int64 // frames
	levelQ8   int64 // smoothed buffer level, frames << 8

	stats Stats
}

// New returns an empty buffer.
func New(cfg Config) *Buffer {
	b := &Buffer{}
	b.minF = ceilFrames(cfg.MinDelay)
	if cfg.MinDelay <= 0 {
		b.minF = 1
	}
	b.maxF = int64(cfg.MaxDelay / frameDur)
	if cfg.MaxDelay <= 0 {
		b.maxF = 10
	}
	if b.minF < 1 {
		b.minF = 1
	}
	if b.maxF > Capacity/2 {
		b.maxF = Capacity / 2
	}
	if b.maxF < b.minF {
		b.maxF = b.minF
	}
	b.target = b.minF
	return b
}

func ceilFrames(d time.Duration) int64 {
	return int64((d + frameDur - 1) / frameDur)
}

// Reset forgets the stream and the counters, keeping the configuration.
func (b *Buffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reset()
}

func (b *Buffer) reset() {
	minF, maxF := b.minF, b.maxF
	b.ring = [Capacity]slot{}
	b.st, b.highest, b.playSeq, b.waited, b.credit, b.sinceAdj, b.lateRun = empty, 0, 0, 0, 0, 0, 0
	b.floor, b.hasFloor = 0, false
	b.haveEpoch, b.tsExt, b.nTransit, b.tPos, b.transit0, b.prevTr, b.havePrev = false, 0, 0, 0, 0, 0, false
	b.jitterQ4, b.levelQ8, b.stats = 0, 0, Stats{}
	b.minF, b.maxF, b.target = minF, maxF, minF
}

// Stats returns the counters and the live delay figures.
func (b *Buffer) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.stats
	s.TargetDelay = time.Duration(b.target) * frameDur
	s.CurrentDelay = time.Duration(b.levelQ8) * frameDur / 256
	// jitterQ4 is in samples (125 us) scaled by 16.
	s.Jitter = time.Duration(b.jitterQ4) * (time.Second / audio.SampleRate) / 16
	return s
}

// Push files one received frame. seq and ts are the RTP sequence number and
// timestamp, marker the RTP marker bit (start of a talk spurt), arrival the
// local receive time and frame the decoded audio (exactly audio.FrameLen
// samples; it is copied). It never blocks and never allocates.
func (b *Buffer) Push(seq uint16, ts uint32, marker bool, arrival time.Time, frame []int16) PushResult {
	if len(frame) != audio.FrameLen {
		return Invalid
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.st == empty {
		b.start(seq, ts, arrival)
	}
	ext := b.highest + int64(int16(seq-uint16(b.highest)))
	res := Stored
	switch {
	case ext < b.playSeq && (b.st != buffering || (b.hasFloor && ext < b.floor)),
		ext <= b.highest-Capacity:
		b.stats.Late++
		b.lateRun++
		if b.lateRun < 50 {
			b.noteTransit(ext, ts, arrival)
			return Late
		}
		// A second of nothing but late packets: the sender restarted
		// its sequence numbers.
		b.restart(seq, ts, arrival)
		ext, res = b.highest, Restarted
	case ext >= b.playSeq+Capacity:
		b.restart(seq, ts, arrival)
		ext, res = b.highest, Restarted
	}
	b.lateRun = 0
	s := &b.ring[ext&(Capacity-1)]
	if s.used && s.ext == ext {
		b.stats.Duplicates++
		return Duplicate
	}
	if b.st == buffering && ext < b.playSeq {
		b.playSeq = ext // reordered ahead of the spurt's first packet
	}
	if b.st == idle {
		// First packet of a new talk spurt after an idle period: buffer
		// it for the target delay before playing.
		b.st = buffering
		b.waited = 0
		b.credit = 0
		b.clearBefore(ext)
		b.playSeq = ext
	}
	if marker && b.st == playing && b.credit > 0 && ext == b.playSeq && b.highest < ext {
		// A talk spurt starts while the buffer is still concealing the
		// end of the previous one: re-buffer it for the target delay, so
		// its jitter is absorbed now, in the pause, rather than by
		// concealment in the middle of the new spurt.
		b.st = buffering
		b.waited = 0
		b.credit = 0
	}
	s.ext, s.ts, s.used, s.marker = ext, ts, true, marker
	copy(s.pcm[:], frame)
	s.quiet = isQuiet(&s.pcm)
	if ext > b.highest {
		b.highest = ext
	}
	b.noteTransit(ext, ts, arrival)
	b.stats.Received++
	return res
}

// start anchors the sequence and timestamp unwrapping on the first packet.
func (b *Buffer) start(seq uint16, ts uint32, arrival time.Time) {
	// Offsets keep extended numbers positive whatever the first value.
	b.highest = 1<<20 + int64(seq)
	b.playSeq = b.highest
	b.tsExt = 1<<33 + int64(ts)
	if !b.haveEpoch {
		b.epoch, b.haveEpoch = arrival, true
	}
	b.st = buffering
	b.waited = 0
}

// restart flushes the ring and starts a new stream at this packet.
func (b *Buffer) restart(seq uint16, ts uint32, arrival time.Time) {
	b.stats.Restarts++
	for i := range b.ring {
		b.ring[i].used = false
	}
	b.start(seq, ts, arrival)
	b.hasFloor = false
	b.credit = 0
	b.lateRun = 0
	b.nTransit, b.tPos, b.havePrev = 0, 0, false
}

// clearBefore frees the slots of frames older than ext.
func (b *Buffer) clearBefore(ext int64) {
	for i := range b.ring {
		if b.ring[i].used && b.ring[i].ext < ext {
			b.ring[i].used = false
		}
	}
}

// noteTransit records the packet's relative transit time (arrival minus
// media time, in samples) for the RFC 3550 jitter and the target delay.
func (b *Buffer) noteTransit(ext int64, ts uint32, arrival time.Time) {
	tsx := b.tsExt + int64(int32(ts-uint32(b.tsExt)))
	if ext >= b.highest {
		b.tsExt = tsx
	}
	arr := int64(arrival.Sub(b.epoch) / (time.Second / audio.SampleRate))
	tr := arr - tsx
	if b.havePrev {
		d := tr - b.prevTr
		if d < 0 {
			d = -d
		}
		if d > 1<<24 {
			d = 1 << 24 // a clock step or timestamp jump: bound its weight
		}
		b.jitterQ4 += d - ((b.jitterQ4 + 8) >> 4)
	} else {
		b.transit0 = tr
	}
	b.prevTr, b.havePrev = tr, true
	rel := tr - b.transit0
	if rel > 1<<30 {
		rel = 1 << 30
	} else if rel < -(1 << 30) {
		rel = -(1 << 30)
	}
	b.transits[b.tPos] = int32(rel)
	b.tPos = (b.tPos + 1) % window
	if b.nTransit < window {
		b.nTransit++
	}
	b.updateTarget()
}

// updateTarget sets the target delay from the spread of recent transits.
func (b *Buffer) updateTarget() {
	n := b.nTransit
	sc := b.scratch[:n]
	copy(sc, b.transits[:n])
	lo := sc[0]
	for _, v := range sc {
		if v < lo {
			lo = v
		}
	}
	hi := selectKth(sc, n*95/100)
	spread := int64(hi) - int64(lo) // samples
	t := (spread+audio.FrameLen-1)/audio.FrameLen + 1
	if t < b.minF {
		t = b.minF
	}
	if t > b.maxF {
		t = b.maxF
	}
	b.target = t
}

// selectKth partially sorts a (Hoare quickselect, no allocation) and
// returns its k-th smallest element.
func selectKth(a []int32, k int) int32 {
	lo, hi := 0, len(a)-1
	for lo < hi {
		p := a[lo+(hi-lo)/2]
		i, j := lo, hi
		for i <= j {
			for a[i] < p {
				i++
			}
			for a[j] > p {
				j--
			}
			if i <= j {
				a[i], a[j] = a[j], a[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return a[k]
		}
	}
	return a[k]
}

// quietLevel is the mean absolute sample value under which a frame counts as
// silence between words (about -54 dBFS), where dropping it is inaudible.
const quietLevel = 64

func isQuiet(p *[audio.FrameLen]int16) bool {
	var sum int32
	for _, v := range p {
		if v < 0 {
			sum -= int32(v)
		} else {
			sum += int32(v)
		}
	}
	return sum < quietLevel*audio.FrameLen
}

// Pop is called once per 20 ms playback tick. It fills dst (at least
// audio.FrameLen samples) with the next frame and returns Frame, or returns
// Conceal (dst untouched: the caller conceals) or Silence (dst zeroed).
func (b *Buffer) Pop(dst []int16) Result {
	dst = dst[:audio.FrameLen]
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.st {
	case empty, idle:
		clear(dst)
		return Result{Status: Silence}
	case buffering:
		b.waited++
		if b.waited < b.target {
			clear(dst)
			return Result{Status: Silence}
		}
		b.st = playing
		b.sinceAdj = 0
		if b.hasFloor && b.playSeq > b.floor {
			// Frames between the last spurt and this one never came.
			b.stats.Lost += uint64(b.playSeq - b.floor)
		}
		b.levelQ8 = -1
	}
	b.sinceAdj++
	if l := b.level(); l > b.maxF {
		// The newest frame would wait longer than MaxDelay (a burst
		// after a long stall, a fast sender): skip ahead.
		for range l - b.maxF {
			s := &b.ring[b.playSeq&(Capacity-1)]
			if s.used && s.ext == b.playSeq {
				s.used = false
				b.stats.Dropped++
			} else {
				b.stats.Lost++
			}
			b.playSeq++
		}
		b.credit = 0
		b.sinceAdj = 0
	}
	if b.levelQ8 < 0 {
		b.levelQ8 = b.level() << 8 // first tick of a spurt
	}
	b.levelQ8 += (b.level()<<8 - b.levelQ8) >> 4
	defer b.setFloor()
	for {
		s := &b.ring[b.playSeq&(Capacity-1)]
		if s.used && s.ext == b.playSeq {
			if b.shouldDrop(s) {
				s.used = false
				b.playSeq++
				b.stats.Dropped++
				b.sinceAdj = 0
				continue
			}
			copy(dst, s.pcm[:])
			s.used = false
			b.playSeq++
			b.credit = 0
			b.stats.Played++
			return Result{Status: Frame, Seq: uint16(s.ext), TS: s.ts}
		}
		if b.highest >= b.playSeq {
			// Missing with newer frames present: lost.
			b.stats.Lost++
			b.playSeq++
			if b.credit > 0 {
				// Already concealed during the underrun.
				b.credit--
				continue
			}
			b.stats.Concealed++
			return Result{Status: Conceal}
		}
		// Underrun: the frame may still come. Conceal without advancing,
		// which grows the delay by one frame.
		b.credit++
		if b.credit > b.maxF {
			b.st = idle
			b.credit = 0
			b.levelQ8 = 0
			clear(dst)
			return Result{Status: Silence}
		}
		b.stats.Concealed++
		return Result{Status: Conceal}
	}
}

// setFloor remembers the oldest frame still playable: anything older is
// late even while a new spurt is buffering.
func (b *Buffer) setFloor() {
	b.floor, b.hasFloor = b.playSeq, true
}

// level is the number of frames from the one due now to the newest.
func (b *Buffer) level() int64 {
	l := b.highest - b.playSeq + 1
	if l < 0 {
		return 0
	}
	return l
}

// shouldDrop decides whether to discard the frame due now to shrink the
// delay: the smoothed level is over target by more than a frame, the last
// adjustment was at least a second ago, the next frame is already here,
// and the frame is quiet or the excess is large.
func (b *Buffer) shouldDrop(s *slot) bool {
	if b.levelQ8 <= (b.target+1)<<8 || b.sinceAdj < 50 {
		return false
	}
	next := &b.ring[(b.playSeq+1)&(Capacity-1)]
	if !next.used || next.ext != b.playSeq+1 {
		return false
	}
	return s.quiet || b.levelQ8 >= (b.target+3)<<8
}
