package backup

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"

	"golang.org/x/crypto/argon2"
)

// Magic opens every backup file.
const Magic = "HUSHBOX-BACKUP"

// Version is the format version this package writes and reads.
const Version = 1

// kdfArgon2id names the only key derivation version 1 knows.
const kdfArgon2id = 1

const (
	saltSize = 16
	macSize  = sha256.Size
	// headerBodySize: magic, version, kdf id, time, memory, threads, salt.
	headerBodySize = len(Magic) + 1 + 1 + 4 + 4 + 1 + saltSize
	// HeaderSize is the length of the clear header before the first chunk.
	HeaderSize = headerBodySize + macSize
)

// kdfParams are the argon2id cost parameters stored in a backup's header.
type kdfParams struct {
	Time    uint32 // passes over memory
	Memory  uint32 // KiB
	Threads uint8
}

// defaultKDF is what Write uses: the second recommendation of RFC 9106
// (t=3, 64 MiB, 4 lanes), about a second on the appliance's ARMv7.
var defaultKDF = kdfParams{Time: 3, Memory: 64 << 10, Threads: 4}

// kdfLimits bounds the parameters a reader accepts: a backup comes from
// outside and must not make restore allocate or spin without bound (the
// appliance has 1 GiB of RAM). A variable so fuzzing can lower it.
var kdfLimits = kdfParams{Time: 16, Memory: 256 << 10, Threads: 16}

// check refuses parameters outside the reader's limits.
func (p kdfParams) check(lim kdfParams) error {
	if p.Time < 1 || p.Time > lim.Time {
		return fmt.Errorf("argon2id time %d not in 1..%d", p.Time, lim.Time)
	}
	if p.Memory < 8 || p.Memory > lim.Memory {
		return fmt.Errorf("argon2id memory %d KiB not in 8..%d", p.Memory, lim.Memory)
	}
	if p.Threads < 1 || p.Threads > lim.Threads {
		return fmt.Errorf("argon2id threads %d not in 1..%d", p.Threads, lim.Threads)
	}
	return nil
}

// header is the clear start of a backup.
type header struct {
	kdf  kdfParams
	salt [saltSize]byte
}

// body encodes everything the MAC covers.
func (h *header) body() []byte {
	b := make([]byte, 0, headerBodySize)
	b = append(b, Magic...)
	b = append(b, Version, kdfArgon2id)
	b = binary.BigEndian.AppendUint32(b, h.kdf.Time)
	b = binary.BigEndian.AppendUint32(b, h.kdf.Memory)
	b = append(b, h.kdf.Threads)
	b = append(b, h.salt[:]...)
	return b
}

// keys are what a passphrase and header derive.
type keys struct {
	stream [32]byte // AES-256-GCM key for the chunks
	mac    [32]byte // HMAC-SHA256 key for the header
}

// derive runs argon2id on the passphrase and splits the result with HKDF.
func (h *header) derive(passphrase string) (*keys, error) {
	master := argon2.IDKey([]byte(passphrase), h.salt[:], h.kdf.Time, h.kdf.Memory, h.kdf.Threads, 32)
	defer clear(master)
	var k keys
	for _, part := range []struct {
		info string
		dst  []byte
	}{{"hushbox backup v1 stream", k.stream[:]}, {"hushbox backup v1 header", k.mac[:]}} {
		b, err := hkdf.Key(sha256.New, master, nil, part.info, 32)
		if err != nil {
			return nil, fmt.Errorf("derive key: %w", err)
		}
		copy(part.dst, b)
		clear(b)
	}
	return &k, nil
}

// headerMAC authenticates the header body: it fails for a wrong
// passphrase before any chunk is read, and for changed parameters.
func headerMAC(k *keys, body []byte) []byte {
	m := hmac.New(sha256.New, k.mac[:])
	m.Write(body)
	return m.Sum(nil)
}

// newHeader makes a header with a fresh random salt.
func newHeader(p kdfParams) (*header, error) {
	h := &header{kdf: p}
	if _, err := rand.Read(h.salt[:]); err != nil {
		return nil, fmt.Errorf("salt: %w", err)
	}
	return h, nil
}

// writeHeader writes body and MAC.
func writeHeader(w io.Writer, h *header, k *keys) ([]byte, error) {
	body := h.body()
	full := append(body, headerMAC(k, body)...)
	if _, err := w.Write(full); err != nil {
		return nil, fmt.Errorf("write header: %w", err)
	}
	return full, nil
}

// readHeader reads and parses the clear header, checking magic, version
// and parameter limits. It returns the header and its raw bytes.
func readHeader(r io.Reader) (*header, []byte, error) {
	raw := make([]byte, HeaderSize)
	n, err := io.ReadFull(r, raw)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, nil, fmt.Errorf("backup: read header: %w", err)
	}
	if err != nil {
		if n >= len(Magic) && string(raw[:len(Magic)]) == Magic {
			return nil, nil, fmt.Errorf("%w: header cut short after %d bytes", ErrCorrupt, n)
		}
		if n < len(Magic) && string(raw[:n]) == Magic[:n] && n > 0 {
			return nil, nil, fmt.Errorf("%w: file cut short after %d bytes", ErrCorrupt, n)
		}
		if n == 0 {
			return nil, nil, fmt.Errorf("%w: empty file", ErrNotBackup)
		}
		return nil, nil, ErrNotBackup
	}
	if string(raw[:len(Magic)]) != Magic {
		return nil, nil, ErrNotBackup
	}
	p := raw[len(Magic):]
	if p[0] != Version {
		return nil, nil, fmt.Errorf("%w: format version %d, this program reads %d", ErrVersion, p[0], Version)
	}
	if p[1] != kdfArgon2id {
		return nil, nil, fmt.Errorf("%w: unknown key derivation %d", ErrCorrupt, p[1])
	}
	h := &header{kdf: kdfParams{
		Time:    binary.BigEndian.Uint32(p[2:6]),
		Memory:  binary.BigEndian.Uint32(p[6:10]),
		Threads: p[10],
	}}
	copy(h.salt[:], p[11:11+saltSize])
	if err := h.kdf.check(kdfLimits); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return h, raw, nil
}
