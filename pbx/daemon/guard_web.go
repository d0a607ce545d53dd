package daemon

import (
	"net/netip"
	"time"

	"hushbox/pbx/guard"
	"hushbox/pbx/web"
)

// webGuard is the guard as the web page sees it (web.Guard).
type webGuard struct{ g *guard.Guard }

var _ web.Guard = webGuard{}

func (w webGuard) Pressure() web.Pressure {
	lvl, score := w.g.Pressure()
	return web.Pressure{Level: int(lvl), Name: lvl.String(), Score: score}
}

func (w webGuard) Bans() []web.Ban {
	bs := w.g.Bans()
	out := make([]web.Ban, len(bs))
	for i, b := range bs {
		out[i] = web.Ban{Addr: b.Addr, Reason: b.Reason, Since: b.Since, Expires: b.Expires, Strikes: b.Strikes}
	}
	return out
}

func (w webGuard) Ban(a netip.Addr, d time.Duration, reason string) error {
	return w.g.Ban(a, d, reason)
}

func (w webGuard) Unban(a netip.Addr) error { return w.g.Unban(a) }

func (w webGuard) AllowList() []netip.Prefix { return w.g.AllowList() }

func (w webGuard) SetAllowList(ps []netip.Prefix) error { return w.g.SetAllowList(ps) }

func (w webGuard) Limits() web.GuardLimits {
	l := w.g.Limits()
	return web.GuardLimits{RequestsPerSecond: l.RequestsPerSecond, Burst: l.Burst, AuthFailures: l.AuthFailures, BanTime: l.BanTime}
}

// SetLimits keeps the kernel's untrusted cap, which the page does not show.
func (w webGuard) SetLimits(l web.GuardLimits) error {
	return w.g.SetLimits(guard.Limits{RequestsPerSecond: l.RequestsPerSecond, Burst: l.Burst, AuthFailures: l.AuthFailures, BanTime: l.BanTime,
		UntrustedPerSecond: w.g.Limits().UntrustedPerSecond})
}

func (w webGuard) Refused() uint64 { return w.g.Refused() }

// KernelDropped feeds hushbox_guard_kernel_dropped_total (web.KernelDropper).
func (w webGuard) KernelDropped() uint64 { return w.g.KernelDropped() }

// KernelFirewall is shown on the security page (web.KernelFirewaller).
func (w webGuard) KernelFirewall() string { return w.g.KernelFirewall() }

var _ web.KernelDropper = webGuard{}
