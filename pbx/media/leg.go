package media

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"hushbox/pbx/srtp"
)

// Leg is one side of a session: a local RTP/RTCP socket pair and what the
// relay knows about the peer on that side.
type Leg struct {
	session *Session
	name    string // "A" or "B", for logs
	port    int
	rtp     udpSock // *net.UDPConn, or *rawSock when polled
	rtcp    udpSock

	// Addresses from that side's SDP (nil: unknown). Written by the B2BUA,
	// read by the opposite leg's reader goroutines.
	sdpRTP, sdpRTCP atomic.Pointer[netip.AddrPort]
	// Latched sources (nil: not latched). Written by this leg's readers
	// and by Relatch.
	latchRTP, latchRTCP atomic.Pointer[netip.AddrPort]
	// alsoRTP and alsoRTCP are a second source accepted besides the
	// latched one while a call moves (handoff.go); nil: none.
	alsoRTP, alsoRTCP atomic.Pointer[netip.AddrPort]

	// sec is the leg's SRTP contexts, nil for plain RTP (see SetSRTP).
	// In is used by this leg's readers, Out by the opposite leg's readers.
	sec   atomic.Pointer[srtp.Pair]
	secMu sync.Mutex // serialises SetSRTP

	// lastRTP is when this leg last accepted an RTP packet, as nanoseconds
	// since the relay's epoch (monotonic clock); 0 when never.
	lastRTP atomic.Int64

	packetsIn, bytesIn   atomic.Uint64
	packetsOut, bytesOut atomic.Uint64
	rtcpIn, rtcpOut      atomic.Uint64
	dropped, invalid     atomic.Uint64
	filtered, unrouted   atomic.Uint64
	sendErrors           atomic.Uint64
	srtpAuthFailed       atomic.Uint64
	srtpReplayed         atomic.Uint64
	srtpRefused          atomic.Uint64
}

// LegStats is a snapshot of a leg's counters. "In" counts packets received
// on this leg's sockets and accepted; "Out" counts packets sent out of this
// leg's sockets towards its peer.
type LegStats struct {
	PacketsIn, BytesIn   uint64         // RTP received and accepted
	PacketsOut, BytesOut uint64         // RTP sent to this leg's peer
	RTCPIn, RTCPOut      uint64         // RTCP packets (including rtcp-mux)
	Dropped              uint64         // from a source other than the latched peer
	Invalid              uint64         // not RTP/RTCP version 2, truncated or malformed
	Filtered             uint64         // RTP the hook dropped
	Unrouted             uint64         // to send here, but no peer address known yet
	SendErrors           uint64         // the socket refused to send
	SRTPAuthFailed       uint64         // SRTP/SRTCP received that failed authentication (dropped)
	SRTPReplayed         uint64         // SRTP/SRTCP received twice or too late for the replay window (dropped)
	SRTPRefused          uint64         // to send here, but the encrypter refused (index reuse, too many SSRCs)
	LastPacket           time.Time      // last accepted RTP packet; zero if none
	Peer, RTCPPeer       netip.AddrPort // latched sources; zero if not latched
}

// Port returns the leg's local RTP port; RTCP is Port()+1.
func (l *Leg) Port() int { return l.port }

// SetRemote sets the RTP address learned from this side's SDP (c= and m=),
// and the RTCP address to the next port. Call SetRemoteRTCP afterwards when
// the SDP has an a=rtcp attribute. An invalid or unspecified address
// (c=0.0.0.0) clears both: nothing is sent until the peer latches.
// Packets go to these addresses only until the leg latches.
func (l *Leg) SetRemote(rtp netip.AddrPort) {
	if !usable(rtp) {
		l.sdpRTP.Store(nil)
		l.sdpRTCP.Store(nil)
		return
	}
	ap := netip.AddrPortFrom(rtp.Addr().Unmap(), rtp.Port())
	l.sdpRTP.Store(&ap)
	if ap.Port() < 65535 {
		rtcp := netip.AddrPortFrom(ap.Addr(), ap.Port()+1)
		l.sdpRTCP.Store(&rtcp)
	} else {
		l.sdpRTCP.Store(nil)
	}
}

