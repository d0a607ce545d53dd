package guard

import (
	"context"
	"errors"
	"log/slog"
)

// Names of the kernel firewall backends (KernelFirewall, the start-up log).
const (
	BackendNetlink = "netlink" // nf_tables over netlink, from the binary itself (NFTNL)
	BackendNFT     = "nft"     // the nft binary (NFT)
	BackendOff     = "off"     // userspace only
)

// Backend names the way the table is programmed.
func (n *NFT) Backend() string { return BackendNFT }

// backender is a Firewall that says how it programs the kernel.
type backender interface{ Backend() string }

// OpenKernel returns the best kernel firewall this machine offers, and
// logs which one it is (once, at Info; a Warn when one was expected to
// work and did not): nf_tables over netlink when it works (a static
// binary needs nothing else, as on the appliance), else the nft binary,
// else nil: the guard works in userspace only.
func OpenKernel(log *slog.Logger) Limiter {
	nl, errNL := NewNFTNL(NFTNLOptions{})
	if errNL == nil {
		log.Info("kernel firewall: "+BackendNetlink, "table", "inet "+nftTable)
		return nl
	}
	ex, errEx := NewNFT(NFTOptions{})
	if errEx == nil {
		log.Info("kernel firewall: "+BackendNFT, "table", "inet "+nftTable, "netlink", errNL.Error())
		return ex
	}
	level := slog.LevelInfo
	if !errors.Is(errNL, ErrNoFirewall) || !errors.Is(errEx, ErrNoFirewall) {
		level = slog.LevelWarn
	}
	log.Log(context.Background(), level, "kernel firewall: "+BackendOff+"; bans and limits are enforced in userspace only",
		"netlink", errNL.Error(), "nft", errEx.Error())
	return nil
}

// KernelFirewall names the backend that enforces the guard's bans and
// limits in the kernel now: BackendNetlink, BackendNFT, or BackendOff when
// there is none or it failed (the guard then works in userspace only).
func (g *Guard) KernelFirewall() string {
	if g.fw == nil || g.fwDead.Load() {
		return BackendOff
	}
	if b, ok := g.fw.(backender); ok {
		return b.Backend()
	}
	return "custom"
}
