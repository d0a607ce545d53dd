package srtp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	psrtp "github.com/pion/srtp/v3"
	"github.com/pion/transport/v5/replaydetector"
)

const (
	// Overhead is the most an encryption adds to a packet (GCM tag 16, SRTCP
	// index 4, MKI up to 4, rounded up). With that much spare capacity
	// behind the packet, EncryptRTP and EncryptRTCP never allocate.
	Overhead = 32
	// MaxSSRCs bounds the streams (SSRCs) one encrypting context carries.
	MaxSSRCs = 16
	// ReplayWindow is the replay window in packets (libsrtp's default),
	// for received SRTP and SRTCP and for the send-side index check.
	ReplayWindow = 128
)

// Context is one direction of SRTP on one leg: it either decrypts what the
// party sends (made by NewDecrypter with the party's key, with replay
// protection) or encrypts what the relay sends the party (NewEncrypter
// with hushbox's key). Its methods work in place on the packet buffer and
// do not allocate in the steady state. It is safe for concurrent use: RTP
// and RTCP run on separate pion contexts under separate locks, so the RTP
// and RTCP readers of a leg do not contend.
type Context struct {
	encrypt bool
	suite   Suite

	rtpMu  sync.Mutex
	rtp    *psrtp.Context
	rtpHdr rtp.Header
	// sent is the send-side replay check per SSRC (encrypting contexts
	// only): hushbox never encrypts two packets under one index, whatever
	// the other leg sends, so no keystream is ever reused (libsrtp does the
	// same in srtp_protect).
	sent map[uint32]replaydetector.CheckAccepter

	rtcpMu    sync.Mutex
	rtcp      *psrtp.Context
	rtcpHdr   rtcp.Header
	rtcpSSRCs map[uint32]struct{} // encrypting contexts only
}

// NewDecrypter returns a context that decrypts and authenticates SRTP and
// SRTCP sent under c, the party's key, rejecting replays.
func NewDecrypter(c Crypto) (*Context, error) { return newContext(c, false) }

// NewEncrypter returns a context that encrypts RTP and RTCP under c,
// hushbox's key for the leg.
func NewEncrypter(c Crypto) (*Context, error) { return newContext(c, true) }

func newContext(c Crypto, encrypt bool) (*Context, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	in := c.Suite.info()
	key, salt := bytes.Clone(c.Key[:in.keyLen]), bytes.Clone(c.Key[in.keyLen:])
	var common []psrtp.ContextOption
	if len(c.MKI) > 0 {
		common = append(common, psrtp.MasterKeyIndicator(bytes.Clone(c.MKI)))
	}
	rtpOpts := append([]psrtp.ContextOption{}, common...)
	rtcpOpts := append([]psrtp.ContextOption{}, common...)
	if !encrypt {
		rtpOpts = append(rtpOpts, psrtp.SRTPReplayProtection(ReplayWindow))
		rtcpOpts = append(rtcpOpts, psrtp.SRTCPReplayProtection(ReplayWindow))
	}
	x := &Context{encrypt: encrypt, suite: c.Suite}
	var err error
	if x.rtp, err = psrtp.CreateContext(key, salt, in.profile, rtpOpts...); err != nil {
		return nil, fmt.Errorf("srtp: %s context: %w", c.Suite, err)
	}
	if x.rtcp, err = psrtp.CreateContext(key, salt, in.profile, rtcpOpts...); err != nil {
		return nil, fmt.Errorf("srtp: %s context: %w", c.Suite, err)
	}
	clear(key)
	clear(salt)
	if encrypt {
		x.sent = make(map[uint32]replaydetector.CheckAccepter)
		x.rtcpSSRCs = make(map[uint32]struct{})
	}
	return x, nil
}

// Suite returns the context's suite.
func (x *Context) Suite() Suite { return x.suite }

// Encrypts reports whether the context encrypts (else it decrypts).
func (x *Context) Encrypts() bool { return x.encrypt }

// DecryptRTP authenticates and decrypts the SRTP packet pkt in place and
// returns the RTP packet (a prefix of pkt). On error pkt may be clobbered
// and must be dropped: ErrAuth (forged or under another key), ErrReplay
// (seen before or older than the window), ErrPacket (not SRTP).
func (x *Context) DecryptRTP(pkt []byte) ([]byte, error) {
	if x.encrypt {
		return nil, ErrDirection
	}
	x.rtpMu.Lock()
	defer x.rtpMu.Unlock()
	out, err := x.rtp.DecryptRTP(pkt, pkt, &x.rtpHdr)
	if err != nil {
		return nil, mapError(err)
	}
	return out, nil
}

// EncryptRTP encrypts the RTP packet pkt in place and returns the SRTP
// packet: pkt extended by the tag, in pkt's array when cap(pkt)-len(pkt) >=
// Overhead (else in a new one). It refuses, with ErrReplay, a packet whose
// SSRC and sequence number were already sent or are older than the window
// (a keystream must never be used twice), and a packet of a new SSRC beyond
// MaxSSRCs with ErrTooManySSRCs.
func (x *Context) EncryptRTP(pkt []byte) ([]byte, error) {
	if !x.encrypt {
		return nil, ErrDirection
	}
	if len(pkt) < 12 || pkt[0]>>6 != 2 {
		return nil, ErrPacket
	}
	ssrc := binary.BigEndian.Uint32(pkt[8:])
	seq := binary.BigEndian.Uint16(pkt[2:])
	x.rtpMu.Lock()
	defer x.rtpMu.Unlock()
	guard, known := x.sent[ssrc]
	if !known {
		if len(x.sent) >= MaxSSRCs {
			return nil, ErrTooManySSRCs
		}
		guard = replaydetector.WithWrap(ReplayWindow, 0xFFFF).(replaydetector.CheckAccepter)
	}
	tok := guard.CheckSeq(uint64(seq))
	if !tok.Passed() {
		return nil, ErrReplay
	}
	out, err := x.rtp.EncryptRTP(pkt, pkt, &x.rtpHdr)
	if err != nil {
		return nil, mapError(err)
	}
	guard.Accept(tok)
	if !known {
		x.sent[ssrc] = guard
	}
	return out, nil
}

