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
type keystream struct {
	aead  cipher.AEAD  // bulk path; nil on the block path
	block cipher.Block // block-by-block path
	nonce [12]byte
	ctr   [aes.BlockSize]byte // counter block of the block path (a field: Encrypt's argument escapes)
	zero  []byte              // whole blocks of zeros, the "plaintext"
	out   []byte              // zero's encryption followed by the 16-byte tag
	buf   []byte              // out without the tag: the frame's key material
}

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
	k := &keystream{block: block, zero: make([]byte, n)}
	if blockByBlock {
		k.out = make([]byte, n)
		k.buf = k.out
		return k, nil
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("scramble: aes: %w", err)
	}
	k.aead = aead
	k.out = make([]byte, 0, n+aead.Overhead())
	k.buf = k.out[:n]
	return k, nil
}

// fill computes the key material of frame (ssrc, frame) into k.buf.
func (k *keystream) fill(ssrc uint32, frame uint64) {
	binary.BigEndian.PutUint32(k.nonce[0:4], ssrc)
	binary.BigEndian.PutUint64(k.nonce[4:12], frame)
	if k.aead == nil {
		copy(k.ctr[:12], k.nonce[:])
		for i, c := 0, uint32(2); i < len(k.buf); i, c = i+aes.BlockSize, c+1 {
			binary.BigEndian.PutUint32(k.ctr[12:], c)
			k.block.Encrypt(k.buf[i:i+aes.BlockSize], k.ctr[:])
		}
		return
	}
	k.aead.Seal(k.out[:0], k.nonce[:], k.zero, nil)
}
