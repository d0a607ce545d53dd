// Package keys is hushbox's per-call key agreement: long-term Ed25519
// identities, a signed ephemeral X25519 exchange carried in the SDP, and
// HKDF-SHA256 derivation of one scrambler key (and one SRTP master key)
// per call and direction, plus a short authentication string (SAS) the two
// users can read aloud, as in ZRTP.
//
// # Identities
//
// Every hushbox (later every hushbox endpoint) has an Identity, an Ed25519
// key pair. Its public key has a text form, "hbx1:" followed by the 32 key
// bytes in base64url without padding (PublicKey.String, ParsePublicKey),
// and a fingerprint users compare when they pin it: the first 128 bits of
// SHA-256 over the 32 key bytes as 8 space-separated groups of 4 hex digits
// (PublicKey.Fingerprint). Non-canonical encodings and the 8 small-order
// points are refused everywhere a key is parsed: a small-order "key" lets
// anyone forge signatures that crypto/ed25519 accepts.
//
// Seal and Open store the private key encrypted: version byte 0x01 ||
// 12-byte nonce || AES-256-GCM(seed) || 16-byte tag, under a key derived by
// HKDF-SHA256 from the caller's 32-byte key-encryption key (info "hushbox
// identity seal v1"). Identity.Destroy wipes the private key.
//
// The Directory maps names to pinned keys; its text form is one
// "name hbx1:..." line per key (MarshalText, ParseDirectory).
//
// # The exchange
//
// Each side of a call makes an Exchange (NewExchange) with its identity,
// its role (Offer or Answer) and the call binding, a string both ends know
// for this call only. The exchange draws an ephemeral X25519 key from
// crypto/rand and signs this transcript with the identity:
//
//	"hushbox-key v1"              14 ASCII bytes
//	role                          1 byte: 0x01 offer, 0x02 answer
//	len(binding)                  4 bytes, big endian
//	binding                       1 to 1024 bytes
//	ephemeral public key          32 bytes (X25519, RFC 7748)
//	identity public key           32 bytes (Ed25519, RFC 8032)
//
// The share travels as a media-level SDP attribute (sdp.ExtraPrefix makes
// the B2BUA carry it to the other leg unchanged):
//
//	a=hushbox-key:1 <identity> <ephemeral> <signature>
//
// "1" is the version; then, separated by single spaces, the identity key
// (43 characters), the ephemeral key (43) and the signature (86), each
// base64url without padding (RFC 4648 section 5, unused bits zero). The
// value after "a=hushbox-key:" is exactly 176 bytes. Nothing else is
// accepted: no other version, no extra or missing field, no other spacing.
// A later version will use another leading number; a receiver that does
// not know it refuses the share (ErrMalformed, 488).
//
// Exchange.Complete takes the peer's attribute value and, in order: parses
// it (ErrMalformed); verifies the signature over the peer's transcript,
// built with the opposite role and this side's binding (ErrBadSignature);
// asks the trust policy about the peer's identity key (ErrUntrusted); does
// X25519, refusing a zero result from a low-order ephemeral key
// (ErrMalformed); and derives the keys:
//
//	salt = SHA-256(offer ephemeral || answer ephemeral)
//	info = "hushbox call keys v1" || len(binding) (4 bytes, big endian)
//	       || binding || offer identity || answer identity
//	OKM  = HKDF-SHA256(X25519 secret, salt, info, 128 bytes)
//
//	OKM[0:32]    scrambler key, offerer to answerer
//	OKM[32:64]   scrambler key, answerer to offerer
//	OKM[64:94]   SRTP master key || salt (16 + 14), offerer to answerer
//	OKM[94:124]  SRTP master key || salt, answerer to offerer
//	OKM[124:128] SAS: the first 20 bits, as 4 z-base-32 characters
//	             (alphabet "ybndrfg8ejkmcpqxot1uwisza345h769", ZRTP's B32)
//
// CallKeys presents them per side: the offerer's Tx keys are the answerer's
// Rx keys. On success the ephemeral private key is wiped.
//
// # The binding
//
// A share is only valid under the binding it was signed with. Both ends
// must pass the same string, unique to the call. The SIP Call-ID and tags
// are the natural choice between two endpoints that see the same dialog,
// but a B2BUA (hushbox's own included) gives each leg its own Call-ID and
// tags. Across a B2BUA the offerer draws a binding with NewBinding and
// sends it as "a=hushbox-call:<binding>" (BindingAttributeName) next to its
// share; the answerer takes it from the offer. As the answer's signature
// covers it, an answer cannot be replayed into another call.
//
// # What it protects against
//
//   - Whoever relays the SDP and the media (the PBX's B2BUA and RTP relay,
//     a trunk, the cloud peer) sees only public keys and signatures and
//     cannot compute the keys: X25519 needs an ephemeral private key, and
//     those never leave the endpoints.
//   - A man in the middle that replaces a share with its own must sign it
//     with an identity. With pinning (a Directory as trust policy) its
//     identity is not trusted: ErrUntrusted. Without pinning (TrustAny), the
//     two sides end up with different keys, and the SAS the users read
//     aloud differs except with probability 2^-20 per call.
//   - An altered share (identity, ephemeral key, role, binding) fails the
//     signature: ErrBadSignature. An offer cannot be reflected as an answer
//     (the role is signed).
//   - Forward secrecy: keys come from fresh ephemeral keys only; stealing an
//     identity later does not decrypt recorded calls.
//
// # Limits
//
//   - A replayed offer verifies at the answerer (two messages leave no room
//     for a challenge): the phone may ring with a pinned caller's name. No
//     one can talk on such a call, since no one holds the old ephemeral key:
//     what arrives descrambles to noise, and no SAS matches.
//   - There is no key confirmation in the protocol: a side that derived
//     wrong keys learns it from noise or from the SAS, not from an error.
//   - Whoever controls the trust policy controls authentication: a key
//     directory kept on the PBX lets the PBX's operator pin a key of its own;
//     only the SAS (or pins kept on the endpoint) catches that.
//   - A relay can always drop or garble the attribute, and so stop the call
//     (denial of service is out of scope).
//   - A stolen identity lets the thief impersonate its owner in new calls
//     until its key is removed from the directories.
//   - Go cannot promise that no copy of a private key survives in memory:
//     Destroy and Complete wipe the copies this package keeps; crypto/ecdh
//     and crypto/ed25519 keep short-lived internal copies.
//   - X25519 and Ed25519 are not post-quantum.
//   - The scrambler that uses the keys leaks frame energy (see
//     crypto/scramble).
package keys
