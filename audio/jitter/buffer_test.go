package jitter

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"hushbox/audio"
)

// pkt is one packet of a recorded-style arrival pattern.
type pkt struct {
	seq     uint16
	ts      uint32
	marker  bool
	arrival time.Duration // since the start of the call
}

// pattern builds n packets sent every 20 ms starting at seq0/ts0, delayed
// by delay(i) (negative = dropped).
func pattern(n int, seq0 uint16, ts0 uint32, period time.Duration, delay func(i int) time.Duration) []pkt {
	var ps []pkt
	for i := range n {
		d := delay(i)
		if d < 0 {
			continue
		}
		ps = append(ps, pkt{
			seq:     seq0 + uint16(i),
			ts:      ts0 + uint32(i*audio.FrameLen),
			marker:  i == 0,
			arrival: time.Duration(i)*period + d,
		})
	}
	slices.SortStableFunc(ps, func(a, b pkt) int { return cmp.Compare(a.arrival, b.arrival) })
	return ps
}

// fill makes a frame that identifies its sequence number.
func fill(seq uint16) []int16 {
	f := make([]int16, audio.FrameLen)
	for i := range f {
		f[i] = int16(seq) ^ int16(i)
	}
	return f
}

// run plays a pattern through a buffer with a 20 ms tick (phase 10 ms) for
// ticks ticks and returns the Pop results in order.
type outcome struct {
	results []Result
	stats   Stats
	maxCur  time.Duration
}

func run(t *testing.T, b *Buffer, ps []pkt, ticks int) outcome {
	t.Helper()
	var out outcome
	base := time.Unix(1_700_000_000, 0)
	dst := make([]int16, audio.FrameLen)
	next := 0
	for k := range ticks {
		now := time.Duration(k)*frameDur + 10*time.Millisecond
		for next < len(ps) && ps[next].arrival <= now {
			p := ps[next]
			b.Push(p.seq, p.ts, p.marker, base.Add(p.arrival), fill(p.seq))
			next++
		}
		r := b.Pop(dst)
		if r.Status == Frame && !slices.Equal(dst, fill(r.Seq)) {
			t.Fatalf("tick %d: frame for seq %d has the wrong content", k, r.Seq)
		}
		out.results = append(out.results, r)
		if c := b.Stats().CurrentDelay; c > out.maxCur {
			out.maxCur = c
		}
	}
	out.stats = b.Stats()
	return out
}

// played lists the sequence numbers of the frames played, in order.
func (o outcome) played() []uint16 {
	var s []uint16
	for _, r := range o.results {
		if r.Status == Frame {
			s = append(s, r.Seq)
		}
	}
	return s
}

func TestPatterns(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	uniform := func(max time.Duration) func(int) time.Duration {
		return func(int) time.Duration { return time.Duration(rng.Int64N(int64(max))) }
	}
	tests := []struct {
		name   string
		pkts   []pkt
		ticks  int
		played int    // frames sent
		lost   uint64 // frames never sent
		late   uint64 // at most
		maxDel time.Duration
	}{
		{
			name: "clean LAN", ticks: 520, played: 500,
			pkts:   pattern(500, 1000, 0, frameDur, func(int) time.Duration { return 2 * time.Millisecond }),
			maxDel: 40 * time.Millisecond,
		},
		{
			name: "adjacent reorder", ticks: 520, played: 500,
			pkts: pattern(500, 7, 99, frameDur, func(i int) time.Duration {
				if i%10 == 3 {
					return 25 * time.Millisecond // arrives after packet i+1
				}
				return time.Millisecond
			}),
			late: 1, maxDel: 80 * time.Millisecond,
		},
		{
			name: "burst loss of five", ticks: 220, played: 195, lost: 5,
			pkts: pattern(200, 1, 1, frameDur, func(i int) time.Duration {
				if i >= 100 && i < 105 {
					return -1
				}
				return time.Millisecond
			}),
			maxDel: 40 * time.Millisecond,
		},
		{
			name: "jitter spike of 120 ms", ticks: 520, played: 500,
			pkts: pattern(500, 300, 5, frameDur, func(i int) time.Duration {
				if i >= 200 && i < 206 {
					return time.Duration(126-20*(i-200)) * time.Millisecond // queued then released at once
				}
				return time.Millisecond
			}),
			late: 0, maxDel: 200 * time.Millisecond,
		},
		{
			name: "uniform jitter 0-60 ms", ticks: 1100, played: 1000,
			pkts: pattern(1000, 0, 0, frameDur, uniform(60*time.Millisecond)),
			late: 20, maxDel: 200 * time.Millisecond,
		},
		{
			name: "sequence and timestamp wrap", ticks: 320, played: 300,
			pkts:   pattern(300, 65500, 4294967295-8000, frameDur, func(int) time.Duration { return 3 * time.Millisecond }),
			maxDel: 40 * time.Millisecond, // the order check is modulo 2^16
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := New(Config{})
			o := run(t, b, tc.pkts, tc.ticks)
			got := o.played()
			// Every frame sent is played, lost (never sent, or late),
			// or dropped to shrink the delay.
			if n := uint64(len(got)) + o.stats.Late + o.stats.Dropped; n != uint64(tc.played) {
				t.Errorf("played %d + late %d + dropped %d = %d, want %d", len(got), o.stats.Late, o.stats.Dropped, n, tc.played)
			}
			if o.stats.Dropped > 10 {
				t.Errorf("dropped %d frames to shrink, want a few", o.stats.Dropped)
			}
			if o.stats.Lost-o.stats.Late != tc.lost {
				t.Errorf("lost %d (late %d), want %d never arrived", o.stats.Lost, o.stats.Late, tc.lost)
			}
			if o.stats.Late > tc.late {
				t.Errorf("late %d, want at most %d", o.stats.Late, tc.late)
			}
			if o.maxCur > tc.maxDel {
				t.Errorf("delay reached %v, want at most %v", o.maxCur, tc.maxDel)
			}
			for i := 1; i < len(got); i++ {
				if d := got[i] - got[i-1]; d == 0 || d > 20 {
					t.Fatalf("frames out of order: %d after %d", got[i], got[i-1])
				}
			}
			t.Logf("%s: %+v", tc.name, o.stats)
		})
	}
}

