package media

import (
	"errors"
	"net"
)

// rtpLoop reads leg in's RTP socket and relays to leg out, in direction d.
// It runs on its own goroutine until the socket is closed.
func (s *Session) rtpLoop(in, out *Leg, d Direction) {
	defer s.wg.Done()
	buf := make([]byte, maxPacket+1)
	p := newProcessor()
	for {
		n, src, err := in.rtp.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || s.closed.Load() {
				return
			}
			s.log.Debug("media: rtp read", "leg", in.name, "err", err)
			continue
		}
		b := buf[:n]
		kind := classify(b)
		if n > maxPacket {
			kind = kindInvalid // truncated
		}
		if kind == kindInvalid {
			in.invalid.Add(1)
			continue
		}
		src = unmap(src)
		if !in.accept(&in.latchRTP, src, "rtp") {
			continue
		}
		if kind == kindMuxedRTCP {
			// rtcp-mux: relayed untouched, RTP socket to RTP socket.
			in.rtcpIn.Add(1)
			dst, ok := out.rtpDest()
			if !ok {
				out.unrouted.Add(1)
				continue
			}
			if _, err := out.rtp.WriteToUDPAddrPort(b, dst); err != nil {
				out.sendErrors.Add(1)
				continue
			}
			out.rtcpOut.Add(1)
			continue
		}
		in.packetsIn.Add(1)
		in.bytesIn.Add(uint64(n))
		in.lastRTP.Store(s.relay.now())

		var hook Hook
		if hb := s.hook.Load(); hb != nil {
			hook = hb.h
		}
		res, v := p.process(d, s.rules[d].Load(), hook, b)
		switch v {
		case invalid:
			in.invalid.Add(1)
			continue
		case filtered:
			in.filtered.Add(1)
			continue
		}
		dst, ok := out.rtpDest()
		if !ok {
			out.unrouted.Add(1)
			continue
		}
		if _, err := out.rtp.WriteToUDPAddrPort(res, dst); err != nil {
			out.sendErrors.Add(1)
			continue
		}
		out.packetsOut.Add(1)
		out.bytesOut.Add(uint64(len(res)))
	}
}

// rtcpLoop reads leg in's RTCP socket and relays to leg out's RTCP peer,
// untouched.
func (s *Session) rtcpLoop(in, out *Leg) {
	defer s.wg.Done()
	buf := make([]byte, maxPacket+1)
	for {
		n, src, err := in.rtcp.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || s.closed.Load() {
				return
			}
			s.log.Debug("media: rtcp read", "leg", in.name, "err", err)
			continue
		}
		b := buf[:n]
		if n > maxPacket || !validRTCP(b) {
			in.invalid.Add(1)
			continue
		}
		if !in.accept(&in.latchRTCP, unmap(src), "rtcp") {
			continue
		}
		in.rtcpIn.Add(1)
		dst, ok := out.rtcpDest()
		if !ok {
			out.unrouted.Add(1)
			continue
		}
		if _, err := out.rtcp.WriteToUDPAddrPort(b, dst); err != nil {
			out.sendErrors.Add(1)
			continue
		}
		out.rtcpOut.Add(1)
	}
}
