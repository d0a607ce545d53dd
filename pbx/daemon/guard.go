package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"hushbox/pbx/guard"
	"hushbox/pbx/store"
)

// Firewall modes for Config.Firewall.
const (
	FirewallAuto = "auto" // nftables on the appliance only
	FirewallNFT  = "nft"  // nftables wherever the process may program it
	FirewallOff  = "off"  // userspace drops only
)

// ParseFirewall checks a --firewall value; empty means auto.
func ParseFirewall(s string) (string, error) {
	switch s {
	case "", FirewallAuto:
		return FirewallAuto, nil
	case FirewallNFT, FirewallOff:
		return s, nil
	}
	return "", fmt.Errorf("firewall %q: want auto, nft or off", s)
}

// guardStarted, when set (by tests), is given the daemon's guard.
var guardStarted func(*guard.Guard)

// newGuard makes the DoS guard over the store's settings. Bans are mirrored
// into nftables only where hushbox owns the machine's firewall: on the
// appliance by default, elsewhere when asked with --firewall nft (a
// developer's laptop or a CI machine running the tests as root must not
// have its firewall rewritten by a test daemon).
func newGuard(db *store.DB, mode string, appliance bool, log *slog.Logger) (*guard.Guard, error) {
	var fw guard.Firewall
	if mode == FirewallNFT || (mode != FirewallOff && appliance) {
		if n, err := guard.NewNFT(); err == nil {
			fw = n
			log.Info("bans are mirrored into nftables (table inet hushbox)")
		} else if errors.Is(err, guard.ErrNoFirewall) {
			log.Info("bans are enforced in userspace", "nftables", err.Error())
		} else {
			log.Warn("nftables could not be set up; bans are enforced in userspace only", "err", err)
		}
	}
	g, err := guard.New(guard.Config{Store: db, Firewall: fw, Log: log})
	if err != nil {
		if fw != nil {
			fw.Close()
		}
		return nil, err
	}
	if guardStarted != nil {
		guardStarted(g)
	}
	return g, nil
}

// runGuard runs the guard's sampler with the fast path's queue as a
// pressure input; the returned stop waits for it to save and finish.
func runGuard(g *guard.Guard, fast *fastRegister) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		g.Run(ctx, guard.Probes{QueueDelay: fast.takeMaxDelay, Drops: fast.Dropped.Load})
	}()
	return func() { cancel(); wg.Wait() }
}

// errRefused closes a stream connection whose source the guard refuses.
var errRefused = errors.New("source refused by the DoS guard")

// admit is the guard's check of one read from the network, before any
// parsing: banned and over-limit sources get silence, and a request with
// a scanner's signature bans its source. Datagrams cost one token each; on
// a stream a read (usually one message) does.
func admit(g *guard.Guard, p sip.TransportReadProps, data []byte) bool {
	a, ok := guard.AddrOf(p.RemoteAddr)
	if !ok {
		return true // not an IP transport (none today)
	}
	if !g.Check(a).OK() {
		return false
	}
	if name, found := guard.Scan(data); found {
		g.Scanner(a, name)
		return false
	}
	return true
}

// guardedListener refuses connections from banned or over-limit sources
// at accept, before a TLS handshake or a read buffer is spent on them.
type guardedListener struct {
	net.Listener
	g *guard.Guard
}

func (l guardedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if a, ok := guard.AddrOf(c.RemoteAddr()); ok && !l.g.Check(a).OK() {
			c.Close()
			continue
		}
		return c, nil
	}
}

// authFailed feeds a wrong password from src ("ip:port") to the guard.
func authFailed(g *guard.Guard) func(src string) {
	return func(src string) {
		if ap, err := netip.ParseAddrPort(src); err == nil {
			g.AuthFailure(ap.Addr())
		} else if a, err := netip.ParseAddr(src); err == nil {
			g.AuthFailure(a)
		}
	}
}

// noteDelay keeps the longest queue wait seen since the sampler last asked.
func (f *fastRegister) noteDelay(d time.Duration) {
	for {
		cur := f.maxDelay.Load()
		if int64(d) <= cur || f.maxDelay.CompareAndSwap(cur, int64(d)) {
			return
		}
	}
}

// takeMaxDelay returns the longest queue wait since the last call.
func (f *fastRegister) takeMaxDelay() time.Duration {
	return time.Duration(f.maxDelay.Swap(0))
}
