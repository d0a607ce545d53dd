package interop

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"testing"
	"time"
)

// The gap a party would hear from the path alone (pathGap) and the
// packet-by-packet account of a silence (silenceTimeline), from the
// captures of the hand-off test (testbed_gaps_test.go reads them).

// rtpKey names one RTP packet of one stream.
type rtpKey struct {
	ssrc, ts uint32
	seq      uint16
}

// sentRTP is the sending side's half of pathGap: when each RTP packet of
// a capture was seen leaving its sender, by packet and by stream.
type sentRTP struct {
	at     map[rtpKey]time.Time
	stream map[uint32][]timedDatagram
}

// departures indexes the RTP packets of a capture (the first sighting of
// each).
func departures(ds []timedDatagram) sentRTP {
	s := sentRTP{at: make(map[rtpKey]time.Time, len(ds)), stream: map[uint32][]timedDatagram{}}
	for _, d := range ds {
		if !d.rtp {
			continue
		}
		k := rtpKey{d.ssrc, d.ts, d.seq}
		if _, dup := s.at[k]; !dup {
			s.at[k] = d.at
			s.stream[d.ssrc] = append(s.stream[d.ssrc], d)
		}
	}
	return s
}

// pathGap is the longest silence the party at dst would hear between
// from and to if its peer sent every packet exactly on time: the gap the
// path (the board, the cloud, the router, the moves between them) adds,
// without the stalls of the sending phone itself. In the test bed all
// forty phones, the board, the cloud and the flooder share one host's two
// cores, so a phone is sometimes late to send; a real phone on its own
// hardware is not, and its peer would not hear that silence.
func pathGap(arrived []timedDatagram, sent sentRTP, dst netip.AddrPort, clock int, from, to time.Time) flowGap {
	var n int
	g := longestSilence(pathSilences(arrived, sent, dst, clock, from, to, &n), from)
	g.packets = n
	return g
}

// longestSilence is the longest of silences (at from, none, when empty).
func longestSilence(silences []flowGap, from time.Time) flowGap {
	g := flowGap{at: from}
	for _, s := range silences {
		if s.longest > g.longest {
			g.longest, g.at = s.longest, s.at
		}
	}
	return g
}

// pathSilences lists the silences pathGap takes the longest of, each with
// when it began, so that a silence is counted whole in the phase it began
// in (measured phase by phase, one across a boundary would be cut in two).
// packets counts the RTP packets that arrived at dst in the window.
//
// Each packet that arrived at dst is matched (SSRC, timestamp, sequence
// number) with the moment sent saw it leave its sender, on the same clock
// (all namespaces share the host's): its path delay d. Walking a stream's
// packets in RTP timestamp order, the silence between two packets that
// arrived, k then m, is what an on-time sender's gap would have been,
// (ts_m - ts_k)/clock, plus what the path delayed m more than k, d_m - d_k.
// Packets sent in the window and lost count as silence, also before the
// first and after the last that arrived (there no longer than the time
// from the window's edge, so packets still in flight at its end are not
// counted lost). Arrivals whose departure is not in sent (the sender's
// capture missed them) are skipped. A stream that sent nothing in the
// window has no path silence here: longestGap sees it.
func pathSilences(arrived []timedDatagram, sent sentRTP, dst netip.AddrPort, clock int, from, to time.Time, packets *int) []flowGap {
	type pkt struct {
		rel   int64 // RTP timestamp relative to the stream's first, in clock ticks
		delay time.Duration
		at    time.Time
	}
	streams := map[uint32][]pkt{}
	first := map[uint32]uint32{}
	for _, d := range arrived {
		if !d.rtp || d.dst != dst || d.at.Before(from) || d.at.After(to) {
			continue
		}
		*packets++
		s, ok := sent.at[rtpKey{d.ssrc, d.ts, d.seq}]
		if !ok {
			continue
		}
		f, seen := first[d.ssrc]
		if !seen {
			f = d.ts
			first[d.ssrc] = f
		}
		streams[d.ssrc] = append(streams[d.ssrc], pkt{int64(int32(d.ts - f)), d.at.Sub(s), d.at})
	}
	tick := time.Second / time.Duration(clock)
	var out []flowGap
	for ssrc, ps := range streams {
		sort.Slice(ps, func(i, j int) bool { return ps[i].rel < ps[j].rel })
		for i := 1; i < len(ps); i++ {
			k, m := ps[i-1], ps[i]
			out = append(out, flowGap{longest: time.Duration(m.rel-k.rel)*tick + m.delay - k.delay, at: k.at})
		}
		// Sent in the window before the first or after the last arrival,
		// never heard.
		lo, hi := ps[0], ps[len(ps)-1]
		var head, tail time.Duration
		for _, d := range sent.stream[ssrc] {
			if d.at.Before(from) || d.at.After(to) {
				continue
			}
			rel := int64(int32(d.ts - first[ssrc]))
			head = max(head, time.Duration(lo.rel-rel)*tick)
			tail = max(tail, time.Duration(rel-hi.rel)*tick)
		}
		if head = min(head, lo.at.Sub(from)); head > 0 {
			out = append(out, flowGap{longest: head, at: from})
		}
		if tail = min(tail, to.Sub(hi.at)); tail > 0 {
			out = append(out, flowGap{longest: tail, at: hi.at})
		}
	}
	return out
}

