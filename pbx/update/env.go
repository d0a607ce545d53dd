package update

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// EnvFile is the boot partition's A/B state, in the text form of U-Boot's
// `env import -t` / `env export -t`: one name=value a line. U-Boot's
// export ends it with a NUL byte; an empty value (try=) means unset.
const EnvFile = "hushbox.env"

// Keys of EnvFile. The boot script reads and writes slot, try and tries;
// the hb_ keys are hushbox's own (U-Boot carries them along, see
// boot.cmd's export list).
const (
	KeySlot    = "slot"     // the known-good slot, a or b
	KeyTry     = "try"      // a slot to test-boot, or empty
	KeyTries   = "tries"    // test boots left (decimal)
	KeyBoard   = "hb_board" // the board the image was built for
	keyVersion = "hb_ver_"  // + slot: firmware version in that slot
)

// Slots are named a and b; SlotFile is the initramfs of each.
var slotNames = []string{"a", "b"}

// SlotFile is the initramfs file name of slot s in the boot partition.
func SlotFile(s string) string { return "initrd-" + s + ".img" }

// ValidSlot reports whether s names a slot.
func ValidSlot(s string) bool { return s == "a" || s == "b" }

// Other is the slot that is not s.
func Other(s string) string {
	if s == "a" {
		return "b"
	}
	return "a"
}

// Env is a parsed EnvFile; it keeps unknown names and their order.
type Env struct {
	names []string
	vals  map[string]string
}

// ParseEnv parses EnvFile text. Blank lines, '#' comments, CR and NUL
// bytes are ignored; a line without '=' or with a bad name is an error.
func ParseEnv(b []byte) (*Env, error) {
	e := &Env{vals: map[string]string{}}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	for n, line := range strings.Split(string(b), "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || !validName(k) {
			return nil, fmt.Errorf("update: %s line %d: want name=value", EnvFile, n+1)
		}
		e.Set(k, v)
	}
	return e, nil
}

func validName(k string) bool {
	if k == "" || len(k) > 64 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// Get returns the value of name ("" when unset).
func (e *Env) Get(name string) string { return e.vals[name] }

// Set sets name to val, keeping its place if it was already there.
func (e *Env) Set(name, val string) {
	if _, ok := e.vals[name]; !ok {
		e.names = append(e.names, name)
	}
	e.vals[name] = val
}

// Bytes is the EnvFile text.
func (e *Env) Bytes() []byte {
	var b bytes.Buffer
	for _, k := range e.names {
		b.WriteString(k + "=" + e.vals[k] + "\n")
	}
	return b.Bytes()
}

// State is the A/B state an Env holds.
type State struct {
	Slot  string // known-good slot
	Try   string // slot to test-boot, "" for none
	Tries int    // test boots left
}

// State reads and checks the A/B keys.
func (e *Env) State() (State, error) {
	s := State{Slot: e.Get(KeySlot), Try: e.Get(KeyTry)}
	if s.Slot == "" {
		s.Slot = "a" // the boot script's default too
	}
	if !ValidSlot(s.Slot) {
		return s, fmt.Errorf("update: %s: slot=%q is not a or b", EnvFile, s.Slot)
	}
	if s.Try != "" && !ValidSlot(s.Try) {
		return s, fmt.Errorf("update: %s: try=%q is not a, b or empty", EnvFile, s.Try)
	}
	if t := e.Get(KeyTries); t != "" {
		n, err := strconv.ParseUint(t, 10, 8)
		if err != nil {
			// U-Boot's setexpr writes hex; accept it too.
			n, err = strconv.ParseUint(strings.TrimPrefix(t, "0x"), 16, 8)
		}
		if err != nil {
			return s, fmt.Errorf("update: %s: tries=%q is not a number", EnvFile, t)
		}
		s.Tries = int(n)
	}
	return s, nil
}

// SetState writes the A/B keys.
func (e *Env) SetState(s State) {
	e.Set(KeySlot, s.Slot)
	e.Set(KeyTry, s.Try)
	e.Set(KeyTries, strconv.Itoa(s.Tries))
}

// SlotVersion is the firmware version recorded for slot s ("" if unknown).
func (e *Env) SlotVersion(s string) string { return e.Get(keyVersion + s) }

// SetSlotVersion records the firmware version installed in slot s.
func (e *Env) SetSlotVersion(s, v string) { e.Set(keyVersion+s, v) }

// ReadEnv reads dir's EnvFile. A missing file is the image's default
// state (slot a, nothing to try).
func ReadEnv(dir string) (*Env, error) {
	b, err := os.ReadFile(filepath.Join(dir, EnvFile))
	if errors.Is(err, os.ErrNotExist) {
		return &Env{vals: map[string]string{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("update: read %s: %w", EnvFile, err)
	}
	return ParseEnv(b)
}

// WriteEnv replaces dir's EnvFile atomically: a temporary file, fsync,
// rename over, fsync of the directory.
func WriteEnv(dir string, e *Env) error {
	return writeFileAtomic(dir, EnvFile, e.Bytes())
}

func writeFileAtomic(dir, name string, data []byte) error {
	tmp, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return fmt.Errorf("update: write %s: %w", name, err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName) // no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("update: write %s: %w", name, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("update: sync %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("update: write %s: %w", name, err)
	}
	if err := os.Rename(tmpName, filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("update: replace %s: %w", name, err)
	}
	return syncRenamed(dir, name)
}

// syncRenamed makes a rename over an existing file durable. On vfat a
// file's directory entry is written with the file's inode, not the
// directory's: fsync of the directory alone can leave the old entry, now
// pointing at the old file's freed clusters, on the card after a power
// cut (the qemu image test saw exactly that). So fsync the file under its
// new name, then the directory.
func syncRenamed(dir, name string) error {
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return fmt.Errorf("update: sync %s: %w", name, err)
	}
	err = f.Sync()
	f.Close()
	if err != nil {
		return fmt.Errorf("update: sync %s: %w", name, err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("update: sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("update: sync %s: %w", dir, err)
	}
	return nil
}
