package update

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// DefaultTries is how many times the boot script test-boots a new slot
// before it falls back: one, so a new firmware that does not come up
// healthy costs one reboot.
const DefaultTries = 1

// ErrOnTrial refuses an install while the running firmware is itself a
// test boot: the inactive slot is then the known-good one, and writing it
// would leave nothing to fall back to.
var ErrOnTrial = errors.New("the running firmware is on a test boot and not yet marked good; wait until it is (or reboot to the old one) before installing another")

// ErrSpace refuses an install that would not fit the boot partition.
var ErrSpace = errors.New("not enough free space on the boot partition")

// Installer installs bundles into the boot partition mounted at Dir and
// marks test boots good. Its methods are safe for concurrent use, and they
// lock the boot directory (flock) against another process doing the same.
type Installer struct {
	// Dir is the boot partition (on the appliance /boot).
	Dir string
	// Key is the release public key bundles must be signed with.
	Key ed25519.PublicKey
	// Board is this board's name; a bundle must list it.
	Board string
	// Booted is the slot the running system was booted from (hushbox.slot=
	// on the kernel command line, see BootedSlot).
	Booted string
	// Tries is how many test boots a new slot gets; 0 means DefaultTries.
	Tries int
	// Log receives installs and refusals; nil means slog.Default.
	Log *slog.Logger

	mu sync.Mutex
}

func (in *Installer) log() *slog.Logger {
	if in.Log == nil {
		return slog.Default()
	}
	return in.Log
}

// lock takes the in-process mutex and an exclusive flock on Dir.
func (in *Installer) lock() (func(), error) {
	in.mu.Lock()
	d, err := os.Open(in.Dir)
	if err != nil {
		in.mu.Unlock()
		return nil, fmt.Errorf("update: boot dir: %w", err)
	}
	if err := syscall.Flock(int(d.Fd()), syscall.LOCK_EX); err != nil {
		d.Close()
		in.mu.Unlock()
		return nil, fmt.Errorf("update: lock boot dir: %w", err)
	}
	return func() {
		syscall.Flock(int(d.Fd()), syscall.LOCK_UN)
		d.Close()
		in.mu.Unlock()
	}, nil
}

// Status is what the update page shows.
type Status struct {
	Booted          string // slot running now
	Good            string // known-good slot (boot script's slot=)
	Try             string // slot armed for a test boot, "" for none
	Tries           int
	Inactive        string // where the next install goes
	BootedVersion   string // version recorded for the booted slot ("" unknown)
	InactiveVersion string
}

// Status reads the boot partition's A/B state.
func (in *Installer) Status() (Status, error) {
	env, err := ReadEnv(in.Dir)
	if err != nil {
		return Status{}, err
	}
	st, err := env.State()
	if err != nil {
		return Status{}, err
	}
	booted := in.Booted
	if !ValidSlot(booted) {
		booted = st.Slot
	}
	return Status{Booted: booted, Good: st.Slot, Try: st.Try, Tries: st.Tries, Inactive: Other(booted),
		BootedVersion: env.SlotVersion(booted), InactiveVersion: env.SlotVersion(Other(booted))}, nil
}

// Install checks bundle r and installs its payload into the inactive
// slot, then arms one test boot of it (try=<inactive>, tries=Tries). The
// signature and the board are checked before a payload byte is read; the
// payload streams into a temporary file beside the slot file and replaces
// it only once its length and hash are right, so on every failure the old
// slot file is untouched and the A/B state unchanged.
func (in *Installer) Install(ctx context.Context, r io.Reader) (Header, error) {
	unlock, err := in.lock()
	if err != nil {
		return Header{}, err
	}
	defer unlock()
	env, err := ReadEnv(in.Dir)
	if err != nil {
		return Header{}, err
	}
	st, err := env.State()
	if err != nil {
		return Header{}, err
	}
	booted := in.Booted
	if !ValidSlot(booted) {
		booted = st.Slot
	}
	if booted != st.Slot {
		return Header{}, ErrOnTrial
	}
	target := Other(booted)

	h, err := ReadHeader(r, in.Key)
	if err != nil {
		return Header{}, err
	}
	if in.Board == "" || !h.ForBoard(in.Board) {
		return h, fmt.Errorf("%w: it is for %v, this is %q", ErrBoard, h.Boards, in.Board)
	}
	if err := in.checkSpace(h.PayloadLen); err != nil {
		return h, err
	}
	dst := filepath.Join(in.Dir, SlotFile(target))
	tmp, err := os.CreateTemp(in.Dir, "."+SlotFile(target)+".tmp-*")
	if err != nil {
		return h, fmt.Errorf("update: temporary slot file: %w", err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName) // no-op once renamed
	if err := CopyPayload(tmp, ctxReader{ctx, r}, h); err != nil {
		tmp.Close()
		return h, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return h, fmt.Errorf("update: sync slot file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return h, fmt.Errorf("update: write slot file: %w", err)
	}
	if err := os.Rename(tmpName, dst); err != nil {
		return h, fmt.Errorf("update: replace %s: %w", SlotFile(target), err)
	}
	if err := syncRenamed(in.Dir, SlotFile(target)); err != nil {
		return h, err
	}
	tries := in.Tries
	if tries <= 0 {
		tries = DefaultTries
	}
	st.Try, st.Tries = target, tries
	env.SetState(st)
	env.SetSlotVersion(target, h.Version)
	if err := WriteEnv(in.Dir, env); err != nil {
		return h, err
	}
	in.log().Info("update: installed; test boot armed", "version", h.Version, "slot", target, "tries", tries, "bytes", h.PayloadLen)
	return h, nil
}

// checkSpace refuses a payload that would not fit beside the files that
// stay (both slot files stay until the rename).
func (in *Installer) checkSpace(n int64) error {
	var fs syscall.Statfs_t
	if err := syscall.Statfs(in.Dir, &fs); err != nil {
		return nil // unknown: let the write find out
	}
	free := int64(fs.Bavail) * int64(fs.Bsize)
	if free < n+64<<10 {
		return fmt.Errorf("%w: %d KiB free, the bundle needs %d KiB", ErrSpace, free>>10, n>>10)
	}
	return nil
}

// MarkGood makes the booted slot the known-good one when it is the slot
// under test: slot=<booted>, try= (empty), tries=0. It reports whether it
// changed anything; a boot of the known-good slot changes nothing.
func (in *Installer) MarkGood() (bool, error) {
	unlock, err := in.lock()
	if err != nil {
		return false, err
	}
	defer unlock()
	return markGood(in.Dir, in.Booted, in.log())
}

func markGood(dir, booted string, log *slog.Logger) (bool, error) {
	if !ValidSlot(booted) {
		return false, fmt.Errorf("update: mark good: booted slot %q unknown (no hushbox.slot= on the kernel command line)", booted)
	}
	env, err := ReadEnv(dir)
	if err != nil {
		return false, err
	}
	st, err := env.State()
	if err != nil {
		return false, err
	}
	if st.Slot == booted {
		return false, nil
	}
	if st.Try != booted {
		// Booted a slot that is neither good nor under test (the test boots
		// were used up and then someone booted it by hand): leave it.
		log.Warn("update: booted slot is neither the good one nor under test; not marking it good", "booted", booted, "slot", st.Slot, "try", st.Try)
		return false, nil
	}
	env.SetState(State{Slot: booted})
	if err := WriteEnv(dir, env); err != nil {
		return false, err
	}
	log.Info("update: test boot healthy; slot marked good", "slot", booted, "version", env.SlotVersion(booted))
	return true, nil
}

// ctxReader stops a copy when ctx ends (an upload abandoned midway).
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
