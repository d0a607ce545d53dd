package update

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// Where the running system tells which slot and board it is.
const (
	CmdlinePath      = "/proc/cmdline"
	CompatiblePath   = "/proc/device-tree/compatible"
	BoardFile        = "/etc/hushbox/board" // in the initramfs: the image's board
	cmdlineSlotParam = "hushbox.slot="
)

// BootedSlot reads the slot the boot script booted (hushbox.slot=a|b) from
// a kernel command line file; "" when the parameter is absent (not the
// appliance).
func BootedSlot(cmdlinePath string) (string, error) {
	b, err := os.ReadFile(cmdlinePath)
	if err != nil {
		return "", fmt.Errorf("update: kernel command line: %w", err)
	}
	return slotFromCmdline(string(b))
}

func slotFromCmdline(c string) (string, error) {
	slot := ""
	for _, f := range strings.Fields(c) {
		if v, ok := strings.CutPrefix(f, cmdlineSlotParam); ok {
			slot = v // the last one wins, as in the kernel
		}
	}
	if slot != "" && !ValidSlot(slot) {
		return "", fmt.Errorf("update: kernel command line: %s%q is not a or b", cmdlineSlotParam, slot)
	}
	return slot, nil
}

// compatibleBoards maps device-tree compatible strings to board names.
var compatibleBoards = map[string]string{
	"raspberrypi,2-model-b":     "rpi2",
	"cubietech,cubieboard2":     "cubieboard2",
	"cubietech,cubietruck":      "cubietruck",
	"cubietech,a20-cubieboard2": "cubieboard2",
}

// DetectBoard names the board the running image was built for: hb_board
// in the boot partition's EnvFile, else the first word of boardFile (the
// initramfs's BoardFile), else the device tree's compatible list. The image
// comes first so that a Pi 2 image booted under qemu takes Pi 2 bundles.
func DetectBoard(bootDir, boardFile, compatiblePath string) (string, error) {
	if env, err := ReadEnv(bootDir); err == nil {
		if b := env.Get(KeyBoard); b != "" {
			return b, ValidBoard(b)
		}
	}
	if raw, err := os.ReadFile(boardFile); err == nil {
		if f := strings.Fields(string(raw)); len(f) > 0 {
			return f[0], ValidBoard(f[0])
		}
	}
	raw, err := os.ReadFile(compatiblePath)
	if err != nil {
		return "", fmt.Errorf("update: board unknown (no %s in %s and no device tree): %w", KeyBoard, EnvFile, err)
	}
	for _, c := range bytes.Split(raw, []byte{0}) {
		if b, ok := compatibleBoards[string(c)]; ok {
			return b, nil
		}
	}
	return "", errors.New("update: board unknown: the device tree names none of rpi2, cubieboard2, cubietruck")
}

// AwaitGood waits until the booted slot is the known-good one (at once
// for a normal boot; after MarkGood for a test boot), polling dir's
// EnvFile every poll. It fails when ctx ends first: /init then reboots, and
// the boot script falls back to the good slot.
func AwaitGood(ctx context.Context, dir, booted string, poll time.Duration) error {
	if !ValidSlot(booted) {
		return fmt.Errorf("update: booted slot %q unknown", booted)
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		env, err := ReadEnv(dir)
		if err == nil {
			var st State
			if st, err = env.State(); err == nil && st.Slot == booted {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return fmt.Errorf("update: slot %s not marked good: %w (last error: %v)", booted, ctx.Err(), err)
			}
			return fmt.Errorf("update: slot %s not marked good: %w", booted, ctx.Err())
		case <-t.C:
		}
	}
}