func TestLossConcealedOncePerFrame(t *testing.T) {
	// On a clean stream each lost frame costs exactly one Conceal and the
	// delay does not grow.
	ps := pattern(300, 10, 0, frameDur, func(i int) time.Duration {
		if i%50 == 25 {
			return -1
		}
		return time.Millisecond
	})
	b := New(Config{})
	o := run(t, b, ps, 310)
	var conceal int
	for _, r := range o.results[:300] {
		if r.Status == Conceal {
			conceal++
		}
	}
	if o.stats.Lost != 6 || conceal != 6 {
		t.Errorf("lost %d, conceals %d; want 6 and 6", o.stats.Lost, conceal)
	}
	if o.stats.TargetDelay != frameDur {
		t.Errorf("target %v, want 20ms", o.stats.TargetDelay)
	}
}

func TestDuplicates(t *testing.T) {
	ps := pattern(100, 1, 0, frameDur, func(int) time.Duration { return time.Millisecond })
	var dup []pkt
	for _, p := range ps {
		dup = append(dup, p, pkt{p.seq, p.ts, false, p.arrival + 5*time.Millisecond})
	}
	b := New(Config{})
	o := run(t, b, dup, 110)
	if len(o.played()) != 100 {
		t.Errorf("played %d, want 100", len(o.played()))
	}
	// Duplicates of frames not yet played are Duplicate; of frames
	// already played, Late. Either way none is played twice.
	if o.stats.Duplicates+o.stats.Late != 100 {
		t.Errorf("duplicates %d + late %d, want 100", o.stats.Duplicates, o.stats.Late)
	}
}

func TestClockDrift(t *testing.T) {
	for _, tc := range []struct {
		name   string
		period time.Duration
	}{
		{"sender 1% fast", frameDur * 99 / 100},
		{"sender 1% slow", frameDur * 101 / 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := pattern(3000, 0, 0, tc.period, func(int) time.Duration { return time.Millisecond })
			b := New(Config{})
			o := run(t, b, ps, 3000)
			if o.maxCur > 200*time.Millisecond {
				t.Errorf("delay ran away to %v", o.maxCur)
			}
			if o.stats.Lost != 0 || o.stats.Late != 0 {
				t.Errorf("lost %d late %d, want none", o.stats.Lost, o.stats.Late)
			}
			played := len(o.played())
			if played < 2900 {
				t.Errorf("played %d of 3000", played)
			}
			t.Logf("%+v", o.stats)
		})
	}
}

func TestTalkSpurts(t *testing.T) {
	// Silence suppression: 100 frames, a 2 s pause (timestamps jump,
	// sequence numbers continue), then 100 frames with the marker bit.
	first := pattern(100, 500, 0, frameDur, func(int) time.Duration { return time.Millisecond })
	second := pattern(100, 600, 100*160+16000, frameDur, func(int) time.Duration { return time.Millisecond })
	for i := range second {
		second[i].arrival += 4 * time.Second
	}
	b := New(Config{})
	o := run(t, b, append(first, second...), 320)
	if got := len(o.played()); got != 200 {
		t.Errorf("played %d, want 200", got)
	}
	if o.stats.Lost != 0 {
		t.Errorf("lost %d over a silence, want 0", o.stats.Lost)
	}
	var silence int
	for _, r := range o.results[110:190] {
		if r.Status == Silence {
			silence++
		}
	}
	if silence < 70 {
		t.Errorf("%d silent ticks in the pause, want the buffer idle", silence)
	}
}

