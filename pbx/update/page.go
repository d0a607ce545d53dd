package update

import (
	"context"
	"fmt"
	"io"
)

// WebUpdater adapts an Installer to the web page's Updater interface
// (pbx/web.Updater): Install returns the installed version, Slots describes
// the two slots in a line each.
type WebUpdater struct {
	In *Installer
	// Running is the running firmware's version (buildinfo.Version), shown
	// when the boot partition records none for the booted slot.
	Running string
}

// Install installs a bundle (see Installer.Install).
func (u WebUpdater) Install(ctx context.Context, r io.Reader) (string, error) {
	h, err := u.In.Install(ctx, r)
	return h.Version, err
}

// Slots describes the running and the inactive slot, e.g. "a: hushbox
// v1.2 (running)" and "b: hushbox v1.3, test boot at the next reboot".
func (u WebUpdater) Slots() (active, inactive string, err error) {
	st, err := u.In.Status()
	if err != nil {
		return "", "", err
	}
	ver := st.BootedVersion
	if ver == "" {
		ver = u.Running
	}
	active = fmt.Sprintf("slot %s: hushbox %s (running", st.Booted, ver)
	if st.Good != st.Booted {
		active += ", on a test boot: it becomes the known-good firmware once healthy"
	}
	active += ")"
	iv := st.InactiveVersion
	if iv == "" {
		iv = "version unknown"
	} else {
		iv = "hushbox " + iv
	}
	inactive = fmt.Sprintf("slot %s: %s", st.Inactive, iv)
	switch {
	case st.Try == st.Inactive && st.Tries > 0:
		inactive += ", test boot at the next reboot"
	case st.Good == st.Inactive:
		inactive += " (the known-good firmware to fall back to)"
	}
	return active, inactive, nil
}
