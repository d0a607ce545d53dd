package media

import (
	"errors"
	"net"
	"net/netip"

	"hushbox/pbx/srtp"
)

// newReadBuffer returns a reader's buffer: one byte longer than maxPacket
// (to see truncation) and with room behind it for SRTP to grow a packet in
// place.
func newReadBuffer() []byte {
	return make([]byte, maxPacket+1, maxPacket+1+srtp.Overhead)
}

// rtpLoop reads leg in's RTP socket and relays to leg out, in direction d.
// It runs on its own goroutine until the socket is closed.
func (s *Session) rtpLoop(in, out *Leg, d Direction) {
	defer s.wg.Done()
	buf := newReadBuffer()
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
		inSec := in.sec.Load()
		var kind packetKind
		if inSec == nil {
			kind = classify(b)
		} else {
			kind = classifySRTP(b)
		}
		if n > maxPacket {
			kind = kindInvalid // truncated
		}
		if kind == kindInvalid {
			in.invalid.Add(1)
			continue
		}
		src = unmap(src)
		if inSec != nil {
			// Authenticate before latching: only the keyed party can
			// latch an SRTP leg.
			if kind == kindMuxedRTCP {
				b, err = inSec.In.DecryptRTCP(b)
			} else {
				b, err = inSec.In.DecryptRTP(b)
			}
			if err != nil {
				in.countSRTPIn(err)
				continue
			}
		}
		if !in.accept(&in.latchRTP, src, "rtp") {
			continue
		}
		if kind == kindMuxedRTCP {
			// rtcp-mux: relayed RTP socket to RTP socket, untouched
			// unless a leg is SRTP.
			in.rtcpIn.Add(1)
			dst, ok := out.rtpDest()
			out.sendRTCP(out.rtp, b, dst, ok)
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
		if outSec := out.sec.Load(); outSec != nil {
			if res, err = outSec.Out.EncryptRTP(res); err != nil {
				out.srtpRefused.Add(1)
				continue
			}
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
// untouched unless a leg is SRTP (SRTCP is then decrypted on the way in,
// encrypted on the way out).
func (s *Session) rtcpLoop(in, out *Leg) {
	defer s.wg.Done()
	buf := newReadBuffer()
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
		if inSec := in.sec.Load(); inSec != nil {
			if b, err = inSec.In.DecryptRTCP(b); err != nil {
				in.countSRTPIn(err)
				continue
			}
		}
		if !in.accept(&in.latchRTCP, unmap(src), "rtcp") {
			continue
		}
		in.rtcpIn.Add(1)
		dst, ok := out.rtcpDest()
		out.sendRTCP(out.rtcp, b, dst, ok)
	}
}

// sendRTCP sends an RTCP packet out of leg l through conn (its RTCP socket,
// or its RTP socket with rtcp-mux), encrypted when the leg is SRTP. routed
// is false when the leg has no peer yet; the packet is then counted and
// dropped.
func (l *Leg) sendRTCP(conn *net.UDPConn, b []byte, dst netip.AddrPort, routed bool) {
	if !routed {
		l.unrouted.Add(1)
		return
	}
	if sec := l.sec.Load(); sec != nil {
		var err error
		if b, err = sec.Out.EncryptRTCP(b); err != nil {
			l.srtpRefused.Add(1)
			return
		}
	}
	if _, err := conn.WriteToUDPAddrPort(b, dst); err != nil {
		l.sendErrors.Add(1)
		return
	}
	l.rtcpOut.Add(1)
}
