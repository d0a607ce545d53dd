// Package control is how `hushbox ext`, `hushbox cdr` and friends manage a
// hushbox: over a unix socket in the data folder when the daemon runs (the
// store is then locked by it), or by opening the store directly when it
// does not. Both paths go through the same Admin interface, so the CLI
// behaves the same either way.
package control

import (
	"context"
	"io"
	"time"

	"hushbox/pbx/call"
	"hushbox/pbx/store"
)

// ExtensionInfo is an extension as the CLI shows it (never a secret).
type ExtensionInfo struct {
	Number        string    `json:"number"`
	Name          string    `json:"name"`
	Realm         string    `json:"realm"`
	RequireSRTP   bool      `json:"require_srtp,omitempty"`
	Registrations int       `json:"registrations"`
	Created       time.Time `json:"created"`
}

// Registration is one live binding as the CLI shows it.
type Registration struct {
	Extension string    `json:"extension"`
	Contact   string    `json:"contact"`
	Source    string    `json:"source"`
	Transport string    `json:"transport"`
	UserAgent string    `json:"user_agent"`
	Expires   time.Time `json:"expires"`
}

// TrunkInfo is a trunk as the CLI shows it: never its password.
type TrunkInfo struct {
	store.Trunk
	// Status of the registration at a SIP provider (daemon only).
	Status string `json:"status,omitempty"`
}

// Admin is the management API.
type Admin interface {
	// AddExtension creates an extension; an empty password is generated.
	// It returns the password set.
	AddExtension(ctx context.Context, number, name, password string) (string, error)
	Extensions(ctx context.Context) ([]ExtensionInfo, error)
	RemoveExtension(ctx context.Context, number string) error
	// SetRequireSRTP sets whether an extension's calls must use SRTP.
	SetRequireSRTP(ctx context.Context, number string, require bool) error
	// SetName changes an extension's display name (empty clears it).
	SetName(ctx context.Context, number, name string) error
	// SetPassword replaces a password (generated when empty) and returns it.
	SetPassword(ctx context.Context, number, password string) (string, error)
	CDRs(ctx context.Context, q store.CDRQuery) ([]store.CDR, error)
	Registrations(ctx context.Context) ([]Registration, error)
	// Calls lists the live calls (daemon only).
	Calls(ctx context.Context) ([]call.Info, error)
	// Identity is this box's public identity key ("hbx1:..."), which a peer
	// hushbox pins on its trunk to this box.
	Identity(ctx context.Context) (string, error)
	// AddTrunk stores a trunk; password (SIP trunks) is sealed first.
	AddTrunk(ctx context.Context, t store.Trunk, password string) error
	Trunks(ctx context.Context) ([]TrunkInfo, error)
	RemoveTrunk(ctx context.Context, name string) error
	// Backup writes a passphrase-encrypted backup of the store and the
	// identity's key file (pbx/backup) to w.
	Backup(ctx context.Context, w io.Writer, passphrase string) error
	Close() error
}
