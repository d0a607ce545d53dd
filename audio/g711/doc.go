// Package g711 implements ITU-T G.711 mu-law and A-law companding with
// lookup tables.
//
// The tables are built once, at package initialisation, from a
// transliteration of the classic Sun Microsystems g711.c reference
// algorithm (the revision that shifts 16-bit input down to 14 bits for
// mu-law and 13 bits for A-law, as sox, Python's audioop and most VoIP
// stacks use). Every function here is therefore bit-exact with that
// reference: the same 16-bit sample always yields the same code, on every
// GOARCH.
//
// Direct mu-law <-> A-law conversion uses the 128-entry tables of the
// G.711 specification as published in g711.c, with the two well-known
// corrections sox applies (see transcode.go). hushbox uses it for the one transcoding the PBX allows:
// PCMU <-> PCMA, in place, on an RTP payload.
//
// Samples are signed 16-bit linear PCM (int16). Codes are the transmitted
// octets (mu-law with all bits inverted, A-law with even bits inverted),
// exactly what travels in an RTP PCMU/PCMA payload.
package g711
