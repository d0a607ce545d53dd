package media

import (
	"bytes"
	"errors"
	"net/netip"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/pion/rtp"

	"hushbox/pbx/srtp"
)

// loopKinds are the loops built on this platform, named for subtests.
func loopKinds() []struct {
	name string
	kind loopKind
} {
	kinds := []struct {
		name string
		kind loopKind
	}{{"goroutines", loopGoroutines}}
	if havePoller {
		kinds = append(kinds, struct {
			name string
			kind loopKind
		}{"poller", loopAuto})
	}
	return kinds
}

// newKindRelay is newRelayOn without a media timeout.
func newKindRelay(t testing.TB, kind loopKind, pairs int) (*Relay, *Session) {
	t.Helper()
	return newRelayOn(t, kind, pairs, 0)
}

// loopEnv is one scenario's session and phones; got collects what the
// phones received, in order, for comparing the two loops.
type loopEnv struct {
	t      *testing.T
	s      *Session
	pa, pb *peer
	got    [][]byte
}

func (e *loopEnv) recv(p *peer) []byte {
	e.t.Helper()
	b, _ := p.recv()
	e.got = append(e.got, b)
	return b
}

// settle waits until leg's counters satisfy cond (the other loop counts on
// another goroutine).
func (e *loopEnv) settle(what string, cond func(a, b LegStats) bool) {
	e.t.Helper()
	waitFor(e.t, what, func() bool { return cond(e.s.A().Stats(), e.s.B().Stats()) })
}