// DecryptRTCP authenticates and decrypts the SRTCP packet pkt in place and
// returns the (compound) RTCP packet, a prefix of pkt. Errors as for
// DecryptRTP.
func (x *Context) DecryptRTCP(pkt []byte) ([]byte, error) {
	if x.encrypt {
		return nil, ErrDirection
	}
	x.rtcpMu.Lock()
	defer x.rtcpMu.Unlock()
	out, err := x.rtcp.DecryptRTCP(pkt, pkt, &x.rtcpHdr)
	if err != nil {
		return nil, mapError(err)
	}
	return out, nil
}

// EncryptRTCP encrypts the (compound) RTCP packet pkt in place, like
// EncryptRTP. Each SSRC has its own SRTCP index, so nothing repeats; new
// SSRCs beyond MaxSSRCs are refused with ErrTooManySSRCs.
func (x *Context) EncryptRTCP(pkt []byte) ([]byte, error) {
	if !x.encrypt {
		return nil, ErrDirection
	}
	if len(pkt) < 8 || pkt[0]>>6 != 2 {
		return nil, ErrPacket
	}
	ssrc := binary.BigEndian.Uint32(pkt[4:])
	x.rtcpMu.Lock()
	defer x.rtcpMu.Unlock()
	if _, ok := x.rtcpSSRCs[ssrc]; !ok {
		if len(x.rtcpSSRCs) >= MaxSSRCs {
			return nil, ErrTooManySSRCs
		}
		x.rtcpSSRCs[ssrc] = struct{}{}
	}
	out, err := x.rtcp.EncryptRTCP(pkt, pkt, &x.rtcpHdr)
	if err != nil {
		return nil, mapError(err)
	}
	return out, nil
}

// mapError turns a pion error into this package's sentinels, without
// allocating (forged packets are the attack path).
func mapError(err error) error {
	switch {
	case errors.Is(err, psrtp.ErrFailedToVerifyAuthTag), errors.Is(err, psrtp.ErrMKINotFound):
		return ErrAuth
	case isDuplicate(err):
		return ErrReplay
	}
	return ErrPacket
}

// isDuplicate recognises pion's replay error, whose type and sentinel are
// unexported: it unwraps to an error reading "duplicated packet".
// TestReplayRejected fails if a pion upgrade changes that.
func isDuplicate(err error) bool {
	for u := errors.Unwrap(err); u != nil; u = errors.Unwrap(u) {
		if u.Error() == "duplicated packet" {
			return true
		}
	}
	return false
}

// Keys are one leg's SRTP keys.
type Keys struct {
	// Remote is the party's key (its a=crypto): it decrypts what the party
	// sends to the relay.
	Remote Crypto
	// Local is hushbox's key on the leg (hushbox's a=crypto): it encrypts
	// what the relay sends to the party.
	Local Crypto
}

// String describes the keys with the key material redacted.
func (k Keys) String() string {
	return "remote " + k.Remote.String() + ", local " + k.Local.String()
}

// Pair is a leg's two contexts: In decrypts what the party sends (Keys.Remote),
// Out encrypts what the relay sends it (Keys.Local).
type Pair struct {
	In, Out *Context
	keys    Keys
}

// NewPair makes both contexts of a leg.
func NewPair(k Keys) (*Pair, error) {
	return (*Pair)(nil).Update(k)
}

// Update returns the pair for new keys, keeping each context of p whose
// key did not change: a re-INVITE that repeats a key must not restart that
// stream's rollover counter and replay window (RFC 4568 section 7.1.4),
// while a new key starts a new context. p may be nil. p itself is not
// changed, so packets in flight on it finish safely.
func (p *Pair) Update(k Keys) (*Pair, error) {
	n := &Pair{keys: Keys{Remote: clone(k.Remote), Local: clone(k.Local)}}
	var err error
	if p != nil && p.keys.Remote.Equal(k.Remote) {
		n.In = p.In
	} else if n.In, err = NewDecrypter(k.Remote); err != nil {
		return nil, fmt.Errorf("srtp: remote key: %w", err)
	}
	if p != nil && p.keys.Local.Equal(k.Local) {
		n.Out = p.Out
	} else if n.Out, err = NewEncrypter(k.Local); err != nil {
		return nil, fmt.Errorf("srtp: local key: %w", err)
	}
	return n, nil
}

// Same reports whether the pair runs under exactly these keys.
func (p *Pair) Same(k Keys) bool {
	return p != nil && p.keys.Remote.Equal(k.Remote) && p.keys.Local.Equal(k.Local)
}

// String describes the pair without key material.
func (p *Pair) String() string {
	if p == nil {
		return "plain RTP"
	}
	return "SRTP in " + p.In.suite.String() + ", out " + p.Out.suite.String()
}

func clone(c Crypto) Crypto {
	c.Key = bytes.Clone(c.Key)
	c.MKI = bytes.Clone(c.MKI)
	return c
}
