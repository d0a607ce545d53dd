package audio

import "time"

// Pacer makes a Device that has no clock of its own (null, WAV files)
// behave like a sound card: the n-th call of Wait returns no earlier than
// n frames (20 ms each) after the first. It catches up after a slow caller
// instead of drifting, so the long-run rate is exactly SampleRate.
// The zero value is ready; a Pacer serves one goroutine.
type Pacer struct {
	start  time.Time
	frames int64
	// Sleep replaces time.Sleep in tests; nil means time.Sleep.
	Sleep func(time.Duration)
	// Now replaces time.Now in tests; nil means time.Now.
	Now func() time.Time
}

// Wait blocks until the next frame is due.
func (p *Pacer) Wait() {
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	sleep := time.Sleep
	if p.Sleep != nil {
		sleep = p.Sleep
	}
	if p.frames == 0 {
		p.start = now()
	}
	due := p.start.Add(time.Duration(p.frames) * FrameMillis * time.Millisecond)
	p.frames++
	if d := due.Sub(now()); d > 0 {
		sleep(d)
	}
}
