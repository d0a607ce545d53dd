package web

import (
	"context"
	"io"
	"net/netip"
	"time"
)

// The interfaces below are the parts of the daemon the web page shows and
// drives beyond control.Admin. Each is optional in Config: a nil value
// hides the page or widget that needs it, so the page degrades on a build
// or role that lacks the part (no guard in a unit test, no reboot on a
// laptop).

// Pressure is the DoS guard's current verdict, shown as a gauge.
type Pressure struct {
	Level int     `json:"level"` // 0 normal, 1 elevated, 2 high, 3 critical
	Name  string  `json:"name"`  // "normal", "elevated", "high", "critical"
	Score float64 `json:"score"` // 0..1, the smoothed input the level comes from
}

// Ban is one banned source address.
type Ban struct {
	Addr    netip.Addr `json:"addr"`
	Reason  string     `json:"reason"`
	Since   time.Time  `json:"since"`
	Expires time.Time  `json:"expires"`
	Strikes int        `json:"strikes"` // how many times it was banned (backoff)
}

// GuardLimits are the guard's tunable rates.
type GuardLimits struct {
	RequestsPerSecond int           `json:"requests_per_second"` // per source, SIP requests
	Burst             int           `json:"burst"`
	AuthFailures      int           `json:"auth_failures"` // failures before a ban
	BanTime           time.Duration `json:"ban_time"`      // first ban; doubles per strike
}

// Guard is the DoS guard as the web page sees it (security page, gauge).
type Guard interface {
	Pressure() Pressure
	Bans() []Ban
	Ban(addr netip.Addr, d time.Duration, reason string) error
	Unban(addr netip.Addr) error
	AllowList() []netip.Prefix
	SetAllowList([]netip.Prefix) error
	Limits() GuardLimits
	SetLimits(GuardLimits) error
	// Refused is how many SIP requests the guard dropped or refused since
	// start, for the dashboard and /metrics.
	Refused() uint64
}

// System is the running process as the system page drives it.
type System interface {
	// Restart stops the daemon cleanly and starts it again (re-exec).
	Restart() error
	// Reboot stops cleanly and reboots the board; ok is false where that is
	// not allowed (a laptop, a container), and the button is not shown.
	Reboot() error
	CanReboot() bool
	// Logs returns the newest log lines, oldest first, at most n.
	Logs(n int) []string
}

// Updater installs a signed firmware bundle into the inactive slot.
type Updater interface {
	// Install checks the bundle's signature before writing a byte, then
	// writes it to the inactive slot and arms a test boot.
	Install(ctx context.Context, bundle io.Reader) (version string, err error)
	// Slots describes the active and inactive slots for the page.
	Slots() (active, inactive string, err error)
}
