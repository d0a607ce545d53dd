// Package media is the B2BUA's RTP/RTCP relay.
//
// A Relay owns a range of UDP ports on one local address. Each call gets a
// Session with two legs, A (caller side) and B (callee side); each leg is a
// port pair (even RTP port, RTCP on the next one). Whatever arrives on leg
// A's sockets leaves through leg B's sockets towards B's peer, and the other
// way round.
//
// The relay follows the media rules of DESIGN.md ("SIP and media"):
//
//   - One packet in is one packet out. Nothing is buffered, re-timed or
//     re-packetised: the scrambler's 20 ms frames ride on RTP packets end to
//     end.
//   - Symmetric RTP latching: the first valid packet on a leg's socket fixes
//     that leg's peer (NAT friendly, it replaces the SDP address); packets
//     from any other source are then dropped and counted. RTP and RTCP latch
//     independently. Leg.Relatch opens latching again after a re-INVITE.
//     Until a leg has latched, packets towards it go to its SDP address.
//   - Per direction, the B2BUA may ask for mu-law <-> A-law transcoding
//     (the only transcoding hushbox allows) and payload-type renumbering
//     (for example telephone-event 101 -> 96). RFC 4733 events pass through,
//     renumbered only.
//   - A Hook sees every RTP packet (the scrambler's seat) and may drop it.
//   - SRTP per leg (Leg.SetSRTP, keys from pbx/srtp): what an SRTP leg
//     receives is authenticated and decrypted first (forgeries and replays
//     dropped and counted, and only an authenticated packet can latch the
//     leg); what it sends is encrypted last, after transcoding, renumbering
//     and the hook, which therefore always see plaintext. Each leg has its
//     own keys, so plain<->SRTP and SRTP<->SRTP under different keys both
//     work. RTCP likewise (SRTCP), rtcp-mux included.
//
// The hot path is cheap: with no transcoding, renumbering or hook a packet
// is validated and forwarded as raw bytes; otherwise header bytes are edited
// in place and, only when a hook is set, the packet is parsed into a reused
// rtp.Packet. No path allocates per packet, SRTP included (in place, in
// spare capacity behind each read buffer). A plain leg pays one atomic load
// per direction for SRTP.
//
// Two loops read the sockets, with the same per-packet code (forward.go).
// By default, on Linux (amd64, arm64, arm), one poller goroutine per Relay
// collects the ready sockets of every session from an epoll set, reads
// what each holds with one non-blocking recvmmsg and relays each datagram
// with one sendto (poll_linux.go): one goroutine wake-up per batch instead
// of per packet,
// a third less CPU per packet at 100 calls. Elsewhere, when the poller
// cannot be set up, or with HUSHBOX_MEDIA_LOOP=goroutines, each socket has
// its own goroutine (loop.go). One difference shows only under overload:
// the poller drops a packet whose socket send buffer is full (counted in
// SendErrors) where the goroutine path waits.
package media
