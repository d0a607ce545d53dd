// Package srtp terminates SRTP (RFC 3711) on one hop of a call, keyed by SDES
// (RFC 4568, a=crypto in the SDP that runs over SIP TLS).
//
// hushbox relays every call's media, so SRTP never runs end to end: each leg
// has its own keys. The party's a=crypto key (Keys.Remote) decrypts what it
// sends to the relay; hushbox's own key for that leg (Keys.Local, made by
// NewCrypto with crypto/rand) encrypts what the relay sends to it. A leg may
// be SRTP while the other is plain RTP: the relay converts.
//
// The package holds the SDES side (Crypto, ParseCrypto, NewCrypto,
// Negotiate) and the packet transforms (Context, Pair), which wrap
// github.com/pion/srtp/v3. Suites: AES_CM_128_HMAC_SHA1_80 and _32 (RFC
// 4568), AES_256_CM_HMAC_SHA1_80 (RFC 6188), AEAD_AES_128_GCM and
// AEAD_AES_256_GCM (RFC 7714).
//
// Keys are secrets: Crypto's String, GoString and LogValue redact the key,
// errors never quote it. Only Crypto.Value writes it, for the SDP body.
package srtp
