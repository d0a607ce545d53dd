package daemon

import (
	"fmt"
	"strings"
)

// Role is what a hushbox process is for. The same binary is the board (the
// appliance on the desk, the developer's local run) and the cloud peer (a
// container the board hands calls to under DoS pressure).
type Role string

const (
	// RoleBoard is the default: the desk appliance, with the appliance
	// features (reboot from the web page, board profile) where allowed.
	RoleBoard Role = "board"
	// RoleCloud is the cloud peer: SIP, media relay and web page only; no
	// audio device, no GPIO, no appliance features (it never reboots or
	// writes the appliance's network and time files).
	RoleCloud Role = "cloud"
)

// ParseRole reads a --role value; the empty string is the board.
func ParseRole(s string) (Role, error) {
	switch Role(strings.ToLower(strings.TrimSpace(s))) {
	case "", RoleBoard:
		return RoleBoard, nil
	case RoleCloud:
		return RoleCloud, nil
	}
	return "", fmt.Errorf("role %q: want board or cloud", s)
}

// String is the role's name as flags, logs and the web page show it.
func (r Role) String() string {
	if r == "" {
		return string(RoleBoard)
	}
	return string(r)
}

// Cloud reports whether this is the cloud peer.
func (r Role) Cloud() bool { return r == RoleCloud }

// Appliance reports whether the appliance features may be used in this
// role at all (the --appliance flag must still say so): only the board is
// an appliance; a cloud container never reboots its host.
func (r Role) Appliance() bool { return !r.Cloud() }
