// Package update installs signed firmware bundles into the inactive A/B
// slot of the boot partition, arms a test boot, and marks a test boot good.
//
// A bundle is a small header, an Ed25519 signature over the header, and a
// payload: the initramfs that is the whole root file system (the kernel and
// the DTBs are not part of a bundle; they change only with a new image). The
// header carries the SHA-256 and the length of the payload, so the
// signature covers the payload too, and a bundle can be checked while it
// streams: the signature before the first payload byte is read, the hash
// when the last one has been.
//
// The boot partition holds initrd-a.img and initrd-b.img and hushbox.env,
// the U-Boot environment text the boot script (rootfs/boot/boot.cmd)
// imports: slot= the known-good slot, try= a slot to test-boot (or empty),
// tries= how many test boots are left. See docs/update.md.
package update

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Bundle layout (big-endian):
//
//	0    4  magic "HBUP"
//	4    2  format version (1)
//	6    2  n: length of the body
//	8    n  body:
//	          1+v  firmware version (1..64 printable ASCII bytes)
//	          1    board count (1..16), then each: 1+b board name (1..32 of [a-z0-9-])
//	          8    payload length (1..MaxPayload)
//	          32   SHA-256 of the payload
//	8+n  64 Ed25519 signature over bytes [0, 8+n)
//	...     payload (exactly the header's length; nothing after it)
const (
	// Magic opens every bundle.
	Magic = "HBUP"
	// FormatVersion is the header layout this package writes and reads.
	FormatVersion = 1
	// MaxPayload bounds a payload (an initramfs is a few MiB to 16 MiB).
	MaxPayload = 128 << 20
	// maxBody bounds the header body; the largest valid one is far smaller.
	maxBody       = 1024
	maxVersionLen = 64
	maxBoards     = 16
	maxBoardLen   = 32
	prefixLen     = 8
)

// Errors a refused bundle wraps, so the web page and the CLI can say why.
var (
	ErrNotBundle = errors.New("not a hushbox update bundle")
	ErrFormat    = errors.New("bundle format not supported by this firmware")
	ErrHeader    = errors.New("bundle header is malformed")
	ErrSignature = errors.New("bundle signature does not verify with the release key")
	ErrBoard     = errors.New("bundle is for another board")
	ErrTruncated = errors.New("bundle is truncated")
	ErrPayload   = errors.New("bundle payload does not match its signed hash (tampered or damaged)")
	ErrTrailing  = errors.New("bundle has data after its payload")
)

// Header is a bundle's signed description of its payload.
type Header struct {
	Version    string   // firmware version, e.g. "v1.4.0"
	Boards     []string // boards the payload is built for, e.g. "rpi2"
	PayloadLen int64
	SHA256     [sha256.Size]byte
}

// ForBoard reports whether the bundle lists board.
func (h Header) ForBoard(board string) bool {
	for _, b := range h.Boards {
		if b == board {
			return true
		}
	}
	return false
}

// ValidVersion checks a firmware version string.
func ValidVersion(v string) error {
	if len(v) == 0 || len(v) > maxVersionLen {
		return fmt.Errorf("version must be 1 to %d characters", maxVersionLen)
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x21 || v[i] > 0x7e {
			return fmt.Errorf("version %q: printable ASCII without spaces only", v)
		}
	}
	return nil
}

// ValidBoard checks a board name: 1 to 32 of a-z, 0-9 and '-'.
func ValidBoard(b string) error {
	if len(b) == 0 || len(b) > maxBoardLen {
		return fmt.Errorf("board name must be 1 to %d characters", maxBoardLen)
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("board name %q: only a-z, 0-9 and '-'", b)
		}
	}
	return nil
}

// encode returns the header bytes the signature covers.
func (h Header) encode() ([]byte, error) {
	if err := ValidVersion(h.Version); err != nil {
		return nil, err
	}
	if len(h.Boards) == 0 || len(h.Boards) > maxBoards {
		return nil, fmt.Errorf("a bundle names 1 to %d boards", maxBoards)
	}
	if h.PayloadLen <= 0 || h.PayloadLen > MaxPayload {
		return nil, fmt.Errorf("payload of %d bytes: want 1 to %d", h.PayloadLen, MaxPayload)
	}
	var body bytes.Buffer
	body.WriteByte(byte(len(h.Version)))
	body.WriteString(h.Version)
	body.WriteByte(byte(len(h.Boards)))
	for _, b := range h.Boards {
		if err := ValidBoard(b); err != nil {
			return nil, err
		}
		body.WriteByte(byte(len(b)))
		body.WriteString(b)
	}
	body.Write(binary.BigEndian.AppendUint64(nil, uint64(h.PayloadLen)))
	body.Write(h.SHA256[:])
	out := make([]byte, 0, prefixLen+body.Len())
	out = append(out, Magic...)
	out = binary.BigEndian.AppendUint16(out, FormatVersion)
	out = binary.BigEndian.AppendUint16(out, uint16(body.Len()))
	return append(out, body.Bytes()...), nil
}

// Sign writes a bundle of payload for the given version and boards,
// signed with the release private key.
func Sign(w io.Writer, version string, boards []string, payload []byte, key ed25519.PrivateKey) (Header, error) {
	if len(key) != ed25519.PrivateKeySize {
		return Header{}, errors.New("update: sign: not an Ed25519 private key")
	}
	h := Header{Version: version, Boards: boards, PayloadLen: int64(len(payload)), SHA256: sha256.Sum256(payload)}
	hdr, err := h.encode()
	if err != nil {
		return Header{}, fmt.Errorf("update: sign: %w", err)
	}
	for _, part := range [][]byte{hdr, ed25519.Sign(key, hdr), payload} {
		if _, err := w.Write(part); err != nil {
			return Header{}, fmt.Errorf("update: write bundle: %w", err)
		}
	}
	return h, nil
}