// TestLoopsRelayIdentically runs the same scenarios on the goroutine path
// and on the Linux poller and checks that both deliver the same packets
// and end with the same counters (as well as what each scenario expects).
func TestLoopsRelayIdentically(t *testing.T) {
	pkt := func(seq uint16, payload string) []byte { return rtpPacket(0, false, seq, []byte(payload)) }
	scenarios := []struct {
		name string
		run  func(e *loopEnv)
	}{
		{"both ways and latching", func(e *loopEnv) {
			e.pa.send(e.s.A().Port(), pkt(1, "a->b"))
			if b := e.recv(e.pb); !bytes.Equal(b, pkt(1, "a->b")) {
				e.t.Errorf("B got %x", b)
			}
			e.pb.send(e.s.B().Port(), pkt(2, "b->a"))
			if b := e.recv(e.pa); !bytes.Equal(b, pkt(2, "b->a")) {
				e.t.Errorf("A got %x", b)
			}
			stranger := newPeer(e.t)
			stranger.send(e.s.A().Port(), pkt(3, "intruder"))
			e.pa.send(e.s.A().Port(), pkt(4, "still a"))
			if b := e.recv(e.pb); !bytes.Equal(b, pkt(4, "still a")) {
				e.t.Errorf("B got %x, want A's packet, not the stranger's", b)
			}
			e.settle("stranger dropped", func(a, _ LegStats) bool { return a.Dropped == 1 })
			// Relatch: the next source wins.
			e.s.A().Relatch()
			stranger.send(e.s.A().Port(), pkt(5, "new a"))
			if b := e.recv(e.pb); !bytes.Equal(b, pkt(5, "new a")) {
				e.t.Errorf("B got %x after relatch", b)
			}
			e.pb.send(e.s.B().Port(), pkt(6, "to new a"))
			if b, _ := stranger.recv(); !bytes.Equal(b, pkt(6, "to new a")) {
				e.t.Errorf("relatched source got %x", b)
			}
		}},
		{"garbage and truncation", func(e *loopEnv) {
			for _, g := range [][]byte{{1, 2, 3}, make([]byte, 40), make([]byte, maxPacket+100)} {
				e.pa.send(e.s.A().Port(), g)
				e.pa.send(e.s.A().Port()+1, g)
			}
			big := rtpPacket(0, false, 1, make([]byte, maxPacket)) // valid header, too long
			e.pa.send(e.s.A().Port(), big)
			e.pa.send(e.s.A().Port(), pkt(2, "ok"))
			if b := e.recv(e.pb); !bytes.Equal(b, pkt(2, "ok")) {
				e.t.Errorf("B got %x", b)
			}
			e.settle("garbage counted", func(a, _ LegStats) bool { return a.Invalid == 7 })
		}},
		{"rtcp and rtcp-mux", func(e *loopEnv) {
			e.pa.send(e.s.A().Port(), pkt(1, "latch"))
			e.recv(e.pb)
			e.pa.send(e.s.A().Port(), rtcpRR(7)) // muxed: to B's RTP address
			if b := e.recv(e.pb); !bytes.Equal(b, rtcpRR(7)) {
				e.t.Errorf("muxed RTCP: B got %x", b)
			}
			rtcpB := newPeer(e.t)
			e.s.B().SetRemoteRTCP(rtcpB.addr())
			e.pa.send(e.s.A().Port()+1, rtcpRR(8))
			if b := e.recv(rtcpB); !bytes.Equal(b, rtcpRR(8)) {
				e.t.Errorf("RTCP: B's RTCP address got %x", b)
			}
		}},
		{"transcode, PT map, hook", func(e *loopEnv) {
			e.s.SetTranscode(AtoB, Transcode{FromPT: 0, ToPT: 8, Kind: UlawToAlaw})
			e.s.SetPTMap(AtoB, 101, 96)
			e.s.SetHook(hookFunc(func(_ Direction, p *rtp.Packet) bool { return p.SequenceNumber%2 == 0 }))
			e.pa.send(e.s.A().Port(), rtpPacket(0, false, 1, []byte{0xFF, 0x00}))
			e.pa.send(e.s.A().Port(), rtpPacket(0, true, 2, []byte{0xFF, 0x00}))
			e.pa.send(e.s.A().Port(), rtpPacket(101, false, 4, []byte{1, 2, 3, 4}))
			if b := e.recv(e.pb); b[1] != 0x80|8 {
				e.t.Errorf("transcoded packet header %x", b[:2])
			}
			if b := e.recv(e.pb); b[1] != 96 {
				e.t.Errorf("mapped packet PT %d", b[1])
			}
			e.settle("odd packet filtered", func(a, _ LegStats) bool { return a.Filtered == 1 })
		}},
		{"unrouted until the peer is known", func(e *loopEnv) {
			e.s.B().SetRemote(netip.AddrPort{})
			e.pa.send(e.s.A().Port(), pkt(1, "nowhere"))
			e.settle("unrouted", func(_, b LegStats) bool { return b.Unrouted == 1 })
			e.pb.send(e.s.B().Port(), pkt(2, "latch b"))
			e.recv(e.pa)
			e.pa.send(e.s.A().Port(), pkt(3, "now"))
			if b := e.recv(e.pb); !bytes.Equal(b, pkt(3, "now")) {
				e.t.Errorf("B got %x", b)
			}
		}},
		{"hand-off LatchTo and Also", func(e *loopEnv) {
			cloud := newPeer(e.t)
			e.pa.send(e.s.A().Port(), pkt(1, "party"))
			e.recv(e.pb)
			e.s.A().LatchTo(cloud.addr())
			e.pa.send(e.s.A().Port(), pkt(2, "party after move"))
			cloud.send(e.s.A().Port(), pkt(3, "cloud"))
			if b := e.recv(e.pb); !bytes.Equal(b, pkt(3, "cloud")) {
				e.t.Errorf("B got %x, want the cloud's packet", b)
			}
			e.s.A().Also(e.pa.addr())
			e.pa.send(e.s.A().Port(), pkt(4, "party again"))
			if b := e.recv(e.pb); !bytes.Equal(b, pkt(4, "party again")) {
				e.t.Errorf("B got %x, want the party's packet let in by Also", b)
			}
			e.pb.send(e.s.B().Port(), pkt(5, "to the cloud"))
			if b := e.recv(cloud); !bytes.Equal(b, pkt(5, "to the cloud")) {
				e.t.Errorf("cloud got %x", b)
			}
		}},
		{"SRTP both legs, forgery dropped", func(e *loopEnv) {
			phoneA := newSRTPPhone(e.t, srtp.AES128CMSHA1_80)
			phoneB := newSRTPPhone(e.t, srtp.AES128CMSHA1_80)
			setSRTP(e.t, e.s.A(), phoneA.keys)
			setSRTP(e.t, e.s.B(), phoneB.keys)
			forged := phoneA.protect(pkt(1, "secret"))
			forged[len(forged)-1] ^= 1
			e.pa.send(e.s.A().Port(), forged)
			e.pa.send(e.s.A().Port(), phoneA.protect(pkt(2, "secret")))
			// Keys differ per run: compare what B decrypts.
			got, _ := e.pb.recv()
			e.got = append(e.got, phoneB.unprotect(got))
			if b := e.got[len(e.got)-1]; !bytes.Equal(b, pkt(2, "secret")) {
				e.t.Errorf("B decrypted %x", b)
			}
			e.pa.send(e.s.A().Port()+1, phoneA.protectRTCP(rtcpRR(9))) // to B's SDP RTCP port
			e.settle("first SRTCP relayed", func(_, b LegStats) bool { return b.RTCPOut == 1 })
			rtcp := newPeer(e.t)
			e.s.B().SetRemoteRTCP(rtcp.addr())
			e.pa.send(e.s.A().Port()+1, phoneA.protectRTCP(rtcpRR(10)))
			got, _ = rtcp.recv()
			e.got = append(e.got, phoneB.unprotectRTCP(got))
			if b := e.got[len(e.got)-1]; !bytes.Equal(b, rtcpRR(10)) {
				e.t.Errorf("B's RTCP decrypted %x", b)
			}
			e.settle("forgery counted", func(a, _ LegStats) bool { return a.SRTPAuthFailed == 1 })
		}},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			type result struct {
				got   [][]byte
				stats [2]LegStats
			}
			var results []result
			for _, k := range loopKinds() {
				t.Run(k.name, func(t *testing.T) {
					_, s := newKindRelay(t, k.kind, 4)
					e := &loopEnv{t: t, s: s, pa: newPeer(t), pb: newPeer(t)}
					s.A().SetRemote(e.pa.addr())
					s.B().SetRemote(e.pb.addr())
					sc.run(e)
					// Close waits for the readers: the counters are final.
					s.Close()
					var res result
					res.got = e.got
					for i, l := range []*Leg{s.A(), s.B()} {
						st := l.Stats()
						// Addresses and times differ from run to run.
						st.Peer, st.RTCPPeer, st.LastPacket = netip.AddrPort{}, netip.AddrPort{}, time.Time{}
						res.stats[i] = st
					}
					results = append(results, res)
				})
			}
			for i := 1; i < len(results); i++ {
				a, b := results[0], results[i]
				if a.stats != b.stats {
					t.Errorf("counters differ between loops:\n%+v\n%+v", a.stats, b.stats)
				}
				if !slices.EqualFunc(a.got, b.got, bytes.Equal) {
					t.Errorf("delivered packets differ between loops")
				}
			}
		})
	}
}

