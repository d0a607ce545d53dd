package scramble

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"runtime"
)

// keystream produces the per-frame key material: the AES-CTR keystream
// under the caller's key whose counter blocks are
//
//	SSRC (4 bytes, big-endian) || frame (8 bytes, big-endian) || c (4 bytes, big-endian)
//
// for c = 2, 3, 4, ... The bytes are a pure function of (key, SSRC, frame),
// so frames can be handled in any order.
//
// Why c starts at 2: on machines with AES instructions the keystream is
// computed with the standard library's AES-GCM, whose encryption of zeros
// under the 12-byte nonce SSRC || frame is exactly this CTR keystream (GCM
// reserves c = 1 for its tag). It is the only allocation-free bulk AES-CTR
// in the standard library, several times faster there than one
// cipher.Block call per 16 bytes (cipher.NewCTR allocates per frame); the
// tag is computed and ignored. Without AES instructions (ARMv7: the Pi 2
// and the A20 boards) GCM's tag costs a software GHASH over every byte,
// about a quarter of the frame's work, so there the counter blocks are
// encrypted one by one instead. Both give the same bytes (tested).
//
// A keystream holds only the key schedule: it is read-only after
// newKeystream, and the bytes go to a buffer the caller passes (the
// Scrambler's pooled work area), so many keystreams of many calls do not
// each keep a kilobyte of output and zeros in memory.
type keystream struct {
	aead  cipher.AEAD  // bulk path; nil on the block path
	block cipher.Block // block-by-block path
	size  int          // bytes per frame, whole AES blocks
}

// ksBuf is the per-frame output of a keystream: the key material, followed
// by room for the GCM tag, and the nonce and counter block (fields, not
// locals: the interface calls make their arguments escape).
type ksBuf struct {
	nonce [12]byte
	ctr   [aes.BlockSize]byte
	out   []byte // capacity size + GCM tag
	buf   []byte // out[:size]: the frame's key material
}

// zeros is the "plaintext" GCM encrypts, shared by every keystream: the
// largest frame's key material (N = 320) is 2064 bytes.
var zeros [2304]byte

// blockByBlock says whether this machine lacks AES instructions, so the
// keystream is made without GCM (see keystream).
var blockByBlock = runtime.GOARCH == "arm"

// newKeystream returns a keystream of size bytes (rounded up to whole AES
// blocks) for a 16- or 32-byte AES key.
func newKeystream(key []byte, size int) (*keystream, error) {
	if len(key) != 16 && len(key) != 32 {
		return nil, fmt.Errorf("scramble: key of %d bytes, want 16 or 32: %w", len(key), ErrKeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("scramble: aes key: %w", err)
	}
	n := (size + aes.BlockSize - 1) / aes.BlockSize * aes.BlockSize
	if n > len(zeros) {
		return nil, fmt.Errorf("scramble: %d bytes of key material per frame, at most %d", n, len(zeros))
	}
	k := &keystream{block: block, size: n}
	if blockByBlock {
		return k, nil
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("scramble: aes: %w", err)
	}
	k.aead = aead
	return k, nil
}

// newBuf returns an output buffer for k (and every keystream of the same
// size).
func (k *keystream) newBuf() *ksBuf {
	out := make([]byte, k.size, k.size+16)
	return &ksBuf{out: out, buf: out}
}

// fill computes the key material of frame (ssrc, frame) into b.buf.
func (k *keystream) fill(b *ksBuf, ssrc uint32, frame uint64) {
	binary.BigEndian.PutUint32(b.nonce[0:4], ssrc)
	binary.BigEndian.PutUint64(b.nonce[4:12], frame)
	buf := b.out[:k.size]
	if k.aead == nil {
		copy(b.ctr[:12], b.nonce[:])
		for i, c := 0, uint32(2); i < len(buf); i, c = i+aes.BlockSize, c+1 {
			binary.BigEndian.PutUint32(b.ctr[12:], c)
			k.block.Encrypt(buf[i:i+aes.BlockSize], b.ctr[:])
		}
	} else {
		k.aead.Seal(b.out[:0], b.nonce[:], zeros[:k.size], nil)
	}
	b.buf = buf
}