// parseHeader decodes the signed header bytes (prefix and body); it does
// not check the signature.
func parseHeader(b []byte) (Header, error) {
	var h Header
	if len(b) < prefixLen || string(b[:4]) != Magic {
		return h, ErrNotBundle
	}
	if v := binary.BigEndian.Uint16(b[4:6]); v != FormatVersion {
		return h, fmt.Errorf("%w (format %d, this firmware reads %d)", ErrFormat, v, FormatVersion)
	}
	body := b[prefixLen:]
	if int(binary.BigEndian.Uint16(b[6:8])) != len(body) {
		return h, ErrHeader
	}
	field := func() (string, bool) {
		if len(body) < 1 || len(body) < 1+int(body[0]) {
			return "", false
		}
		s := string(body[1 : 1+int(body[0])])
		body = body[1+int(body[0]):]
		return s, true
	}
	var ok bool
	if h.Version, ok = field(); !ok || ValidVersion(h.Version) != nil {
		return Header{}, fmt.Errorf("%w: version", ErrHeader)
	}
	if len(body) < 1 || body[0] == 0 || body[0] > maxBoards {
		return Header{}, fmt.Errorf("%w: board count", ErrHeader)
	}
	n := int(body[0])
	body = body[1:]
	for i := 0; i < n; i++ {
		b, ok := field()
		if !ok || ValidBoard(b) != nil {
			return Header{}, fmt.Errorf("%w: board name", ErrHeader)
		}
		h.Boards = append(h.Boards, b)
	}
	if len(body) != 8+sha256.Size {
		return Header{}, fmt.Errorf("%w: length", ErrHeader)
	}
	l := binary.BigEndian.Uint64(body[:8])
	if l == 0 || l > MaxPayload {
		return Header{}, fmt.Errorf("%w: payload length %d", ErrHeader, l)
	}
	h.PayloadLen = int64(l)
	copy(h.SHA256[:], body[8:])
	return h, nil
}

// ReadHeader reads a bundle's header and signature from r and checks the
// signature with pub. On success r is positioned at the payload's first
// byte; nothing of the payload has been read.
func ReadHeader(r io.Reader, pub ed25519.PublicKey) (Header, error) {
	if len(pub) != ed25519.PublicKeySize {
		return Header{}, errors.New("update: no valid release public key configured")
	}
	prefix := make([]byte, prefixLen)
	if _, err := io.ReadFull(r, prefix); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return Header{}, ErrNotBundle
		}
		return Header{}, fmt.Errorf("update: read bundle: %w", err)
	}
	if string(prefix[:4]) != Magic {
		return Header{}, ErrNotBundle
	}
	n := int(binary.BigEndian.Uint16(prefix[6:8]))
	if n > maxBody {
		return Header{}, fmt.Errorf("%w: %d-byte header", ErrHeader, n)
	}
	buf := make([]byte, prefixLen+n+ed25519.SignatureSize)
	copy(buf, prefix)
	if _, err := io.ReadFull(r, buf[prefixLen:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return Header{}, ErrTruncated
		}
		return Header{}, fmt.Errorf("update: read bundle: %w", err)
	}
	signed, sig := buf[:prefixLen+n], buf[prefixLen+n:]
	// The signature is checked first: nothing an unsigned header says is
	// trusted, not even its format version.
	if !ed25519.Verify(pub, signed, sig) {
		if _, err := parseHeader(signed); errors.Is(err, ErrFormat) {
			return Header{}, err
		}
		return Header{}, ErrSignature
	}
	return parseHeader(signed)
}

// CopyPayload copies the payload that follows a header read by ReadHeader
// from r to w, hashing it on the way, and checks its length, its hash and
// that nothing follows it. w has received unverified bytes when it fails:
// write to a temporary file and discard it on error.
func CopyPayload(w io.Writer, r io.Reader, h Header) error {
	sum := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, sum), io.LimitReader(r, h.PayloadLen))
	if err != nil {
		return fmt.Errorf("update: copy payload: %w", err)
	}
	if n != h.PayloadLen {
		return fmt.Errorf("%w: %d of %d payload bytes", ErrTruncated, n, h.PayloadLen)
	}
	var one [1]byte
	if m, err := io.ReadFull(r, one[:]); m > 0 {
		return ErrTrailing
	} else if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("update: read bundle: %w", err)
	}
	var got [sha256.Size]byte
	sum.Sum(got[:0])
	if got != h.SHA256 {
		return ErrPayload
	}
	return nil
}

// Verify checks a whole bundle (signature, hash, length, and board when
// board is not empty) without keeping the payload.
func Verify(r io.Reader, pub ed25519.PublicKey, board string) (Header, error) {
	h, err := ReadHeader(r, pub)
	if err != nil {
		return Header{}, err
	}
	if board != "" && !h.ForBoard(board) {
		return h, fmt.Errorf("%w: it is for %v, this is %s", ErrBoard, h.Boards, board)
	}
	if err := CopyPayload(io.Discard, r, h); err != nil {
		return h, err
	}
	return h, nil
}
