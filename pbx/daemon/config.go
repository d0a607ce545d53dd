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
	// PeerAddr serves mutual TLS to paired hushbox peers (heartbeats, later
	// replication and hand-off); pairing itself happens on WebAddr, so
	// peering needs both. "auto" is WebAddr's host and port + 1 (port 0
	// when WebAddr's is 0); empty disables peering.
	PeerAddr string
	// Digest is the comma-separated challenge order, e.g. "SHA-256,MD5".
	Digest string
	Log    *slog.Logger
	// Command is how the person started hushbox (e.g. "bin/hushbox"), for
	// the hints it prints; "hushbox" when empty.
	Command string
	// Out receives the few lines a person starting hushbox needs to read.
	Out io.Writer
	// Flags names the command-line flags given explicitly ("sip",
	// "rtp-ports", ...): those values win over stored settings, the others
	// come from the store when it holds them (settings.go). Nil (a Config
	// made in code) counts every non-empty field as given.
	Flags map[string]bool
	// BootDir is the boot partition with the A/B firmware slots (the
	// appliance's /boot); empty turns firmware updates off (update.go).
	// UpdateKey is the release public key file bundles must be signed
	// with; Board names this board for bundles (empty: detected);
	// UpdateGrace is how long a test boot stays up before it is checked
	// and marked good (0: DefaultUpdateGrace).
	BootDir     string
	UpdateKey   string
	Board       string
	UpdateGrace time.Duration
	// Appliance says hushbox runs as the appliance's daemon (started by
	// /init with --appliance); only then may the web page reboot the board.
	Appliance bool
	// Firewall says where bans go besides the userspace drop: "auto"
	// (nftables on the appliance only), "nft" or "off". See ParseFirewall.
	Firewall string
	// Role is board (the default; empty means board) or cloud, the peer
	// run as a container: no appliance features (role.go).
	Role Role
	// PhoneAudio, when set, makes the board's handset extension 100: a
	// phone endpoint on this sound device spec ("portaudio", "null",
	// "wav:IN,OUT") registered to this daemon (phone.go). The appliance
	// uses "portaudio" when it is empty.
	PhoneAudio string
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
