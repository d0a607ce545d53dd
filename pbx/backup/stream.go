package backup

import (
	"bufio"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
	"io"
)

// ChunkSize is the plaintext size of every chunk but the last.
const ChunkSize = 64 << 10

const (
	tagSize   = 16
	nonceSize = 12
	// sealedChunk is the size of a full chunk on disk.
	sealedChunk = ChunkSize + tagSize
	// lastFlag marks the final chunk in the nonce's last byte.
	lastFlag = 0x01
)

// newAEAD makes the chunk cipher.
func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("cipher: %w", err)
	}
	return aead, nil
}

// chunkNonce is the STREAM nonce: an 88-bit big-endian chunk counter and
// a final-chunk flag byte. A chunk moved, dropped or repeated decrypts
// under the wrong counter, a stream cut at a chunk boundary ends on a
// chunk sealed as not final, and bytes after the final chunk make it be
// read as not final: all fail authentication.
func chunkNonce(counter uint64, last bool) []byte {
	var n [nonceSize]byte
	for i := 0; i < 8; i++ {
		n[10-i] = byte(counter >> (8 * i))
	}
	if last {
		n[11] = lastFlag
	}
	return n[:]
}

// sealWriter encrypts what is written to it in chunks; Close seals the
// final chunk and must be called.
type sealWriter struct {
	w       io.Writer
	aead    cipher.AEAD
	aad     []byte
	buf     []byte
	out     []byte
	counter uint64
	closed  bool
}

func newSealWriter(w io.Writer, key, aad []byte) (*sealWriter, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	return &sealWriter{w: w, aead: aead, aad: aad, buf: make([]byte, 0, ChunkSize), out: make([]byte, 0, sealedChunk)}, nil
}

// Write buffers p, sealing each full chunk once more data follows it (a
// full chunk may still turn out to be the last one).
func (s *sealWriter) Write(p []byte) (int, error) {
	if s.closed {
		return 0, errors.New("backup: write after close")
	}
	n := len(p)
	for len(p) > 0 {
		if len(s.buf) == ChunkSize {
			if err := s.flush(false); err != nil {
				return n - len(p), err
			}
		}
		k := copy(s.buf[len(s.buf):ChunkSize], p)
		s.buf = s.buf[:len(s.buf)+k]
		p = p[k:]
	}
	return n, nil
}

func (s *sealWriter) flush(last bool) error {
	s.out = s.aead.Seal(s.out[:0], chunkNonce(s.counter, last), s.buf, s.aad)
	if _, err := s.w.Write(s.out); err != nil {
		return fmt.Errorf("backup: write chunk %d: %w", s.counter, err)
	}
	s.counter++
	s.buf = s.buf[:0]
	return nil
}

// Close seals what is buffered as the final chunk.
func (s *sealWriter) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.flush(true)
	clear(s.buf[:cap(s.buf)])
	return err
}

// openReader decrypts a chunk stream; Read returns io.EOF only after an
// authenticated final chunk, and an error wrapping ErrCorrupt for any
// damage, truncation, reordering or trailing data.
type openReader struct {
	r       *bufio.Reader
	aead    cipher.AEAD
	aad     []byte
	in      []byte
	plain   []byte // decrypted, not yet returned
	counter uint64
	done    bool
	err     error
}

func newOpenReader(r io.Reader, key, aad []byte) (*openReader, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	return &openReader{r: bufio.NewReaderSize(r, sealedChunk+1), aead: aead, aad: aad, in: make([]byte, sealedChunk)}, nil
}

func (o *openReader) Read(p []byte) (int, error) {
	for len(o.plain) == 0 {
		if o.err != nil {
			return 0, o.err
		}
		if o.done {
			return 0, io.EOF
		}
		o.err = o.next()
	}
	n := copy(p, o.plain)
	o.plain = o.plain[n:]
	return n, nil
}

// next reads and opens one chunk.
func (o *openReader) next() error {
	n, err := io.ReadFull(o.r, o.in)
	last := false
	switch {
	case err == io.EOF:
		return fmt.Errorf("%w: stream ends without its final chunk (after chunk %d)", ErrCorrupt, o.counter)
	case err == io.ErrUnexpectedEOF:
		last = true
	case err != nil:
		return fmt.Errorf("backup: read chunk %d: %w", o.counter, err)
	default:
		// A full chunk is the last one when nothing follows it.
		if _, perr := o.r.Peek(1); perr == io.EOF {
			last = true
		} else if perr != nil {
			return fmt.Errorf("backup: read chunk %d: %w", o.counter, perr)
		}
	}
	if n < tagSize {
		return fmt.Errorf("%w: chunk %d cut short", ErrCorrupt, o.counter)
	}
	plain, err := o.aead.Open(o.in[:0], chunkNonce(o.counter, last), o.in[:n], o.aad)
	if err != nil {
		if last {
			return fmt.Errorf("%w: chunk %d (at the end) fails authentication: truncated, reordered or altered", ErrCorrupt, o.counter)
		}
		return fmt.Errorf("%w: chunk %d fails authentication: reordered, altered or followed by extra data", ErrCorrupt, o.counter)
	}
	if len(plain) == 0 && (!last || o.counter > 0) {
		// Only an empty stream has an empty chunk; the writer never
		// seals one after data.
		return fmt.Errorf("%w: empty chunk %d", ErrCorrupt, o.counter)
	}
	o.plain = plain
	o.counter++
	o.done = last
	return nil
}
