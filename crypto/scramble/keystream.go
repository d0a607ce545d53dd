package scramble

import (
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"runtime"

	"golang.org/x/crypto/chacha20"
	"golang.org/x/crypto/chacha20poly1305"
)

// keyBytes is the scrambler's key size: a ChaCha20 key.
const keyBytes = chacha20.KeySize

// blockBytes is the ChaCha20 block: key material comes in whole blocks.
const blockBytes = 64

// keystream produces the per-frame key material: the ChaCha20 keystream
// (RFC 8439) under the caller's 32-byte key with the 12-byte nonce
//
//	SSRC (4 bytes, big-endian) || frame (8 bytes, big-endian)
//
// and the block counter starting at 1. The bytes are a pure function of
// (key, SSRC, frame), so frames can be handled in any order.
//
// Why ChaCha20 (version 3 of the specification; versions 1 and 2 used
// AES-CTR): the boards' Cortex-A7 has no AES instructions, and Go's
// software AES-256 was 45 % of a relayed scrambled frame there (101 000
// of 223 000 ARMv7 instructions); ChaCha20 makes the same 1024 bytes in
// about 29 000, because it is additions, rotations and XORs on 32-bit
// words, which is what a small in-order core does well.
//
// Why the counter starts at 1: on amd64 the keystream is computed with
// the ChaCha20-Poly1305 AEAD's assembly, whose encryption of zeros under
// the nonce SSRC || frame is exactly this keystream (the AEAD uses block 0
// for its Poly1305 key). It is the fastest ChaCha20 Go has on amd64 (about
// 650 ns per 1024 bytes against about 1 400 for golang.org/x/crypto's
// generic ChaCha20 there); the tag is computed and ignored. Elsewhere the
// plain ChaCha20 cipher makes the bytes (assembly on arm64, generic Go on
// ARMv7, where a Poly1305 tag would be wasted work). Both give the same
// bytes (tested).
//
// A keystream holds only the key (and the AEAD's copy of it): it is
// read-only after newKeystream, and the bytes go to a buffer the caller
// passes (the Scrambler's pooled work area), so many keystreams of many
// calls do not each keep a kilobyte of output in memory.
type keystream struct {
	key  [keyBytes]byte
	aead cipher.AEAD // bulk path; nil on the plain-cipher path
	size int         // bytes per frame, whole ChaCha20 blocks
}

// ksBuf is the per-frame output of a keystream: the key material, followed
// by room for the AEAD's tag, and the nonce (a field, not a local: the
// interface call makes its argument escape).
type ksBuf struct {
	nonce [chacha20.NonceSize]byte
	out   []byte // capacity size + tag
	buf   []byte // out[:size]: the frame's key material
}

// tagBytes is the room ksBuf.out keeps after the key material for the
// AEAD's tag.
const tagBytes = chacha20poly1305.Overhead

// zeros is what the keystream XORs with, shared by every keystream: the
// largest frame's key material (N = 320) is 2112 bytes.
var zeros [2304]byte

// useAEAD says whether the keystream is made with the ChaCha20-Poly1305
// AEAD (see keystream): only amd64 has assembly for it.
var useAEAD = runtime.GOARCH == "amd64"

// newKeystream returns a keystream of size bytes (rounded up to whole
// ChaCha20 blocks) for a 32-byte key.
func newKeystream(key []byte, size int) (*keystream, error) {
	if len(key) != keyBytes {
		return nil, fmt.Errorf("scramble: key of %d bytes, want %d: %w", len(key), keyBytes, ErrKeySize)
	}
	n := (size + blockBytes - 1) / blockBytes * blockBytes
	if n > len(zeros) {
		return nil, fmt.Errorf("scramble: %d bytes of key material per frame, at most %d", n, len(zeros))
	}
	k := &keystream{size: n}
	copy(k.key[:], key)
	if !useAEAD {
		return k, nil
	}
	aead, err := chacha20poly1305.New(key)
	if err != nil {
		return nil, fmt.Errorf("scramble: chacha20poly1305: %w", err)
	}
	k.aead = aead
	return k, nil
}

// newBuf returns an output buffer for k (and every keystream of the same
// size).
func (k *keystream) newBuf() *ksBuf {
	out := make([]byte, k.size, k.size+tagBytes)
	return &ksBuf{out: out, buf: out}
}

// fill computes the key material of frame (ssrc, frame) into b.buf.
func (k *keystream) fill(b *ksBuf, ssrc uint32, frame uint64) {
	binary.BigEndian.PutUint32(b.nonce[0:4], ssrc)
	binary.BigEndian.PutUint64(b.nonce[4:12], frame)
	buf := b.out[:k.size]
	if k.aead != nil {
		k.aead.Seal(b.out[:0], b.nonce[:], zeros[:k.size], nil)
	} else {
		k.chacha(buf, &b.nonce)
	}
	b.buf = buf
}

// chacha writes the keystream from block 1 on into buf with the plain
// cipher. The Cipher lives on the stack: nothing is allocated per frame.
func (k *keystream) chacha(buf []byte, nonce *[chacha20.NonceSize]byte) {
	c, err := chacha20.NewUnauthenticatedCipher(k.key[:], nonce[:])
	if err != nil {
		// Unreachable: the key and nonce sizes are fixed above.
		panic("scramble: chacha20: " + err.Error())
	}
	c.SetCounter(1)
	c.XORKeyStream(buf, zeros[:len(buf)])
}
