package media

import (
	"errors"
	"fmt"

	"hushbox/pbx/srtp"
)

// SetSRTP makes the leg an SRTP leg keyed by k, or a plain RTP leg when k is
// nil (the default).
//
// On an SRTP leg, every packet received (RTP, RTCP, rtcp-mux) is
// authenticated and decrypted with k.Remote before anything else: before
// latching (so only the keyed party can latch the leg), transcoding,
// payload-type mapping and the hook. Forged packets are dropped and counted
// in SRTPAuthFailed, replays in SRTPReplayed. Every packet sent out of the
// leg is encrypted with k.Local after them. The other leg is independent:
// plain to SRTP, SRTP to plain and SRTP to SRTP under different keys all
// work.
//
// Calling SetSRTP again with the same keys changes nothing (the SRTP
// rollover counters and replay windows go on, as RFC 4568 wants when a
// re-INVITE repeats the keys); a changed key restarts only its direction.
// The B2BUA can therefore call it after every offer/answer.
//
// An error (keys that do not validate) leaves the leg closed rather than
// open: it then decrypts and encrypts under throw-away random keys, so
// nothing it receives is relayed and nothing it sends is readable. The
// B2BUA should end the call.
func (l *Leg) SetSRTP(k *srtp.Keys) error {
	l.secMu.Lock()
	defer l.secMu.Unlock()
	if k == nil {
		if l.sec.Swap(nil) != nil {
			l.session.log.Info("media: leg SRTP off", "leg", l.name, "port", l.port)
		}
		return nil
	}
	cur := l.sec.Load()
	if cur.Same(*k) {
		return nil
	}
	p, err := cur.Update(*k)
	if err != nil {
		closed, cerr := closedPair()
		if cerr != nil { // unreachable: fresh keys of a supported suite
			return errors.Join(fmt.Errorf("media: leg %s: %w", l.name, err), cerr)
		}
		l.sec.Store(closed)
		l.session.log.Warn("media: leg SRTP keys refused; leg closed", "leg", l.name, "port", l.port, "err", err)
		return fmt.Errorf("media: leg %s: %w", l.name, err)
	}
	l.sec.Store(p)
	l.session.log.Info("media: leg SRTP", "leg", l.name, "port", l.port, "srtp", p.String())
	return nil
}

// RequireSRTP closes a leg that must run SRTP but has no keys yet: until
// SetSRTP gives it its keys, it decrypts and encrypts under throw-away
// random keys, so nothing it receives is relayed and nothing it sends is
// readable. The B2BUA calls it when a caller's offer carries SRTP keys,
// before it points the leg at the caller: a packet from the callee that
// reaches the relay before the answer is applied must not go to the caller
// in the clear. A leg that already has keys is left as it is.
func (l *Leg) RequireSRTP() error {
	l.secMu.Lock()
	defer l.secMu.Unlock()
	if l.sec.Load() != nil {
		return nil
	}
	closed, err := closedPair()
	if err != nil {
		return fmt.Errorf("media: leg %s: %w", l.name, err)
	}
	l.sec.Store(closed)
	return nil
}

// SRTP reports whether the leg runs SRTP.
func (l *Leg) SRTP() bool { return l.sec.Load() != nil }

// closedPair is a pair under random keys nobody holds.
func closedPair() (*srtp.Pair, error) {
	r, err := srtp.NewCrypto(0, srtp.AES128CMSHA1_80)
	if err != nil {
		return nil, err
	}
	w, err := srtp.NewCrypto(0, srtp.AES128CMSHA1_80)
	if err != nil {
		return nil, err
	}
	return srtp.NewPair(srtp.Keys{Remote: r, Local: w})
}

// countSRTPIn counts a packet the leg's decrypter refused.
func (l *Leg) countSRTPIn(err error) {
	switch {
	case errors.Is(err, srtp.ErrReplay):
		l.srtpReplayed.Add(1)
	case errors.Is(err, srtp.ErrAuth):
		l.srtpAuthFailed.Add(1)
	default:
		l.invalid.Add(1)
	}
}

// classifySRTP is classify for a leg that receives SRTP: the payload (and
// with it any padding count) is encrypted and a tag follows it, so only
// the version is checked before decryption; RTP is validated again after.
func classifySRTP(b []byte) packetKind {
	if len(b) < rtpHeaderLen || b[0]>>6 != 2 { // SRTCP is never shorter either
		return kindInvalid
	}
	if b[1] >= 192 && b[1] <= 223 {
		if !validRTCP(b) {
			return kindInvalid
		}
		return kindMuxedRTCP
	}
	return kindRTP
}