// TestSessionsComeAndGoUnderTraffic: on both loops, sessions are opened,
// used and closed (while packets still pour into them) next to a session
// carrying steady traffic. The steady call loses nothing, every new
// session relays, and a session's counters never move after its Close
// returned: its sockets are not read once closed.
func TestSessionsComeAndGoUnderTraffic(t *testing.T) {
	for _, k := range loopKinds() {
		t.Run(k.name, func(t *testing.T) {
			r, s0 := newKindRelay(t, k.kind, 16)
			pa, pb := newPeer(t), newPeer(t)
			s0.A().SetRemote(pa.addr())
			s0.B().SetRemote(pb.addr())

			// The steady call: lockstep A->B until told to stop.
			stop := make(chan struct{})
			steady := make(chan error, 1)
			go func() {
				buf := make([]byte, 2048)
				dst := netip.AddrPortFrom(loopback, uint16(s0.A().Port()))
				for seq := uint16(1); ; seq++ {
					select {
					case <-stop:
						steady <- nil
						return
					default:
					}
					want := rtpPacket(0, false, seq, []byte("steady"))
					if _, err := pa.conn.WriteToUDPAddrPort(want, dst); err != nil {
						steady <- err
						return
					}
					pb.conn.SetReadDeadline(time.Now().Add(waitLimit))
					n, _, err := pb.conn.ReadFromUDPAddrPort(buf)
					if err != nil {
						steady <- err
						return
					}
					if !bytes.Equal(buf[:n], want) {
						steady <- errors.New("steady call: packet out of order or changed")
						return
					}
				}
			}()

			const rounds = 40
			for i := range rounds {
				s, err := r.NewSession()
				if err != nil {
					t.Fatalf("round %d: NewSession: %v", i, err)
				}
				qa, qb := newPeer(t), newPeer(t)
				s.A().SetRemote(qa.addr())
				s.B().SetRemote(qb.addr())
				qa.send(s.A().Port(), rtpPacket(0, false, 1, []byte("new call")))
				if b, _ := qb.recv(); !bytes.HasSuffix(b, []byte("new call")) {
					t.Fatalf("round %d: new session relayed %x", i, b)
				}
				flooded := make(chan struct{})
				go func() { // bounded: 20 packets into the closing session
					defer close(flooded)
					for seq := uint16(2); seq < 22; seq++ {
						qa.conn.WriteToUDPAddrPort(rtpPacket(0, false, seq, []byte("late")),
							netip.AddrPortFrom(loopback, uint16(s.A().Port())))
					}
				}()
				s.Close()
				frozen := [2]LegStats{s.A().Stats(), s.B().Stats()}
				<-flooded
				// A packet through the steady session after the flood:
				// the reader has gone past anything the flood left.
				pb.send(s0.B().Port(), rtpPacket(0, false, uint16(i), []byte("fence")))
				if b, _ := pa.recv(); !bytes.HasSuffix(b, []byte("fence")) {
					t.Fatalf("round %d: fence got %x", i, b)
				}
				if now := [2]LegStats{s.A().Stats(), s.B().Stats()}; now != frozen {
					t.Fatalf("round %d: counters moved after Close:\n%+v\n%+v", i, frozen, now)
				}
			}
			close(stop)
			if err := <-steady; err != nil {
				t.Fatalf("steady call: %v", err)
			}
			if st := s0.A().Stats(); st.Dropped != 0 || st.Invalid != 0 {
				t.Errorf("steady call leg A: %+v", st)
			}
			if n := r.InUse(); n != 2 {
				t.Errorf("InUse = %d after the rounds, want 2 (the steady call)", n)
			}
		})
	}
}

