package keys

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sync"
)

// Role is the side of the SDP offer/answer a key share belongs to. It is
// signed, so an offer cannot be reflected back as an answer.
type Role uint8

const (
	Offer  Role = 1 // the side that sends the SDP offer
	Answer Role = 2 // the side that sends the SDP answer
)

func (r Role) String() string {
	switch r {
	case Offer:
		return "offer"
	case Answer:
		return "answer"
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}

func (r Role) valid() bool { return r == Offer || r == Answer }

func (r Role) opposite() Role {
	if r == Offer {
		return Answer
	}
	return Offer
}

// MaxBinding bounds the call binding, in bytes.
const MaxBinding = 1024

// transcriptLabel starts every signed transcript.
const transcriptLabel = "hushbox-key v1"

// Exchange is one side of the key agreement of one call: an ephemeral
// X25519 key and its signed share. Make it with NewExchange, publish
// Attribute in the SDP, and call Complete with the peer's attribute. It is
// safe for concurrent use.
type Exchange struct {
	mu      sync.Mutex
	role    Role
	binding string
	share   Share
	attr    string
	ephPriv []byte // X25519 scalar; nil once completed or destroyed
}

// NewExchange makes a fresh ephemeral X25519 key for one call and signs its
// share with id. role is this side's role; binding is a value both ends
// know for this call only (1 to MaxBinding bytes; see doc.go for what to
// use): a share signed for one binding does not verify under another.
func NewExchange(id *Identity, role Role, binding string) (*Exchange, error) {
	if !role.valid() {
		return nil, fmt.Errorf("keys: new exchange: invalid role %d", uint8(role))
	}
	if len(binding) == 0 || len(binding) > MaxBinding {
		return nil, fmt.Errorf("keys: new exchange: binding of %d bytes, want 1 to %d: %w", len(binding), MaxBinding, ErrBinding)
	}
	e := &Exchange{role: role, binding: binding, ephPriv: make([]byte, 32)}
	if _, err := rand.Read(e.ephPriv); err != nil {
		return nil, fmt.Errorf("keys: new exchange: %w", err)
	}
	priv, err := ecdh.X25519().NewPrivateKey(e.ephPriv)
	if err != nil {
		return nil, fmt.Errorf("keys: new exchange: %w", err)
	}
	e.share.Identity = id.Public()
	copy(e.share.Ephemeral[:], priv.PublicKey().Bytes())
	sig, err := id.sign(transcript(role, binding, e.share.Ephemeral, e.share.Identity))
	if err != nil {
		clear(e.ephPriv)
		return nil, fmt.Errorf("keys: new exchange: %w", err)
	}
	copy(e.share.Signature[:], sig)
	e.attr = e.share.String()
	return e, nil
}

// Attribute is this side's share as the value of the SDP attribute
// (what follows "a=hushbox-key:"). It stays available after Complete.
func (e *Exchange) Attribute() string { return e.attr }

// Role is this side's role.
func (e *Exchange) Role() Role { return e.role }

// Complete checks the peer's share and derives the call keys. In order:
//   - the attribute must parse (else ErrMalformed);
//   - its signature must verify over the transcript of the opposite role
//     with this exchange's binding (else ErrBadSignature);
//   - trusted must accept the peer's identity key (else ErrUntrusted; a nil
//     trusted trusts nobody: pass TrustAny to rely on the SAS alone);
//   - X25519 with the peer's ephemeral key must not give zero (a low-order
//     key, ErrMalformed).
//
// On success the ephemeral private key is wiped and the exchange cannot be
// completed again (ErrDestroyed). On failure it is kept, so the caller may
// try another answer (forked call) or Destroy it.
func (e *Exchange) Complete(peerAttr string, trusted func(PublicKey) bool) (*CallKeys, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ephPriv == nil {
		return nil, fmt.Errorf("keys: complete: %w", ErrDestroyed)
	}
	peer, err := ParseAttribute(peerAttr)
	if err != nil {
		return nil, err
	}
	peerRole := e.role.opposite()
	if !ed25519.Verify(peer.Identity[:], transcript(peerRole, e.binding, peer.Ephemeral, peer.Identity), peer.Signature[:]) {
		return nil, fmt.Errorf("keys: %s from %s: %w", peerRole, peer.Identity.Fingerprint(), ErrBadSignature)
	}
	if trusted == nil || !trusted(peer.Identity) {
		return nil, fmt.Errorf("keys: %s from %s: %w", peerRole, peer.Identity.Fingerprint(), ErrUntrusted)
	}
	x := ecdh.X25519()
	priv, err := x.NewPrivateKey(e.ephPriv)
	if err != nil {
		return nil, fmt.Errorf("keys: complete: %w", err)
	}
	pub, err := x.NewPublicKey(peer.Ephemeral[:])
	if err != nil {
		return nil, fmt.Errorf("keys: %s ephemeral key: %w", peerRole, ErrMalformed)
	}
	shared, err := priv.ECDH(pub)
	if err != nil {
		return nil, fmt.Errorf("keys: %s ephemeral key of low order: %w", peerRole, ErrMalformed)
	}
	defer clear(shared)
	offer, answer := e.share, peer
	if e.role == Answer {
		offer, answer = peer, e.share
	}
	ck, err := deriveCallKeys(shared, offer, answer, e.binding, e.role)
	if err != nil {
		return nil, fmt.Errorf("keys: complete: %w", err)
	}
	ck.PeerIdentity = peer.Identity
	clear(e.ephPriv)
	e.ephPriv = nil
	return ck, nil
}

// Destroy wipes the ephemeral private key of an exchange that will not be
// completed (call failed or cancelled). Safe to call more than once.
func (e *Exchange) Destroy() {
	e.mu.Lock()
	defer e.mu.Unlock()
	clear(e.ephPriv)
	e.ephPriv = nil
}

// TrustAny trusts every identity: for calls whose only authentication is
// the users comparing the SAS aloud (no pinned key yet).
func TrustAny(PublicKey) bool { return true }

// transcript is what a share's signature covers:
//
//	"hushbox-key v1" || role (1 byte) || len(binding) (4 bytes, big endian)
//	|| binding || ephemeral public key (32) || identity public key (32)
func transcript(r Role, binding string, eph [32]byte, id PublicKey) []byte {
	b := make([]byte, 0, len(transcriptLabel)+1+4+len(binding)+64)
	b = append(b, transcriptLabel...)
	b = append(b, byte(r))
	b = binary.BigEndian.AppendUint32(b, uint32(len(binding)))
	b = append(b, binding...)
	b = append(b, eph[:]...)
	b = append(b, id[:]...)
	return b
}