// rtpTimedFrame is an IPv4/UDP frame from src to dst whose payload starts
// with the RTP header of packet seq of stream ssrc (20 ms of G.711 per
// packet), cut after the header as the test bed's capture cuts it.
func rtpTimedFrame(at time.Time, src, dst netip.AddrPort, ssrc uint32, seq int) timedFrame {
	h := make([]byte, 12)
	h[0], h[1] = 0x80, 0 // version 2, PCMU
	binary.BigEndian.PutUint16(h[2:], uint16(1000+seq))
	binary.BigEndian.PutUint32(h[4:], uint32(4_294_960_000+160*seq)) // wraps: relative timestamps must
	binary.BigEndian.PutUint32(h[8:], ssrc)
	return timedFrame{at: at, frame: append(ipv4UDPHeader(src, dst, 172, 0), h...), cut: 160}
}

func TestPathGap(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	phone := netip.MustParseAddrPort("10.71.1.2:30000") // sender
	relay, party := capBoard, capRemote                 // the board's leg, the receiver
	const n = 50                                        // packets, 1 s
	ms := func(v int) time.Duration { return time.Duration(v) * time.Millisecond }
	for _, c := range []struct {
		name string
		// sentAt and delay give packet i's send time and path delay in
		// ms; lost packets (delay < 0) never arrive.
		sentAt, delay func(i int) int
		path, heard   time.Duration
	}{
		{"on time, steady path", func(i int) int { return 20 * i }, func(int) int { return 3 }, ms(20), ms(20)},
		// The path holds packets 20-24 until 200 ms after packet 20 was
		// due: the party hears 220 ms of silence either way.
		{"path stall", func(i int) int { return 20 * i }, func(i int) int {
			if i >= 20 && i < 25 {
				return 3 + 200 - 20*(i-20)
			}
			return 3
		}, ms(220), ms(220)},
		// The phone itself stops for 150 ms and then sends what it owes
		// at once: heard as silence in the test bed, not the path's.
		{"sender stall", func(i int) int {
			if i >= 20 && i < 28 {
				return 20*19 + 170
			}
			return 20 * i
		}, func(int) int { return 3 }, ms(20), ms(170)},
		{"three lost", func(i int) int { return 20 * i }, func(i int) int {
			if i >= 30 && i < 33 {
				return -1
			}
			return 3
		}, ms(80), ms(80)},
		// The last ten are sent and lost: silence to the window's end.
		{"lost at the end", func(i int) int { return 20 * i }, func(i int) int {
			if i >= 40 {
				return -1
			}
			return 3
		}, ms(200), ms(1000 - 780 - 3)},
		// A slow but steady path: the last two packets are still on the
		// way when the window ends, which is not a silence of the path.
		{"in flight at the end", func(i int) int { return 20 * i }, func(int) int { return 50 }, ms(20), ms(47)},
	} {
		t.Run(c.name, func(t *testing.T) {
			var sent, arrived []timedFrame
			for i := range n {
				at := t0.Add(ms(c.sentAt(i)))
				sent = append(sent, rtpTimedFrame(at, phone, relay, 0xfeed, i))
				if d := c.delay(i); d >= 0 {
					arrived = append(arrived, rtpTimedFrame(at.Add(ms(d)), relay, party, 0xfeed, i))
				}
			}
			// The sender's capture is parsed like the receiver's; a
			// stream to another party must not count.
			sent = append(sent, rtpTimedFrame(t0, phone, relay, 0xbeef, 0))
			arrived = append(arrived, rtpTimedFrame(t0.Add(ms(500)), relay, netip.MustParseAddrPort("10.71.3.2:30002"), 0xbeef, 0))
			sds, err := parsePcapTimed(pcapTimedFile(sent))
			if err != nil {
				t.Fatal(err)
			}
			ads, err := parsePcapTimed(pcapTimedFile(arrived))
			if err != nil {
				t.Fatal(err)
			}
			from, to := t0, t0.Add(ms(20*n))
			if got := pathGap(ads, departures(sds), party, 8000, from, to); got.longest != c.path {
				t.Errorf("path gap %v, want %v", got.longest, c.path)
			}
			if got := longestGap(ads, party, from.Add(ms(3)), to); got.longest != c.heard {
				t.Errorf("heard gap %v, want %v", got.longest, c.heard)
			}
		})
	}
}

