//go:build !linux

package guard

import (
	"fmt"
	"net/netip"
	"time"
)

// NFTNL is the netlink (nf_tables) kernel side; only Linux has it.
type NFTNL struct{}

// NFTNLOptions set up an NFTNL.
type NFTNLOptions struct {
	NetNS int
	Table string
}

// NewNFTNL always fails here: nf_tables is Linux's.
func NewNFTNL(NFTNLOptions) (*NFTNL, error) {
	return nil, fmt.Errorf("%w: nf_tables is Linux only", ErrNoFirewall)
}

func (*NFTNL) Backend() string                      { return "netlink" }
func (*NFTNL) Program(Ruleset) error                { return ErrNoFirewall }
func (*NFTNL) Trust([]TrustEntry) error             { return ErrNoFirewall }
func (*NFTNL) Ban(netip.Addr, time.Duration) error  { return ErrNoFirewall }
func (*NFTNL) Unban(netip.Addr) error               { return ErrNoFirewall }
func (*NFTNL) Counters() (map[string]uint64, error) { return nil, ErrNoFirewall }
func (*NFTNL) Close() error                         { return nil }
