package main

import (
	"math"
	"slices"
)

// percentile returns the p-th percentile (0..100, nearest rank) of sorted.
func percentile(sorted []int64, p float64) int64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	if rank > len(sorted) {
		rank = len(sorted)
	}
	return sorted[rank-1]
}

// jitter is the RFC 3550 (section 6.4.1) interarrival jitter estimator,
// fed with the transit time (receive - send) of each packet in arrival
// order: J += (|D| - J) / 16.
type jitter struct {
	last  int64
	j     float64
	begun bool
}

func (j *jitter) add(transit int64) {
	if j.begun {
		d := transit - j.last
		if d < 0 {
			d = -d
		}
		j.j += (float64(d) - j.j) / 16
	}
	j.last, j.begun = transit, true
}

// summary is what one load step reports.
type summary struct {
	Sent, Received int64
	P50, P99, Max  int64   // latency, ns
	JitterMean     float64 // ns, mean over streams
}

// summarise sorts lat in place and fills the latency and loss figures.
func summarise(sent int64, lat []int64, jit []float64) summary {
	slices.Sort(lat)
	s := summary{Sent: sent, Received: int64(len(lat))}
	s.P50, s.P99 = percentile(lat, 50), percentile(lat, 99)
	if len(lat) > 0 {
		s.Max = lat[len(lat)-1]
	}
	var sum float64
	for _, j := range jit {
		sum += j
	}
	if len(jit) > 0 {
		s.JitterMean = sum / float64(len(jit))
	}
	return s
}

// lossPct is the share of packets sent in the window that never arrived.
func (s summary) lossPct() float64 {
	if s.Sent == 0 {
		return 100
	}
	l := float64(s.Sent-s.Received) / float64(s.Sent) * 100
	return math.Max(l, 0)
}