// silenceTimeline describes, packet by packet, the RTP that dst received
// (and what was sent to it and lost) from margin before at until margin
// after at+span: sequence number, when it left its sender, when and from
// where it arrived. The hand-off test logs it for the longest silence, so
// a run says whether that silence was loss or delay, and on which path.
func silenceTimeline(arrived []timedDatagram, sent sentRTP, dst netip.AddrPort, at time.Time, span, margin time.Duration) []string {
	from, to := at.Add(-margin), at.Add(span+margin)
	type row struct {
		seq      uint16
		ts       uint32
		sentAt   time.Time
		sentTo   netip.AddrPort // where the sender addressed it
		arriveAt time.Time
		via      netip.AddrPort
	}
	rows := map[rtpKey]*row{}
	ssrcs := map[uint32]bool{}
	heard := map[rtpKey]bool{}
	for _, d := range arrived {
		if !d.rtp || d.dst != dst {
			continue
		}
		k := rtpKey{d.ssrc, d.ts, d.seq}
		heard[k] = true
		if d.at.Before(from) || d.at.After(to) {
			continue
		}
		if rows[k] == nil {
			rows[k] = &row{seq: d.seq, ts: d.ts, sentAt: sent.at[k], arriveAt: d.at, via: d.src}
		}
		ssrcs[d.ssrc] = true
	}
	// Where each was sent; those sent in the span and never heard at all
	// are lost.
	for ssrc := range ssrcs {
		for _, d := range sent.stream[ssrc] {
			k := rtpKey{d.ssrc, d.ts, d.seq}
			if r := rows[k]; r != nil {
				r.sentTo = d.dst
			} else if !heard[k] && !d.at.Before(from) && !d.at.After(to) {
				rows[k] = &row{seq: d.seq, ts: d.ts, sentAt: d.at, sentTo: d.dst}
			}
		}
	}
	list := make([]*row, 0, len(rows))
	for _, r := range rows {
		list = append(list, r)
	}
	sort.Slice(list, func(i, j int) bool { return int32(list[i].ts-list[j].ts) < 0 })
	rel := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return fmt.Sprintf("%+.1f ms", float64(t.Sub(at).Microseconds())/1000)
	}
	out := make([]string, 0, len(list))
	for _, r := range list {
		what := fmt.Sprintf("arrived %s from %s, path %.1f ms", rel(r.arriveAt), r.via, float64(r.arriveAt.Sub(r.sentAt).Microseconds())/1000)
		switch {
		case r.arriveAt.IsZero():
			what = "lost"
		case r.sentAt.IsZero():
			what = fmt.Sprintf("arrived %s from %s, departure not captured", rel(r.arriveAt), r.via)
		}
		out = append(out, fmt.Sprintf("seq %5d sent %s to %s, %s", r.seq, rel(r.sentAt), r.sentTo, what))
	}
	return out
}

func TestSilenceTimeline(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	phone := netip.MustParseAddrPort("10.71.1.2:30000")
	board, cloud, party := capBoard, capCloud, capRemote
	ms := func(v int) time.Duration { return time.Duration(v) * time.Millisecond }
	var sent, arrived []timedFrame
	// Packets 0-9 through the board, 10-12 lost in the move, 13-19 through
	// the cloud, 5 ms slower.
	for i := range 20 {
		at := t0.Add(ms(20 * i))
		sent = append(sent, rtpTimedFrame(at, phone, board, 7, i))
		switch {
		case i < 10:
			arrived = append(arrived, rtpTimedFrame(at.Add(ms(2)), board, party, 7, i))
		case i > 12:
			arrived = append(arrived, rtpTimedFrame(at.Add(ms(7)), cloud, party, 7, i))
		}
	}
	sds, _ := parsePcapTimed(pcapTimedFile(sent))
	ads, _ := parsePcapTimed(pcapTimedFile(arrived))
	s := departures(sds)
	g := pathGap(ads, s, party, 8000, t0, t0.Add(ms(400)))
	if g.longest != ms(85) || !g.at.Equal(t0.Add(ms(182))) {
		t.Fatalf("longest path silence %v at %v, want 85ms at +182ms", g.longest, g.at.Sub(t0))
	}
	lines := silenceTimeline(ads, s, party, g.at, g.longest, ms(30))
	var lost, viaBoard, viaCloud int
	for _, l := range lines {
		switch {
		case strings.HasSuffix(l, "lost"):
			lost++
		case strings.Contains(l, "from "+board.String()):
			viaBoard++
		case strings.Contains(l, "from "+cloud.String()):
			viaCloud++
		}
	}
	if !strings.Contains(lines[0], "to "+board.String()+",") {
		t.Errorf("timeline does not say where a packet was sent: %q", lines[0])
	}
	if lost != 3 || viaBoard == 0 || viaCloud == 0 {
		t.Errorf("timeline: %d lost (want 3), %d via the board, %d via the cloud (want some of each):\n%s", lost, viaBoard, viaCloud, strings.Join(lines, "\n"))
	}
}
