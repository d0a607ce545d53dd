// Package peer joins two hushboxes (a board and its cloud peer, or two
// offices): a one-time pairing code shown on one box and typed into the
// other, after which each box holds the other's identity key and TLS
// certificate fingerprint, and every later exchange between them (the
// heartbeats now; replication and call hand-off later) runs over mutual
// TLS in which each side accepts exactly the certificate it pinned.
//
// Pairing is one HTTPS request from the box the code was typed into (the
// initiator) to the web port of the box that showed it (the responder):
// each side sends its identity key, its certificate fingerprint, its ports
// and a fresh nonce, with an HMAC-SHA256 over the transcript keyed from the
// code. The responder burns the code on the first attempt, right or wrong.
// docs/peers.md explains why this is enough without a PAKE.
package peer
