package guard

import (
	"math"
	"time"
)

// Level is how hard the box is pressed.
type Level int

const (
	Normal Level = iota
	Elevated
	High
	Critical
)

var levelNames = [...]string{"normal", "elevated", "high", "critical"}

func (l Level) String() string {
	if l < Normal || l > Critical {
		return "unknown"
	}
	return levelNames[l]
}

// Load is one sample of what presses the box. Each part is turned into a
// 0..1 figure; the pressure score follows the largest of them, because any
// one of them saturated is enough to hurt calls.
type Load struct {
	// DropRate is datagrams refused or shed per second.
	DropRate float64
	// QueueDelay is the longest wait of a request in the work queue.
	QueueDelay time.Duration
	// CPU is the process's CPU use as a share of all cores (0..1).
	CPU float64
}

// The figures at which each input alone counts as full pressure (score 1),
// and where CPU starts to count (a busy box is not yet a pressed one).
const (
	fullDropRate   = 2000.0 // datagrams per second refused
	fullQueueDelay = 200 * time.Millisecond
	cpuFloor       = 0.5
)

// raw is the unsmoothed 0..1 score of a sample.
func (l Load) raw() float64 {
	d := l.DropRate / fullDropRate
	q := float64(l.QueueDelay) / float64(fullQueueDelay)
	c := (l.CPU - cpuFloor) / (1 - cpuFloor)
	return clamp01(math.Max(d, math.Max(q, c)))
}

func clamp01(x float64) float64 {
	if x < 0 || math.IsNaN(x) {
		return 0
	}
	if x > 1 {
		return 1
	}
	return x
}

// Smoothing time constants: the score follows a rise within about a second
// and lets go over about twenty seconds (from full pressure to normal), so
// an attack that pauses for a breath does not bring calls back only to send
// them away again. The hand-off adds its own wait at normal (LowFor) on
// top: a longer fall here kept calls on the cloud for over a minute after
// a flood had ended.
const (
	riseTau = time.Second
	fallTau = 10 * time.Second
)

// thresholds: the score must reach up[L] to enter level L+1 and fall below
// down[L] to leave it again (down < up: hysteresis).
var (
	upAt   = [3]float64{0.25, 0.50, 0.75}
	downAt = [3]float64{0.15, 0.35, 0.60}
)

// Meter turns samples into a smoothed score and a level with hysteresis:
// it rises fast and falls slow, one level per threshold crossed. It is not
// safe for concurrent use (the guard's sampler owns it).
type Meter struct {
	score float64
	level Level
	last  time.Time
}

// Update folds in a sample taken at now and returns the new level.
func (m *Meter) Update(now time.Time, l Load) Level {
	raw := l.raw()
	dt := time.Second
	if !m.last.IsZero() {
		dt = now.Sub(m.last)
	}
	m.last = now
	if dt <= 0 {
		return m.level
	}
	tau := fallTau
	if raw > m.score {
		tau = riseTau
	}
	alpha := 1 - math.Exp(-float64(dt)/float64(tau))
	m.score = clamp01(m.score + alpha*(raw-m.score))
	for m.level < Critical && m.score >= upAt[m.level] {
		m.level++
	}
	for m.level > Normal && m.score < downAt[m.level-1] {
		m.level--
	}
	return m.level
}

// Level is the current level.
func (m *Meter) Level() Level { return m.level }

// Score is the current smoothed score, 0..1.
func (m *Meter) Score() float64 { return m.score }
