package media

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"
)

// DefaultTimeout is used when Config.Timeout is zero or negative.
const DefaultTimeout = 60 * time.Second

// Config sets up a Relay.
type Config struct {
	// BindIP is the local address every relay socket listens on
	// (for example 127.0.0.1, a LAN address, or 0.0.0.0).
	BindIP netip.Addr
	// PortMin and PortMax bound the port range, inclusive. Port pairs start
	// at even ports: RTP on the even port, RTCP on the next one.
	PortMin, PortMax int
	// Timeout: when neither leg of a session has received RTP for this
	// long, the session's OnTimeout callback fires. Default DefaultTimeout.
	Timeout time.Duration
	// Logger receives relay events (never per-packet). Default: discard.
	Logger *slog.Logger
}

// ErrConfig is wrapped by every configuration error of NewRelay.
var ErrConfig = errors.New("media: invalid relay config")

// pairRange returns the first RTP port and the number of whole port pairs
// in the configured range.
func (c *Config) pairRange() (base, pairs int) {
	base = c.PortMin + c.PortMin%2
	if c.PortMax < base+1 {
		return base, 0
	}
	return base, (c.PortMax - base + 1) / 2
}

// normalise fills defaults and checks the config.
func (c Config) normalise() (Config, error) {
	if !c.BindIP.IsValid() {
		return c, fmt.Errorf("%w: BindIP not set", ErrConfig)
	}
	c.BindIP = c.BindIP.Unmap()
	if c.PortMin < 1 || c.PortMax > 65535 || c.PortMin > c.PortMax {
		return c, fmt.Errorf("%w: port range %d-%d", ErrConfig, c.PortMin, c.PortMax)
	}
	if _, pairs := c.pairRange(); pairs < 2 {
		return c, fmt.Errorf("%w: port range %d-%d holds %d port pairs, a session needs 2",
			ErrConfig, c.PortMin, c.PortMax, pairs)
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}
