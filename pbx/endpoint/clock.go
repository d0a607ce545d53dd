package endpoint

import (
	"time"

	"hushbox/audio"
)

// Bounds of captureClock: a sound card's frames may arrive in bursts (after
// a scheduling stall they come all at once, and must all be sent), but on
// average never faster than one per 20 ms.
const (
	// captureAhead is how far the sender may run ahead of real time before
	// it waits: a little jitter of a real card never makes it wait.
	captureAhead = 3 * audio.FrameMillis * time.Millisecond
	// captureBehind is how far behind real time the clock lets the sender
	// fall before it forgets the debt: after a long stall a clockless
	// device must not get a free burst of seconds.
	captureBehind = time.Second
)

// captureClock keeps the sender's frame rate at or below real time.
type captureClock struct {
	start  time.Time
	frames int
}

// frame counts one captured frame read at now and returns how long the
// sender should wait before sending it (zero when the device paced it).
func (c *captureClock) frame(now time.Time) time.Duration {
	const slot = audio.FrameMillis * time.Millisecond
	if c.start.IsZero() {
		c.start = now
	}
	due := c.start.Add(time.Duration(c.frames) * slot)
	c.frames++
	ahead := due.Sub(now)
	if ahead < -captureBehind {
		// Far behind (a stall): restart the clock here.
		c.start, c.frames = now, 1
		return 0
	}
	if ahead > captureAhead {
		return ahead - captureAhead
	}
	return 0
}
