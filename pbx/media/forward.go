package media

import (
	"errors"
	"net"
	"net/netip"

	"hushbox/pbx/srtp"
)

// udpSock is one of a leg's UDP sockets as the per-packet code sends on
// it: a *net.UDPConn on the goroutine path (loop.go), a raw non-blocking
// socket on the Linux poller's path (poll_linux.go).
type udpSock interface {
	WriteToUDPAddrPort(b []byte, dst netip.AddrPort) (int, error)
	Close() error
}

// newReadBuffer returns a reader's buffer: one byte longer than maxPacket
// (to see truncation) and with room behind it for SRTP to grow a packet in
// place.
func newReadBuffer() []byte {
	return make([]byte, maxPacket+1, maxPacket+1+srtp.Overhead)
}

// relayRTP is the per-datagram work of the RTP path, the same whichever
// loop read the datagram: b was read on leg in's RTP socket from src (a
// len(b) above maxPacket means the datagram was truncated) and is relayed
// out of leg out in direction d. It classifies, authenticates and decrypts
// (SRTP leg), latches, applies the direction's rules and hook, encrypts
// (SRTP leg) and sends, counting every outcome. b's array is the reader's
// buffer (with spare capacity for SRTP); p is the reader's scratch.
func (s *Session) relayRTP(p *processor, in, out *Leg, d Direction, b []byte, src netip.AddrPort) {
	n := len(b)
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
		return
	}
	src = unmap(src)
	if inSec != nil {
		// Authenticate before latching: only the keyed party can
		// latch an SRTP leg.
		var err error
		if kind == kindMuxedRTCP {
			b, err = inSec.In.DecryptRTCP(b)
		} else {
			b, err = inSec.In.DecryptRTP(b)
		}
		if err != nil {
			in.countSRTPIn(err)
			return
		}
	}
	if !in.accept(&in.latchRTP, src, "rtp") {
		return
	}
	if kind == kindMuxedRTCP {
		// rtcp-mux: relayed RTP socket to RTP socket, untouched
		// unless a leg is SRTP.
		in.rtcpIn.Add(1)
		dst, ok := out.rtpDest()
		out.sendRTCP(out.rtp, b, dst, ok)
		return
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
		return
	case filtered:
		in.filtered.Add(1)
		return
	}
	dst, ok := out.rtpDest()
	if !ok {
		out.unrouted.Add(1)
		return
	}
	if outSec := out.sec.Load(); outSec != nil {
		var err error
		if res, err = outSec.Out.EncryptRTP(res); err != nil {
			out.srtpRefused.Add(1)
			return
		}
	}
	if _, err := out.rtp.WriteToUDPAddrPort(res, dst); err != nil {
		out.sendErrors.Add(1)
		return
	}
	out.packetsOut.Add(1)
	out.bytesOut.Add(uint64(len(res)))
}

// relayRTCP is the per-datagram work of the RTCP path, shared by both
// loops: b was read on leg in's RTCP socket from src (len(b) above
// maxPacket: truncated) and goes to leg out's RTCP peer, untouched unless a
// leg is SRTP (SRTCP is then decrypted on the way in, encrypted on the way
// out).
func (s *Session) relayRTCP(in, out *Leg, b []byte, src netip.AddrPort) {
	if len(b) > maxPacket || !validRTCP(b) {
		in.invalid.Add(1)
		return
	}
	if inSec := in.sec.Load(); inSec != nil {
		var err error
		if b, err = inSec.In.DecryptRTCP(b); err != nil {
			in.countSRTPIn(err)
			return
		}
	}
	if !in.accept(&in.latchRTCP, unmap(src), "rtcp") {
		return
	}
	in.rtcpIn.Add(1)
	dst, ok := out.rtcpDest()
	out.sendRTCP(out.rtcp, b, dst, ok)
}

// sendRTCP sends an RTCP packet out of leg l through conn (its RTCP socket,
// or its RTP socket with rtcp-mux), encrypted when the leg is SRTP. routed
// is false when the leg has no peer yet; the packet is then counted and
// dropped.
func (l *Leg) sendRTCP(conn udpSock, b []byte, dst netip.AddrPort, routed bool) {
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

// readErr reports whether a reader should stop after a read error: the
// socket was closed (the session is closing). Other errors are logged and
// the reader goes on.
func (s *Session) readErr(in *Leg, what string, err error) (stop bool) {
	if errors.Is(err, net.ErrClosed) || s.closed.Load() {
		return true
	}
	s.log.Debug("media: "+what+" read", "leg", in.name, "err", err)
	return false
}
