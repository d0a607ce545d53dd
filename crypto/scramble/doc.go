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
//  1. Forward transform: an unnormalised DCT-II with a Q15 cosine table,
//     X[k] = round(sum_n x[n]*C[k][n] / 2^11): coefficients carry 4
//     fractional bits in int32, sums are exact in int64.
//  2. Keyed mixing, in three disjoint ranges of bins, each within itself:
//     the voice band [3N/40, 17N/20) (300 Hz to 3400 Hz) and the two edges
//     [1, 3N/40) and [17N/20, N), so no sound passes in clear and no
//     energy moves into or out of the telephone band. Each range gets 4
//     rounds of a keyed Fisher-Yates permutation, keyed sign flips and
//     keyed Givens rotations of adjacent pairs. A rotation is done as three
//     integer lifting steps from Q15 tables, so the mixing is an exact
//     bijection on integers and its inverse is exact. Bin 0 (the frame
//     mean) is not mixed.
//  3. Inverse transform: a DCT-III, y[n] = floor((A + D/2) / D) with
//     A = X[0]*2^14 + sum_{k>=1} X[k]*C[k][n] and D = N*2^18, saturated to
//     int16.
//
// Descrambling is the same with the inverse mixing (the rounds in reverse
// order, each undone exactly). The only losses of a round trip are the
// int16 rounding and saturation of the scrambled signal and the rounding of
// the transforms; for speech the round trip is far above 60 dB SNR.
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
// AES-CTR with the caller's 16- or 32-byte key (one key per call and
// direction). The initial counter block is SSRC (4 bytes big-endian) ||
// frame number (8 bytes big-endian) || 0x00000000, and the keystream of a
// frame is AES(key, block), AES(key, block+1), ... The byte layout of the
// keystream (which bytes choose which swap, sign and angle) is in
// docs/scrambler.md.
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
