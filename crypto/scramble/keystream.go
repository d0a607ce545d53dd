package scramble

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"
)

// keystream produces the per-frame key material: AES-CTR under the
// caller's key with the initial counter block
//
//	SSRC (4 bytes, big-endian) || frame (8 bytes, big-endian) || 0 (4 bytes)
//
// and the last 4 bytes counting blocks (big-endian). The bytes are a pure
// function of (key, SSRC, frame), so frames can be handled in any order.
// CTR mode is done here block by block instead of with cipher.NewCTR so
// that a frame costs no allocation.
type keystream struct {
	block cipher.Block
	ctr   [aes.BlockSize]byte
	buf   []byte // whole blocks; the frame's key material
}

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
	blocks := (size + aes.BlockSize - 1) / aes.BlockSize
	return &keystream{block: block, buf: make([]byte, blocks*aes.BlockSize)}, nil
}

// fill computes the key material of frame (ssrc, frame) into k.buf.
func (k *keystream) fill(ssrc uint32, frame uint64) {
	binary.BigEndian.PutUint32(k.ctr[0:4], ssrc)
	binary.BigEndian.PutUint64(k.ctr[4:12], frame)
	for i := 0; i*aes.BlockSize < len(k.buf); i++ {
		binary.BigEndian.PutUint32(k.ctr[12:16], uint32(i))
		k.block.Encrypt(k.buf[i*aes.BlockSize:(i+1)*aes.BlockSize], k.ctr[:])
	}
}