// TestClosedSocketNumberReused: a session opened right after another one
// closed gets the same descriptor numbers (the kernel hands out the
// lowest free one); the poller must read them as the new session's.
func TestClosedSocketNumberReused(t *testing.T) {
	if !havePoller {
		t.Skip("no poller on this platform")
	}
	r, s1 := newKindRelay(t, loopAuto, 8)
	pa, pb := newPeer(t), newPeer(t)
	s1.A().SetRemote(pa.addr())
	s1.B().SetRemote(pb.addr())
	pa.send(s1.A().Port(), rtpPacket(0, false, 1, []byte("one")))
	pb.recv()
	fds := func(s *Session) (out []int) {
		for _, l := range s.legs {
			for _, c := range []udpSock{l.rtp, l.rtcp} {
				out = append(out, fdOf(c))
			}
		}
		return out
	}
	old := fds(s1)
	s1.Close()
	frozen := s1.A().Stats()
	s2, err := r.NewSession()
	if err != nil {
		t.Fatalf("NewSession: %v", err)
	}
	reused := 0
	for _, fd := range fds(s2) {
		if slices.Contains(old, fd) {
			reused++
		}
	}
	if reused == 0 {
		t.Skipf("no descriptor number reused (old %v, new %v)", old, fds(s2))
	}
	qa, qb := newPeer(t), newPeer(t)
	s2.A().SetRemote(qa.addr())
	s2.B().SetRemote(qb.addr())
	for seq := uint16(1); seq <= 3; seq++ {
		qa.send(s2.A().Port(), rtpPacket(0, false, seq, []byte("two")))
		if b, _ := qb.recv(); !bytes.HasSuffix(b, []byte("two")) {
			t.Fatalf("second session relayed %x", b)
		}
		qa.send(s2.A().Port()+1, rtcpRR(uint32(seq)))
	}
	waitFor(t, "second session counts its RTCP", func() bool { return s2.A().Stats().RTCPIn == 3 })
	if st := s2.A().Stats(); st.PacketsIn != 3 || st.Peer != qa.addr() {
		t.Errorf("second session leg A: %+v", st)
	}
	if now := s1.A().Stats(); now != frozen {
		t.Errorf("closed session's counters moved:\n%+v\n%+v", frozen, now)
	}
}

