package guard

import (
	"net/netip"
	"time"
)

// Firewall mirrors bans into the kernel so banned sources are dropped
// before they reach the process. Calls come from the guard's Run loop,
// never from the per-datagram path.
type Firewall interface {
	Ban(a netip.Addr, d time.Duration) error
	Unban(a netip.Addr) error
	// Close removes what the firewall set up.
	Close() error
}

type fwOp struct {
	addr netip.Addr
	ban  bool
	d    time.Duration
}

// firewall queues an operation for the Run loop; a full queue drops it
// (userspace still drops the source).
func (g *Guard) firewall(op fwOp) {
	if g.fw == nil || g.fwDead.Load() {
		return
	}
	select {
	case g.fwOps <- op:
	default:
	}
}

// applyFirewall runs one queued operation; the first failure turns the
// mirror off with one warning, and the guard goes on in userspace.
func (g *Guard) applyFirewall(op fwOp) {
	if g.fw == nil || g.fwDead.Load() {
		return
	}
	var err error
	if op.ban {
		err = g.fw.Ban(op.addr, op.d)
	} else {
		err = g.fw.Unban(op.addr)
	}
	if err != nil && !g.fwDead.Swap(true) {
		g.log.Warn("kernel firewall not programmable; bans are enforced in userspace only", "err", err)
	}
}
