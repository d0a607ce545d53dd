package guard

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// DefaultAllow is the allow-list of a fresh box: loopback, the RFC 1918
// private ranges, IPv6 unique-local (RFC 4193) and link-local addresses.
// A desk PBX's phones live there; the attackers it fears do not.
var DefaultAllow = []netip.Prefix{
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("fc00::/7"),
	netip.MustParsePrefix("fe80::/10"),
}

// MaxAllow bounds the allow-list: it is scanned for every datagram.
const MaxAllow = 64

// ParsePrefix reads one allow-list entry: a prefix ("192.168.1.0/24") or a
// single address ("192.0.2.7", meaning /32 or /128). Host bits must be
// zero, so that what the owner typed is what is matched. IPv4-mapped IPv6
// prefixes are refused (write the IPv4 form).
func ParsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return netip.Prefix{}, errors.New("empty")
	}
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an IP address or prefix", s)
		}
		if a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%q: zones are not allowed", s)
		}
		if a.Is4In6() {
			return netip.Prefix{}, fmt.Errorf("%q: write the IPv4 address", s)
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a prefix like 192.168.1.0/24", s)
	}
	if p.Addr().Is4In6() {
		return netip.Prefix{}, fmt.Errorf("%q: write the IPv4 prefix", s)
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("%q has host bits set; did you mean %s?", s, p.Masked())
	}
	return p, nil
}

// ParseAllowList reads an allow-list as typed on the web page: one prefix
// per line; blank lines and text after '#' are ignored. It returns every
// entry, or one error per bad line (numbered from 1) and no entries, so that
// a list is never half applied. Duplicates are dropped.
func ParseAllowList(text string) ([]netip.Prefix, []error) {
	var out []netip.Prefix
	var errs []error
	seen := map[netip.Prefix]bool{}
	for i, line := range strings.Split(text, "\n") {
		if j := strings.IndexByte(line, '#'); j >= 0 {
			line = line[:j]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		p, err := ParsePrefix(line)
		if err != nil {
			errs = append(errs, fmt.Errorf("line %d: %w", i+1, err))
			continue
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	if len(out) > MaxAllow {
		errs = append(errs, fmt.Errorf("%d entries: at most %d", len(out), MaxAllow))
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}

// validAllow checks a list given programmatically (the API, the store).
func validAllow(ps []netip.Prefix) error {
	if len(ps) > MaxAllow {
		return fmt.Errorf("allow-list: %d entries, at most %d", len(ps), MaxAllow)
	}
	for _, p := range ps {
		if !p.IsValid() || p.Masked() != p || p.Addr().Zone() != "" || p.Addr().Is4In6() {
			return fmt.Errorf("allow-list: %v is not a clean prefix", p)
		}
	}
	return nil
}

// allowList is an immutable list; the guard swaps it atomically.
// prefixes is the owner's list (stored, shown on the web page); peers are
// added by the daemon (the cloud peer's addresses) and never stored.
type allowList struct {
	prefixes []netip.Prefix
	peers    []netip.Prefix
}

// contains reports whether a (unmapped) is in the list. Linear: the list is
// short, and a few Contains calls cost less than any lookup structure.
func (l *allowList) contains(a netip.Addr) bool {
	for _, p := range l.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	for _, p := range l.peers {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
