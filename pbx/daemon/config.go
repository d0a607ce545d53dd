// Package daemon assembles `hushbox serve`: the store, the SIP transports,
// the registrar, the call manager, the media relay and the control socket,
// and runs them until the context ends.
package daemon

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// DBName is the store file's name in the data folder.
const DBName = "hushbox.db"

// Config is everything `hushbox serve` can be told.
type Config struct {
	DataDir      string
	SIPAddr      string // UDP and TCP, e.g. ":5060"
	SIPTLSAddr   string // TLS, e.g. ":5061"; empty disables TLS
	RTPPorts     string // "LO-HI"
	Realm        string
	MediaIP      string // advertised in SDP and Contact; empty = guess
	MediaTimeout time.Duration
	RingTimeout  time.Duration
	UserAgent    string // Server/User-Agent header; empty sends none
	// WebAddr serves the web page over HTTPS (empty disables it);
	// WebHTTPAddr, when set, only redirects plain HTTP to it.
	WebAddr     string
	WebHTTPAddr string
	// Digest is the comma-separated challenge order, e.g. "SHA-256,MD5".
	Digest string
	Log    *slog.Logger
	// Command is how the person started hushbox (e.g. "bin/hushbox"), for
	// the hints it prints; "hushbox" when empty.
	Command string
	// Out receives the few lines a person starting hushbox needs to read.
	Out io.Writer
}

// ParsePortRange parses "LO-HI" into an inclusive range that holds at least
// one RTP/RTCP pair per call leg.
func ParsePortRange(s string) (int, int, error) {
	lo, hi, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, fmt.Errorf("rtp ports %q: want LO-HI, e.g. 20000-20999", s)
	}
	l, err1 := strconv.Atoi(strings.TrimSpace(lo))
	h, err2 := strconv.Atoi(strings.TrimSpace(hi))
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("rtp ports %q: not numbers", s)
	}
	if l < 1024 || h > 65535 || l >= h {
		return 0, 0, fmt.Errorf("rtp ports %q: want 1024 <= LO < HI <= 65535", s)
	}
	if h-l+1 < 4 {
		return 0, 0, fmt.Errorf("rtp ports %q: need at least 4 ports (one call)", s)
	}
	return l, h, nil
}

// ValidRealm checks a digest realm: printable, no quotes or backslashes (it
// is sent inside a quoted string), 1 to 64 characters.
func ValidRealm(r string) error {
	if r == "" || len(r) > 64 {
		return errors.New("realm must be 1 to 64 characters")
	}
	for _, c := range r {
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return fmt.Errorf("realm %q: only printable ASCII without spaces, quotes or backslashes", r)
		}
	}
	return nil
}

// advertisedIP picks the address phones should send media and requests to:
// the configured one, else the SIP listen address when it is specific, else
// the address of the interface that routes to the outside, else loopback.
func advertisedIP(mediaIP, sipAddr string) (netip.Addr, error) {
	if mediaIP != "" {
		a, err := netip.ParseAddr(mediaIP)
		if err != nil || a.IsUnspecified() {
			return netip.Addr{}, fmt.Errorf("media ip %q: want a unicast IP address", mediaIP)
		}
		return a, nil
	}
	if host, _, err := net.SplitHostPort(sipAddr); err == nil && host != "" {
		if a, err := netip.ParseAddr(host); err == nil && !a.IsUnspecified() {
			return a, nil
		}
	}
	// Connecting a UDP socket sends nothing; it only asks the kernel for a route.
	if c, err := net.Dial("udp4", "192.0.2.1:9"); err == nil {
		defer c.Close()
		if ua, ok := c.LocalAddr().(*net.UDPAddr); ok {
			if a, ok := netip.AddrFromSlice(ua.IP.To4()); ok {
				return a, nil
			}
		}
	}
	return netip.MustParseAddr("127.0.0.1"), nil
}

// bindIP is where media sockets listen: the SIP host when it is specific,
// all addresses otherwise.
func bindIP(sipAddr string, adv netip.Addr) netip.Addr {
	if host, _, err := net.SplitHostPort(sipAddr); err == nil && host != "" {
		if a, err := netip.ParseAddr(host); err == nil {
			return a
		}
	}
	if adv.Is6() {
		return netip.IPv6Unspecified()
	}
	return netip.IPv4Unspecified()
}
