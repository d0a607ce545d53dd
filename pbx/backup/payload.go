package backup

import (
	"encoding/binary"
	"fmt"
	"io"
	"maps"
	"slices"
)

// Limits on the extra files a backup carries (small key files, not data).
const (
	MaxExtraFiles    = 16
	MaxExtraFileSize = 1 << 20
	MaxExtraNameLen  = 64
)

// ValidFileName checks an extra file's name: 1 to MaxExtraNameLen of
// A-Z a-z 0-9 . _ -, not starting with a dot. The name is a plain file
// name, never a path, so a restored name cannot point outside a folder.
func ValidFileName(name string) error {
	if name == "" || len(name) > MaxExtraNameLen || name[0] == '.' {
		return fmt.Errorf("file name %q: 1 to %d characters, not starting with '.'", name, MaxExtraNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("file name %q: only A-Z a-z 0-9 . _ -", name)
		}
	}
	return nil
}

// checkExtra validates a set of extra files before writing.
func checkExtra(extra map[string][]byte) error {
	if len(extra) > MaxExtraFiles {
		return fmt.Errorf("%d extra files, limit %d", len(extra), MaxExtraFiles)
	}
	for name, data := range extra {
		if err := ValidFileName(name); err != nil {
			return err
		}
		if len(data) > MaxExtraFileSize {
			return fmt.Errorf("file %s: %d bytes, limit %d", name, len(data), MaxExtraFileSize)
		}
	}
	return nil
}

// writeExtra writes the payload's prefix: a 16-bit file count, then per
// file (sorted by name) an 8-bit name length, the name, a 32-bit data
// length and the data. The store snapshot follows to the end of the
// payload.
func writeExtra(w io.Writer, extra map[string][]byte) error {
	b := binary.BigEndian.AppendUint16(nil, uint16(len(extra)))
	for _, name := range slices.Sorted(maps.Keys(extra)) {
		b = append(b, byte(len(name)))
		b = append(b, name...)
		b = binary.BigEndian.AppendUint32(b, uint32(len(extra[name])))
		b = append(b, extra[name]...)
	}
	_, err := w.Write(b)
	clear(b)
	return err
}

// readExtra reads the payload's prefix written by writeExtra, enforcing
// the same limits, and leaves r at the start of the snapshot.
func readExtra(r io.Reader) (map[string][]byte, error) {
	var n [4]byte
	if _, err := io.ReadFull(r, n[:2]); err != nil {
		return nil, fmt.Errorf("file count: %w", eofIsCorrupt(err))
	}
	count := int(binary.BigEndian.Uint16(n[:2]))
	if count > MaxExtraFiles {
		return nil, fmt.Errorf("%w: %d extra files, limit %d", ErrCorrupt, count, MaxExtraFiles)
	}
	out := make(map[string][]byte, count)
	for i := 0; i < count; i++ {
		if _, err := io.ReadFull(r, n[:1]); err != nil {
			return nil, fmt.Errorf("file %d name: %w", i, eofIsCorrupt(err))
		}
		name := make([]byte, n[0])
		if _, err := io.ReadFull(r, name); err != nil {
			return nil, fmt.Errorf("file %d name: %w", i, eofIsCorrupt(err))
		}
		if err := ValidFileName(string(name)); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		if _, dup := out[string(name)]; dup {
			return nil, fmt.Errorf("%w: file %s twice", ErrCorrupt, name)
		}
		if _, err := io.ReadFull(r, n[:4]); err != nil {
			return nil, fmt.Errorf("file %s size: %w", name, eofIsCorrupt(err))
		}
		size := binary.BigEndian.Uint32(n[:4])
		if size > MaxExtraFileSize {
			return nil, fmt.Errorf("%w: file %s is %d bytes, limit %d", ErrCorrupt, name, size, MaxExtraFileSize)
		}
		data := make([]byte, size)
		if _, err := io.ReadFull(r, data); err != nil {
			return nil, fmt.Errorf("file %s: %w", name, eofIsCorrupt(err))
		}
		out[string(name)] = data
	}
	return out, nil
}

// eofIsCorrupt turns an early end of the payload into ErrCorrupt (errors
// from the decrypting reader already wrap it).
func eofIsCorrupt(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("%w: payload ends early", ErrCorrupt)
	}
	return err
}
