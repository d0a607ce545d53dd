// Package scramble is hushbox's end-to-end voice scrambler: a keyed,
// fixed-point, frame-by-frame mixing of the speech spectrum that turns
// 8 kHz 16-bit mono speech into noise-like audio of the same length and
// loudness, and back again with the same key.
//
// It protects speech against whoever relays the media (the PBX, a trunk,
// the cloud peer): SRTP protects each hop, the scrambler protects the
// call end to end. docs/scrambler.md is the full specification; this
// comment is its summary.
//
// # Frames
//
// A frame is N consecutive samples, N in {80, 160, 240, 320} (10, 20, 30,
// 40 ms). One RTP packet carries one frame. Each frame is scrambled on its
// own with key material that is a pure function of (key, SSRC, frame
// number), frame number = extended RTP timestamp / N, so lost, late and
// reordered packets never desynchronise the receiver.
//
// # Per frame
//
//  1. Forward transform: the unnormalised DCT-II in Q4, computed with
//     Makhoul's reordering and a fixed-point mixed-radix (5, 3, 4, 2)
//     complex FFT of length N/2 on int64 data in Q12, every twiddle and
//     butterfly constant a Q15 value from one cosine table, every product
//     sum rounded once (rshr). O(N log N) instead of the direct O(N^2).
//  2. Keyed mixing, in three disjoint ranges of bins, each within itself:
//     the voice band [3N/40, 17N/20) (300 Hz to 3400 Hz) and the two edges
//     [1, 3N/40) and [17N/20, N), so no sound passes in clear and no
//     energy moves into or out of the telephone band. Each range gets a
//     keyed Fisher-Yates permutation, 4 rounds of keyed sign flips and
//     keyed Givens rotations of the pairs (t, t+ceil(m/2)) written back
//     perfectly shuffled (so after 4 rounds each coefficient combines 16),
//     and a second keyed permutation. A rotation is done as three integer
//     lifting steps from Q15 tables, so the mixing is an exact bijection
//     on integers and its inverse is exact. Bin 0 (the frame mean) is not
//     mixed.
//  3. Inverse transform: the DCT-III by the same FFT (on the conjugate),
//     divided by N/2 * 2^12 with rdiv and saturated to int16.
//
// Descrambling is the same with the inverse mixing (the rounds in reverse
// order, each undone exactly). The only losses of a round trip are the
// int16 rounding and saturation of the scrambled signal and the rounding of
// the transforms (within 2 LSB per transform pair at full scale); for
// speech the round trip is about 76-80 dB SNR.
//
// # Bit exactness
//
// Everything at run time is integer arithmetic with one rounding rule,
// round half up: round(v / 2^s) = (v + 2^(s-1)) >> s with an arithmetic
// shift, and round(v / D) = floor((v + D/2) / D) for the one non-power-of-two
// divisor. Saturation to int16 is explicit. The Q15 tables are checked in
// (tables.go) and regenerated and compared by a test, so every GOARCH
// produces the same bits; golden vectors in testdata are checked on the
// build machine and on ARMv7 under qemu-arm-static.
//
// # Keystream
//
// ChaCha20 (RFC 8439) with the caller's 32-byte key (one key per call and
// direction), nonce SSRC (4 bytes big-endian) || frame number (8 bytes
// big-endian), block counter 1, 2, ...: on amd64 computed as the
// ChaCha20-Poly1305 encryption of zeros under that nonce (the AEAD's
// assembly; its tag is dropped), elsewhere with the plain cipher. 1024
// bytes per 160-sample frame. Versions 1 and 2 of the specification used
// AES-CTR, which the boards' Cortex-A7 must compute in software (45 % of a
// relayed frame there). The byte layout of the keystream (which bytes
// choose which swap, sign and angle) is in docs/scrambler.md.
//
// # Known leaks
//
// Frame energy is preserved (the loudness envelope, and so talk spurts and
// pauses, are visible), and so is the split of that energy between below
// 300 Hz, the voice band and above 3400 Hz; the frame mean is not
// scrambled; packet timing is visible. The scrambler is not a cipher: it
// hides what is said, it does not give the guarantees of SRTP.
//
// A Scrambler holds per-frame scratch buffers and is not safe for concurrent
// use; use one per call direction.
package scramble
