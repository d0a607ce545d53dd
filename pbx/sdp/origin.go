package sdp

import (
	"crypto/rand"
	"encoding/binary"
	"net/netip"
)

// Origin is the o= line state of one leg. The B2BUA keeps one per leg and
// calls Next before every SDP it sends on that leg after the first one, so
// that re-INVITEs carry an incremented version (RFC 3264 section 8).
type Origin struct {
	Username  string     // "-" when empty
	SessionID uint64     // random, fixed for the leg
	Version   uint64     // incremented by Next
	Addr      netip.Addr // written in o=; the media address is used when zero
}

// NewOrigin returns an Origin with a random session id from crypto/rand. The
// id stays below 2^62 so that peers parsing it as a signed 64-bit number cope.
func NewOrigin(addr netip.Addr) Origin {
	var b [8]byte
	// crypto/rand.Read never fails on supported platforms (Go 1.24+ crashes
	// the program instead of returning an error).
	_, _ = rand.Read(b[:])
	id := binary.BigEndian.Uint64(b[:])>>2 | 1
	return Origin{Username: "-", SessionID: id, Version: 1, Addr: addr}
}

// Next increments the version; call it before sending a changed SDP.
func (o *Origin) Next() {
	o.Version++
}