// SetRemoteRTCP sets the RTCP address from this side's SDP a=rtcp
// attribute, overriding the RTP port + 1 that SetRemote chose.
func (l *Leg) SetRemoteRTCP(ap netip.AddrPort) {
	if !usable(ap) {
		l.sdpRTCP.Store(nil)
		return
	}
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	l.sdpRTCP.Store(&ap)
}

// Relatch forgets the latched RTP and RTCP sources: the next valid packet
// on each socket latches again. The B2BUA calls it when a re-INVITE moves
// this side's media.
func (l *Leg) Relatch() {
	l.latchRTP.Store(nil)
	l.latchRTCP.Store(nil)
	l.session.log.Debug("media: leg relatch", "leg", l.name, "port", l.port)
}

// Stats returns a snapshot of the leg's counters.
func (l *Leg) Stats() LegStats {
	st := LegStats{
		PacketsIn:  l.packetsIn.Load(),
		BytesIn:    l.bytesIn.Load(),
		PacketsOut: l.packetsOut.Load(),
		BytesOut:   l.bytesOut.Load(),
		RTCPIn:     l.rtcpIn.Load(),
		RTCPOut:    l.rtcpOut.Load(),
		Dropped:    l.dropped.Load(),
		Invalid:    l.invalid.Load(),
		Filtered:   l.filtered.Load(),
		Unrouted:   l.unrouted.Load(),
		SendErrors: l.sendErrors.Load(),

		SRTPAuthFailed: l.srtpAuthFailed.Load(),
		SRTPReplayed:   l.srtpReplayed.Load(),
		SRTPRefused:    l.srtpRefused.Load(),
	}
	if t := l.lastRTP.Load(); t != 0 {
		st.LastPacket = l.session.relay.epoch.Add(time.Duration(t))
	}
	if p := l.latchRTP.Load(); p != nil {
		st.Peer = *p
	}
	if p := l.latchRTCP.Load(); p != nil {
		st.RTCPPeer = *p
	}
	return st
}

// accept applies symmetric latching to a packet from src on one of this
// leg's sockets: the first source latches, later ones must match it.
func (l *Leg) accept(latch *atomic.Pointer[netip.AddrPort], src netip.AddrPort, what string) bool {
	if p := latch.Load(); p != nil {
		if *p == src || l.also(latch, src) {
			return true
		}
		l.dropped.Add(1)
		return false
	}
	ap := src
	if !latch.CompareAndSwap(nil, &ap) {
		// Lost a race with Relatch or another latch; decide on the winner.
		p := latch.Load()
		if p == nil || *p != src {
			l.dropped.Add(1)
			return false
		}
		return true
	}
	l.session.log.Info("media: latched", "leg", l.name, "what", what, "port", l.port, "peer", src)
	return true
}

// rtpDest is where RTP for this leg's peer goes: the latched source, else
// the SDP address.
func (l *Leg) rtpDest() (netip.AddrPort, bool) {
	if p := l.latchRTP.Load(); p != nil {
		return *p, true
	}
	if p := l.sdpRTP.Load(); p != nil {
		return *p, true
	}
	return netip.AddrPort{}, false
}

// rtcpDest is rtpDest for RTCP.
func (l *Leg) rtcpDest() (netip.AddrPort, bool) {
	if p := l.latchRTCP.Load(); p != nil {
		return *p, true
	}
	if p := l.sdpRTCP.Load(); p != nil {
		return *p, true
	}
	return netip.AddrPort{}, false
}

// usable reports whether ap can be sent to.
func usable(ap netip.AddrPort) bool {
	return ap.IsValid() && ap.Port() != 0 && !ap.Addr().IsUnspecified()
}
