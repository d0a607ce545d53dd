package media

import "net"

// The goroutine path: one goroutine per socket, each blocked in a read on
// its *net.UDPConn (Go's netpoller wakes it per packet). It is the
// portable path, and the fallback where the Linux poller (poll_linux.go)
// is not built or could not be set up.

// startLoops starts the session's four readers.
func (s *Session) startLoops() {
	s.wg.Add(4)
	go s.rtpLoop(s.legs[0], s.legs[1], AtoB)
	go s.rtpLoop(s.legs[1], s.legs[0], BtoA)
	go s.rtcpLoop(s.legs[0], s.legs[1])
	go s.rtcpLoop(s.legs[1], s.legs[0])
}

// rtpLoop reads leg in's RTP socket and relays to leg out, in direction d.
// It runs on its own goroutine until the socket is closed.
func (s *Session) rtpLoop(in, out *Leg, d Direction) {
	defer s.wg.Done()
	conn := in.rtp.(*net.UDPConn)
	buf := newReadBuffer()
	p := newProcessor()
	for {
		n, src, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if s.readErr(in, "rtp", err) {
				return
			}
			continue
		}
		s.relayRTP(p, in, out, d, buf[:n], src)
	}
}

// rtcpLoop reads leg in's RTCP socket and relays to leg out's RTCP peer.
// It runs on its own goroutine until the socket is closed.
func (s *Session) rtcpLoop(in, out *Leg) {
	defer s.wg.Done()
	conn := in.rtcp.(*net.UDPConn)
	buf := newReadBuffer()
	for {
		n, src, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if s.readErr(in, "rtcp", err) {
				return
			}
			continue
		}
		s.relayRTCP(in, out, buf[:n], src)
	}
}
