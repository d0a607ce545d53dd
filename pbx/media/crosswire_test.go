package media

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// streamPacket is an RTP packet of stream id (its SSRC) with sequence
// number seq.
func streamPacket(id uint32, seq uint16) []byte {
	b := rtpPacket(0, false, seq, make([]byte, 160))
	binary.BigEndian.PutUint32(b[8:], id)
	binary.BigEndian.PutUint32(b[12:], id) // the payload names it too
	return b
}

// streamOf is the SSRC of an RTP packet and whether its payload names the
// same stream (a packet pieced together from two would not).
func streamOf(b []byte) (uint32, bool) {
	if len(b) < 16 {
		return 0, false
	}
	id := binary.BigEndian.Uint32(b[8:])
	return id, binary.BigEndian.Uint32(b[12:]) == id
}

// TestNoCrossTalkWhileSessionsChurn: on both loops, a few calls carry
// steady traffic both ways while other sessions are opened, fed and closed
// next to them (descriptor numbers, slots and ports reused all the time).
// Each phone must only ever receive its own call's stream: a datagram of
// one session delivered to another is what a user hears as someone else's
// call (or, scrambled, as noise).
func TestNoCrossTalkWhileSessionsChurn(t *testing.T) {
	for _, k := range loopKinds() {
		t.Run(k.name, func(t *testing.T) {
			r, first := newKindRelay(t, k.kind, 64)
			const calls = 6
			type call struct {
				s      *Session
				pa, pb *peer
			}
			cs := make([]call, calls)
			for i := range cs {
				s := first
				if i > 0 {
					var err error
					if s, err = r.NewSession(); err != nil {
						t.Fatal(err)
					}
				}
				cs[i] = call{s: s, pa: newPeer(t), pb: newPeer(t)}
				s.A().SetRemote(cs[i].pa.addr())
				s.B().SetRemote(cs[i].pb.addr())
			}
			const perCall = 1500 // bounded: packets each way per call
			var wg sync.WaitGroup
			errs := make(chan error, 4*calls+1)
			stop := make(chan struct{})
			// Receivers: each phone checks every datagram it gets.
			recvOnly := func(p *peer, want uint32, name string) {
				defer wg.Done()
				buf := make([]byte, 2048)
				for {
					p.conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
					n, _, err := p.conn.ReadFromUDPAddrPort(buf)
					if err != nil {
						select {
						case <-stop:
							return
						default:
							continue
						}
					}
					if id, ok := streamOf(buf[:n]); id != want || !ok {
						errs <- fmt.Errorf("%s got stream %08x (intact %v), want only %08x", name, id, ok, want)
						return
					}
				}
			}
			for i, c := range cs {
				wg.Add(2)
				go recvOnly(c.pb, uint32(0xA000+i), fmt.Sprintf("call %d phone B", i))
				go recvOnly(c.pa, uint32(0xB000+i), fmt.Sprintf("call %d phone A", i))
			}
			// Senders: steady streams both ways.
			var send sync.WaitGroup
			for i, c := range cs {
				send.Add(1)
				go func() {
					defer send.Done()
					toA := netip.AddrPortFrom(loopback, uint16(c.s.A().Port()))
					toB := netip.AddrPortFrom(loopback, uint16(c.s.B().Port()))
					for seq := range uint16(perCall) {
						c.pa.conn.WriteToUDPAddrPort(streamPacket(uint32(0xA000+i), seq), toA)
						c.pb.conn.WriteToUDPAddrPort(streamPacket(uint32(0xB000+i), seq), toB)
						if seq%16 == 0 {
							time.Sleep(time.Millisecond)
						}
					}
				}()
			}
			// Churn: sessions opened, fed both ways, closed while fed.
			send.Add(1)
			go func() {
				defer send.Done()
				qa, qb := newPeer(t), newPeer(t)
				for round := range 60 {
					s, err := r.NewSession()
					if err != nil {
						errs <- fmt.Errorf("churn round %d: %w", round, err)
						return
					}
					s.A().SetRemote(qa.addr())
					s.B().SetRemote(qb.addr())
					toA := netip.AddrPortFrom(loopback, uint16(s.A().Port()))
					toB := netip.AddrPortFrom(loopback, uint16(s.B().Port()))
					var fed sync.WaitGroup
					fed.Add(1)
					go func() {
						defer fed.Done()
						for seq := range uint16(40) {
							qa.conn.WriteToUDPAddrPort(streamPacket(0xC000, seq), toA)
							qb.conn.WriteToUDPAddrPort(streamPacket(0xD000, seq), toB)
						}
					}()
					time.Sleep(time.Duration(round%3) * time.Millisecond)
					s.Close()
					fed.Wait()
				}
			}()
			send.Wait()
			// Let the last packets arrive, then stop the receivers.
			for _, c := range cs {
				waitFor(t, "steady traffic relayed", func() bool {
					return c.s.A().Stats().PacketsIn+c.s.A().Stats().Dropped > 0
				})
			}
			time.Sleep(100 * time.Millisecond)
			close(stop)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			for i, c := range cs {
				a, b := c.s.A().Stats(), c.s.B().Stats()
				if a.PacketsOut == 0 || b.PacketsOut == 0 {
					t.Errorf("call %d relayed nothing one way: A %+v B %+v", i, a, b)
				}
			}
		})
	}
}