func TestSenderRestart(t *testing.T) {
	// The far end restarts with new sequence numbers far behind.
	first := pattern(100, 40000, 0, frameDur, func(int) time.Duration { return time.Millisecond })
	second := pattern(100, 100, 777, frameDur, func(int) time.Duration { return time.Millisecond })
	for i := range second {
		second[i].arrival += 100 * frameDur
	}
	b := New(Config{})
	o := run(t, b, append(first, second...), 210)
	if got := len(o.played()); got != 200 {
		t.Errorf("played %d, want 200 (%+v)", got, o.stats)
	}
	if o.stats.Restarts != 1 {
		t.Errorf("restarts %d, want 1", o.stats.Restarts)
	}
}

func TestDelayBounds(t *testing.T) {
	// Huge jitter: the target is clamped to MaxDelay.
	rng := rand.New(rand.NewPCG(3, 4))
	ps := pattern(1000, 0, 0, frameDur, func(int) time.Duration {
		return time.Duration(rng.Int64N(int64(400 * time.Millisecond)))
	})
	b := New(Config{MinDelay: 40 * time.Millisecond, MaxDelay: 120 * time.Millisecond})
	o := run(t, b, ps, 1100)
	if o.stats.TargetDelay != 120*time.Millisecond {
		t.Errorf("target %v, want the 120ms max", o.stats.TargetDelay)
	}
	if o.maxCur > 200*time.Millisecond {
		t.Errorf("delay %v over bounds", o.maxCur)
	}
	b = New(Config{MinDelay: 40 * time.Millisecond})
	if got := b.Stats().TargetDelay; got != 40*time.Millisecond {
		t.Errorf("initial target %v, want the 40ms min", got)
	}
}

func TestInvalidFrame(t *testing.T) {
	b := New(Config{})
	if r := b.Push(1, 0, false, time.Now(), make([]int16, 10)); r != Invalid {
		t.Errorf("short frame: %v, want Invalid", r)
	}
	dst := make([]int16, audio.FrameLen)
	if r := b.Pop(dst); r.Status != Silence {
		t.Errorf("empty buffer Pop: %v, want silence", r.Status)
	}
}

func TestPushPopAllocs(t *testing.T) {
	b := New(Config{})
	frame := fill(1)
	dst := make([]int16, audio.FrameLen)
	now := time.Now()
	var seq uint16
	allocs := testing.AllocsPerRun(1000, func() {
		now = now.Add(frameDur)
		b.Push(seq, uint32(seq)*160, false, now, frame)
		seq++
		b.Pop(dst)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per Push+Pop, want 0", allocs)
	}
}

func BenchmarkPushPop(b *testing.B) {
	buf := New(Config{})
	frame := fill(1)
	dst := make([]int16, audio.FrameLen)
	now := time.Now()
	var seq uint16
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(frameDur)
		buf.Push(seq, uint32(seq)*160, false, now, frame)
		seq++
		buf.Pop(dst)
	}
}

func TestShortPauseReanchors(t *testing.T) {
	// Two jittery talk spurts 100 ms apart (shorter than MaxDelay, so the
	// buffer is still concealing when the second starts). The marker
	// packet re-buffers for the target delay instead of playing at once,
	// so the jitter of the second spurt is absorbed in the pause, not by
	// concealment in the middle of speech.
	rng := rand.New(rand.NewPCG(5, 6))
	jit := func(int) time.Duration { return time.Duration(rng.Int64N(int64(50 * time.Millisecond))) }
	first := pattern(200, 0, 0, frameDur, jit)
	second := pattern(200, 200, 205*160, frameDur, jit)
	for i := range second {
		second[i].arrival += 205 * frameDur
	}
	o := run(t, New(Config{}), append(first, second...), 450)
	// Conceals between the first and the last frame of the second spurt.
	var in, started bool
	var conceals int
	for _, r := range o.results {
		if r.Status == Frame && r.Seq == 200 {
			started, in = true, true
		}
		if r.Status == Frame && r.Seq == 399 {
			in = false
		}
		if in && r.Status == Conceal {
			conceals++
		}
	}
	t.Logf("conceals inside the second spurt: %d (%+v)", conceals, o.stats)
	if !started || conceals > 0 {
		t.Errorf("%d concealed frames inside the second spurt, want none", conceals)
	}
}

func TestReset(t *testing.T) {
	b := New(Config{MinDelay: 40 * time.Millisecond})
	run(t, b, pattern(50, 100, 0, frameDur, func(int) time.Duration { return time.Millisecond }), 60)
	b.Reset()
	if st := b.Stats(); st.Received != 0 || st.Played != 0 || st.TargetDelay != 40*time.Millisecond {
		t.Fatalf("stats after Reset: %+v", st)
	}
	// A new call with unrelated numbers plays from its first frame.
	o := run(t, b, pattern(50, 9, 12345, frameDur, func(int) time.Duration { return time.Millisecond }), 60)
	if got := o.played(); len(got) != 50 || got[0] != 9 || o.stats.Restarts != 0 {
		t.Errorf("after Reset played %d frames from %v, restarts %d", len(got), got[:1], o.stats.Restarts)
	}
}
