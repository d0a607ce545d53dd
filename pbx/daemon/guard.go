package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"hushbox/pbx/call"
	"hushbox/pbx/guard"
	"hushbox/pbx/registrar"
	"hushbox/pbx/store"
)

// Firewall modes for Config.Firewall.
const (
	FirewallAuto = "auto" // nftables on the appliance only
	FirewallNFT  = "nft"  // nftables wherever the process may program it
	FirewallOff  = "off"  // userspace drops only
)

// envFirewall, when --firewall is auto, picks the mode instead.
const envFirewall = "HUSHBOX_FIREWALL"

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
//
// With --firewall auto, HUSHBOX_FIREWALL (nft or off) decides instead: the
// test bed sets it for daemons that run in network namespaces it made,
// whose firewall is theirs to program.
func newGuard(db *store.DB, mode string, appliance bool, log *slog.Logger) (*guard.Guard, error) {
	if mode == FirewallAuto {
		if m, err := ParseFirewall(os.Getenv(envFirewall)); err == nil {
			mode = m
		} else {
			log.Warn("ignored "+envFirewall, "err", err)
		}
	}
	var fw guard.Firewall
	if mode == FirewallNFT || (mode != FirewallOff && appliance) {
		// nf_tables over netlink first (the appliance has no nft binary),
		// then the nft binary, then userspace; OpenKernel logs which.
		if l := guard.OpenKernel(log); l != nil {
			fw = l
		}
	} else {
		log.Info("kernel firewall: "+guard.BackendOff+" (--firewall "+mode+"); bans and limits are enforced in userspace", "appliance", appliance)
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

// runGuard runs the guard's sampler with the fast path's queue and the
// UDP sockets' overflows as pressure inputs, and the live calls' parties
// as sources to trust in the kernel; the returned stop waits for it to
// save and finish.
func runGuard(g *guard.Guard, fast *fastRegister, calls *call.Manager, db *store.DB, log *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	trunks := &trunkHosts{db: db, log: log}
	parties := callParties(calls)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		g.Run(ctx, guard.Probes{QueueDelay: fast.takeMaxDelay, Drops: fast.Dropped.Load,
			SocketOverflows: guard.UDPRcvbufErrors,
			Parties:         func() []netip.Addr { return append(parties(), trunks.list(ctx)...) }})
	}()
	return func() { cancel(); wg.Wait() }
}

// trunkHosts are the addresses of the trunks' peers (SIP providers, other
// hushboxes). They do not authenticate to us, and their requests and
// answers must not be metered with strangers under a flood, so the guard
// trusts them like call parties. Names are resolved in the background at
// most once a minute; list never waits for DNS.
type trunkHosts struct {
	db  *store.DB
	log *slog.Logger

	mu      sync.Mutex
	at      time.Time
	busy    bool
	addrs   []netip.Addr
	dnsWarn sync.Once
}

const trunkResolveEvery = time.Minute

// list returns the addresses known now and starts a refresh when stale.
func (t *trunkHosts) list(ctx context.Context) []netip.Addr {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.busy && time.Since(t.at) >= trunkResolveEvery {
		t.busy = true
		go t.refresh(ctx)
	}
	return t.addrs
}

func (t *trunkHosts) refresh(ctx context.Context) {
	var out []netip.Addr
	ts, err := t.db.Trunks()
	if err != nil {
		t.log.Error("list trunks for the guard", "err", err)
	}
	for _, tr := range ts {
		host, _, err := net.SplitHostPort(tr.Address)
		if err != nil {
			host = tr.Address
		}
		if a, err := netip.ParseAddr(host); err == nil {
			out = append(out, a)
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		as, err := net.DefaultResolver.LookupNetIP(rctx, "ip", host)
		cancel()
		if err != nil {
			t.dnsWarn.Do(func() { t.log.Warn("trunk address not resolved for the guard", "trunk", tr.Name, "err", err) })
			continue
		}
		out = append(out, as...)
	}
	t.mu.Lock()
	t.addrs, t.at, t.busy = out, time.Now(), false
	t.mu.Unlock()
}

// callParties lists where the parties of answered calls signal and send
// media from, for the guard to trust in the kernel.
func callParties(calls *call.Manager) func() []netip.Addr {
	return func() []netip.Addr {
		var out []netip.Addr
		for _, l := range calls.HandoffLegs() {
			if ap, err := netip.ParseAddrPort(l.Party); err == nil {
				out = append(out, ap.Addr())
			}
			if l.Media.IsValid() {
				out = append(out, l.Media.Addr())
			}
		}
		return out
	}
}

// protectSIP puts the kernel limits in front of the SIP ports the daemon
// listens on (ports: "udp", "tcp", "tls"; a missing one is 0, ignored).
func protectSIP(g *guard.Guard, ports map[string]int) {
	g.ProtectSIP(guard.SIPPorts{UDP: []int{ports["udp"]}, TCP: []int{ports["tcp"], ports["tls"]}})
}

// authTrusted trusts in the kernel the source ("ip:port") of a request
// that passed digest authentication (REGISTER or INVITE).
func authTrusted(g *guard.Guard) func(src string) {
	return func(src string) {
		if ap, err := netip.ParseAddrPort(src); err == nil {
			g.Trust(ap.Addr(), guard.AuthTrust)
		}
	}
}

// trustSaved trusts in the kernel (through trust, the guard's Trust) the
// sources of the registrations kept from the last run, each until its
// binding lapses (at most guard.AuthTrust): they passed digest
// authentication then. Without it a phone is an unknown source after a
// restart, metered with the flood in the untrusted cap until its next
// REGISTER gets through, which after a reboot during an attack can take
// the hour its binding lasts. It returns how many sources it trusted.
func trustSaved(trust func(netip.Addr, time.Duration), bs []registrar.Binding, now time.Time) int {
	n := 0
	for _, b := range bs {
		ap, err := netip.ParseAddrPort(b.Source)
		if err != nil {
			continue
		}
		left := b.Expires.Sub(now)
		if left <= 0 {
			continue
		}
		trust(ap.Addr(), min(left+time.Minute, guard.AuthTrust)) // a minute for the renewal to arrive
		n++
	}
	return n
}

// sipReadBuffer is the SIP UDP socket's receive buffer. The default
// (about 200 KiB) holds a fraction of a second of a flood; a larger one
// absorbs bursts of legitimate traffic (20 re-INVITE answers at once). Not
// larger: what waits in it waits in line, and at the test bed board's
// read rate (about 400 datagrams a second) 1 MiB is already a second or
// two; the kernel limits keep the flood out of it in the first place.
const sipReadBuffer = 1 << 20

// growReadBuffer sets the UDP socket's receive buffer to sipReadBuffer:
// SO_RCVBUFFORCE when the process has CAP_NET_ADMIN (net.core.rmem_max,
// which caps SO_RCVBUF, is not per network namespace), else SO_RCVBUF
// (capped by rmem_max).
func growReadBuffer(c net.PacketConn, log *slog.Logger) {
	uc, ok := c.(*net.UDPConn)
	if !ok {
		return
	}
	if err := forceReadBuffer(uc, sipReadBuffer); err == nil {
		return
	}
	if err := uc.SetReadBuffer(sipReadBuffer); err != nil {
		log.Warn("SIP UDP receive buffer not enlarged", "err", err)
	}
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