// TestMovesUnderTraffic: on both loops, leg A is moved back and forth
// between two sources of the same party (straight, and through a cloud
// relay) with LatchTo and Also while both keep sending, as during a
// hand-off. Phone B only ever gets that party's stream, intact, and never
// a datagram twice more than it was sent; from a source that is neither
// latched nor Also nothing passes.
func TestMovesUnderTraffic(t *testing.T) {
	for _, k := range loopKinds() {
		t.Run(k.name, func(t *testing.T) {
			_, s := newKindRelay(t, k.kind, 4)
			party, cloud, stranger, pb := newPeer(t), newPeer(t), newPeer(t), newPeer(t)
			s.A().LatchTo(party.addr())
			s.B().SetRemote(pb.addr())
			const id, perSource = 0xA11CE, 600
			to := netip.AddrPortFrom(loopback, uint16(s.A().Port()))
			// Phone B reads all along: what it gets, by sequence number.
			seen := map[uint16]int{}
			bad := make(chan error, 1)
			read := make(chan struct{})
			go func() {
				defer close(read)
				buf := make([]byte, 2048)
				for {
					pb.conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
					n, _, err := pb.conn.ReadFromUDPAddrPort(buf)
					if err != nil {
						return // quiet: the senders are done
					}
					if got, ok := streamOf(buf[:n]); got != id || !ok {
						bad <- fmt.Errorf("phone B got stream %08x (intact %v), want only %08x", got, ok, id)
						return
					}
					seq := binary.BigEndian.Uint16(buf[2:])
					if seen[seq]++; seen[seq] > 1 {
						bad <- fmt.Errorf("phone B got packet %d twice", seq)
						return
					}
				}
			}()
			var send sync.WaitGroup
			for i, src := range []*peer{party, cloud} {
				send.Add(1)
				go func() {
					defer send.Done()
					for seq := range uint16(perSource) {
						src.conn.WriteToUDPAddrPort(streamPacket(id, uint16(i)*perSource+seq), to)
						if seq%8 == 0 {
							time.Sleep(time.Millisecond)
						}
					}
				}()
			}
			send.Add(1)
			go func() { // a third source, never let in
				defer send.Done()
				for seq := range uint16(200) {
					stranger.conn.WriteToUDPAddrPort(streamPacket(0xBAD, seq), to)
				}
			}()
			moves := make(chan struct{})
			go func() { // the hand-off and back, several times
				defer close(moves)
				for range 20 {
					s.A().Also(cloud.addr())
					s.A().LatchTo(cloud.addr())
					s.A().Also(party.addr())
					time.Sleep(time.Millisecond)
					s.A().NoAlsoIf(party.addr())
					s.A().Also(party.addr())
					s.A().LatchTo(party.addr())
					s.A().Also(cloud.addr())
					time.Sleep(time.Millisecond)
					s.A().NoAlsoIf(cloud.addr())
				}
			}()
			send.Wait()
			<-moves
			<-read
			select {
			case err := <-bad:
				t.Fatal(err)
			default:
			}
			st := s.A().Stats()
			if len(seen) == 0 || uint64(len(seen)) > st.PacketsIn {
				t.Errorf("phone B got %d packets, leg A accepted %d", len(seen), st.PacketsIn)
			}
			if st.Dropped < 200 {
				t.Errorf("leg A dropped %d, want at least the stranger's 200", st.Dropped)
			}
		})
	}
}