// TestRelayCloseWhileSessionsOpen: Relay.Close racing NewSession leaves no
// session open, no port held and no reader running.
func TestRelayCloseWhileSessionsOpen(t *testing.T) {
	for _, k := range loopKinds() {
		t.Run(k.name, func(t *testing.T) {
			r, _ := newKindRelay(t, k.kind, 64)
			done := make(chan []*Session)
			for range 4 {
				go func() {
					var got []*Session
					for range 8 {
						if s, err := r.NewSession(); err == nil {
							got = append(got, s)
						} else if !errors.Is(err, ErrClosed) {
							t.Errorf("NewSession: %v", err)
						}
					}
					done <- got
				}()
			}
			r.Close()
			for range 4 {
				for _, s := range <-done {
					s.Close() // closed by Relay.Close already, or now
				}
			}
			if n := r.InUse(); n != 0 {
				t.Errorf("InUse = %d after Close, want 0", n)
			}
			if len(r.polls) != 0 {
				t.Error("pollers still set after Close")
			}
		})
	}
}

// TestRelayNoAllocPerPacket: a packet's trip through a session (plain, no
// rules) allocates nothing on either loop, the test phones' socket calls
// included.
func TestRelayNoAllocPerPacket(t *testing.T) {
	for _, k := range loopKinds() {
		t.Run(k.name, func(t *testing.T) {
			_, trip := loopbackTrip(t, k.kind)
			trip() // latches
			if a := testing.AllocsPerRun(500, trip); a != 0 {
				t.Errorf("%.2f allocations per relayed packet", a)
			}
		})
	}
}

// TestSessionsSpreadOverPollers: with more than one poller, new sessions
// go to the least loaded one, and a closed session's place is reused.
func TestSessionsSpreadOverPollers(t *testing.T) {
	if !havePoller {
		t.Skip("no poller on this platform")
	}
	r, s0 := newKindRelay(t, loopAuto, 32)
	n := len(r.polls)
	if want := max(1, min(runtime.GOMAXPROCS(0)-1, maxPollers)); n != want {
		t.Fatalf("%d pollers with GOMAXPROCS %d, want %d", n, runtime.GOMAXPROCS(0), want)
	}
	sessions := []*Session{s0}
	for range 2*n - 1 {
		s, err := r.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		sessions = append(sessions, s)
	}
	r.mu.Lock()
	load := slices.Clone(r.pollLoad)
	r.mu.Unlock()
	for i, l := range load {
		if l != 2 {
			t.Errorf("poller %d holds %d sessions, want 2 (loads %v)", i, l, load)
		}
	}
	gone := sessions[1]
	gone.Close()
	s, err := r.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if s.pollIdx != gone.pollIdx {
		t.Errorf("new session on poller %d, want %d (the one that lost a session)", s.pollIdx, gone.pollIdx)
	}
	// Every session relays, whichever poller reads it.
	for _, s := range append(sessions[2:], s0, s) {
		pa, pb := newPeer(t), newPeer(t)
		s.A().SetRemote(pa.addr())
		s.B().SetRemote(pb.addr())
		pa.send(s.A().Port(), rtpPacket(0, false, 1, []byte("x")))
		if b, _ := pb.recv(); !bytes.HasSuffix(b, []byte("x")) {
			t.Fatalf("session on poller %d relayed %x", s.pollIdx, b)
		}
	}
}
