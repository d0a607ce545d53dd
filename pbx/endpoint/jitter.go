package endpoint

import (
	"sync"
	"time"

	"hushbox/audio"
	"hushbox/audio/plc"
)

// Jitter buffer bounds, in 20 ms frames.
const (
	defaultJitterFrames = 1  // a frame waits 20 ms after it arrives
	maxJitterFrames     = 10 // the delay never grows beyond 200 ms
	maxBufferedFrames   = 50 // frames held at most (one second); more = resync
	lateWindow          = 50 // two late frames within this many slots grow the delay
)

// jitterBuffer reorders received frames by RTP timestamp and hands one to
// the playout every 20 ms, concealing missing frames with audio/plc
// (G.711 Appendix I). Playout starts target frames after the first packet
// (whose arrival also anchors the playout clock, see stream.playout). A
// frame that arrives after its slot was played is dropped; when that
// happens twice within a second the delay grows by one frame (up to
// maxJitterFrames), inserting one frame. The delay never shrinks by
// dropping frames: a call's audio is never cut to catch up, so what is
// played stays aligned with what was sent (audio/jitter's buffer, which
// does shrink, shifted recordings mid-call in the acceptance tests).
// Push is called by the receiver, Pop by the playout goroutine.
type jitterBuffer struct {
	mu        sync.Mutex
	frames    map[uint32][]int16
	target    int       // frames of delay before playout
	started   bool      // a packet has arrived
	first     time.Time // when the first packet arrived
	wait      int       // slots still to wait before the next frame plays
	next      uint32    // timestamp of the next frame to play
	sinceLate int       // slots played since the last late frame
	conceal   *plc.Concealer
	stats     jitterStats
}

// jitterStats are the buffer's counters.
type jitterStats struct {
	Played, Concealed, Late, Resyncs uint64
	Target                           int // frames of delay now
}

func newJitterBuffer(target int) *jitterBuffer {
	target = max(1, min(target, maxJitterFrames))
	return &jitterBuffer{frames: make(map[uint32][]int16), target: target, sinceLate: lateWindow, conceal: plc.New()}
}

// Anchor is when the first packet arrived, false before.
func (j *jitterBuffer) Anchor() (time.Time, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.first, j.started
}

// Stats returns the counters.
func (j *jitterBuffer) Stats() jitterStats {
	j.mu.Lock()
	defer j.mu.Unlock()
	s := j.stats
	s.Target = j.target
	return s
}

// Push stores one decoded frame of audio.FrameLen samples. seq and marker
// are not needed: timestamps order the frames.
func (j *jitterBuffer) Push(_ uint16, ts uint32, _ bool, pcm []int16) {
	if len(pcm) != audio.FrameLen {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if !j.started {
		// The first frame plays in the target-th slot after its arrival.
		j.started, j.next, j.wait, j.first = true, ts, j.target-1, time.Now()
	}
	d := int32(ts - j.next)
	switch {
	case d < 0 && d > -maxBufferedFrames*audio.FrameLen:
		// Too late: its slot was concealed. A second late frame within
		// lateWindow slots grows the delay by one frame; a lone one does
		// not (one concealed frame costs less than shifting the stream).
		j.stats.Late++
		if j.sinceLate < lateWindow && j.target < maxJitterFrames {
			j.target++
			j.wait++
		}
		j.sinceLate = 0
		return
	case d < 0 || d >= maxBufferedFrames*audio.FrameLen:
		// The stream jumped (a new source, a long gap): start over here.
		clear(j.frames)
		j.next, j.wait = ts, j.target-1
		j.stats.Resyncs++
	}
	if len(j.frames) >= maxBufferedFrames {
		return
	}
	if _, dup := j.frames[ts]; dup {
		return
	}
	j.frames[ts] = append([]int16(nil), pcm...)
}

// Pop fills dst (audio.FrameLen samples) with the next 20 ms to play.
func (j *jitterBuffer) Pop(dst []int16) {
	dst = dst[:audio.FrameLen]
	j.mu.Lock()
	defer j.mu.Unlock()
	switch {
	case !j.started:
		clear(dst)
		j.conceal.Good(dst)
		return
	case j.wait > 0:
		j.wait--
		j.conceal.Conceal(dst)
		return
	}
	if f, ok := j.frames[j.next]; ok {
		copy(dst, f)
		delete(j.frames, j.next)
		j.conceal.Good(dst)
		j.stats.Played++
	} else {
		j.conceal.Conceal(dst)
		j.stats.Concealed++
	}
	j.next += audio.FrameLen
	if j.sinceLate < lateWindow {
		j.sinceLate++
	}
}
