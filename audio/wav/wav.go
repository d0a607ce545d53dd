// Package wav reads and writes RIFF/WAVE files of 16-bit linear PCM, the
// format of hushbox's audio tools (8 kHz mono telephone speech). Reading
// accepts any sample rate and mono or stereo (stereo is averaged to mono)
// and reports the rate; callers that need 8 kHz refuse other rates rather
// than resample badly (sox does it well: sox in.wav -r 8000 -c 1 -b 16 out.wav).
// Other encodings (8-bit, float, compressed) are refused with ErrFormat.
package wav

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrFormat is returned (wrapped) for input that is not 16-bit PCM WAVE.
var ErrFormat = errors.New("not a 16-bit PCM WAVE file")

// maxData bounds the data chunk read into memory (about 70 minutes of 8 kHz
// mono), so a hostile header cannot make Read allocate without limit.
const maxData = 64 << 20

// Audio is a mono 16-bit PCM signal.
type Audio struct {
	Rate    int     // samples per second
	Samples []int16 // mono samples
}

// Duration returns the length in seconds.
func (a Audio) Duration() float64 {
	if a.Rate <= 0 {
		return 0
	}
	return float64(len(a.Samples)) / float64(a.Rate)
}

// Read decodes a WAVE stream: the fmt chunk must be PCM (format 1, or
// WAVE_FORMAT_EXTENSIBLE with the PCM subformat), 16 bits, 1 or 2 channels.
// Unknown chunks are skipped.
func Read(r io.Reader) (Audio, error) {
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return Audio{}, fmt.Errorf("wav: header: %w", err)
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return Audio{}, fmt.Errorf("wav: no RIFF/WAVE header: %w", ErrFormat)
	}
	var (
		channels, bits int
		rate           int
		haveFmt        bool
	)
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			return Audio{}, fmt.Errorf("wav: no data chunk: %w", ErrFormat)
		}
		id, size := string(ch[0:4]), int64(binary.LittleEndian.Uint32(ch[4:8]))
		switch id {
		case "fmt ":
			if size < 16 || size > 1024 {
				return Audio{}, fmt.Errorf("wav: fmt chunk of %d bytes: %w", size, ErrFormat)
			}
			b := make([]byte, size+size&1)
			if _, err := io.ReadFull(r, b); err != nil {
				return Audio{}, fmt.Errorf("wav: fmt chunk: %w", err)
			}
			format := binary.LittleEndian.Uint16(b[0:2])
			channels = int(binary.LittleEndian.Uint16(b[2:4]))
			rate = int(binary.LittleEndian.Uint32(b[4:8]))
			bits = int(binary.LittleEndian.Uint16(b[14:16]))
			if format == 0xfffe && size >= 40 { // WAVE_FORMAT_EXTENSIBLE: subformat GUID starts with the format code
				format = binary.LittleEndian.Uint16(b[24:26])
			}
			if format != 1 || bits != 16 || channels < 1 || channels > 2 || rate <= 0 {
				return Audio{}, fmt.Errorf("wav: format %d, %d bits, %d channels, %d Hz: %w", format, bits, channels, rate, ErrFormat)
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return Audio{}, fmt.Errorf("wav: data before fmt: %w", ErrFormat)
			}
			if size > maxData || size == 0xffffffff {
				size = maxData // streaming writers put 0xffffffff; read what is there
			}
			b, err := io.ReadAll(io.LimitReader(r, size))
			if err != nil {
				return Audio{}, fmt.Errorf("wav: data: %w", err)
			}
			frame := 2 * channels
			n := len(b) / frame
			a := Audio{Rate: rate, Samples: make([]int16, n)}
			for i := range n {
				if channels == 1 {
					a.Samples[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
					continue
				}
				l := int32(int16(binary.LittleEndian.Uint16(b[frame*i:])))
				rr := int32(int16(binary.LittleEndian.Uint16(b[frame*i+2:])))
				a.Samples[i] = int16((l + rr) >> 1)
			}
			return a, nil
		default:
			if _, err := io.CopyN(io.Discard, r, size+size&1); err != nil {
				return Audio{}, fmt.Errorf("wav: skipping chunk %q: %w", id, err)
			}
		}
	}
}

// Write encodes a as a canonical 44-byte-header mono 16-bit PCM WAVE file.
func Write(w io.Writer, a Audio) error {
	if a.Rate <= 0 {
		return fmt.Errorf("wav: sample rate %d", a.Rate)
	}
	data := 2 * len(a.Samples)
	if data > maxData {
		return fmt.Errorf("wav: %d samples is too long", len(a.Samples))
	}
	var b bytes.Buffer
	b.Grow(44 + data)
	b.WriteString("RIFF")
	le := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	le(uint32(36 + data))
	b.WriteString("WAVEfmt ")
	le(uint32(16))
	le(uint16(1)) // PCM
	le(uint16(1)) // mono
	le(uint32(a.Rate))
	le(uint32(2 * a.Rate)) // bytes per second
	le(uint16(2))          // block align
	le(uint16(16))         // bits per sample
	b.WriteString("data")
	le(uint32(data))
	le(a.Samples)
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("wav: write: %w", err)
	}
	return nil
}

// ReadFile reads a WAVE file.
func ReadFile(path string) (Audio, error) {
	f, err := os.Open(path)
	if err != nil {
		return Audio{}, err
	}
	defer f.Close()
	a, err := Read(f)
	if err != nil {
		return Audio{}, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// WriteFile writes a as a WAVE file at path.
func WriteFile(path string, a Audio) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := Write(f, a); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}
