package guard

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/netip"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// netnsFd opens namespace ns for the netlink backend; closed when the
// test ends.
func netnsFd(t *testing.T, ns string) int {
	t.Helper()
	fd, err := syscall.Open("/var/run/netns/"+ns, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("open netns %s: %v", ns, err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	return fd
}

func tag() string {
	var rnd [3]byte
	rand.Read(rnd[:])
	return hex.EncodeToString(rnd[:])
}

// listTable is what `nft list table inet hushbox` shows in ns, with the
// time left on each element ("expires 59m59s") taken out: it runs on.
func listTable(t *testing.T, ns string) string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", ns, "nft", "list", "table", "inet", nftTable).CombinedOutput()
	if err != nil {
		t.Fatalf("nft list table: %v %s", err, out)
	}
	return expiresRE.ReplaceAllString(string(out), "")
}

var expiresRE = regexp.MustCompile(` expires [0-9dhms]+`)

// Both backends, given the same Ruleset, bans and trust, build the same
// table: what `nft list table inet hushbox` shows after the nft binary
// programmed it is what it shows after the netlink backend did. nft reads
// the kernel's bytecode back into its language, so equal listings mean
// equal rules, sets and counters.
func TestNFTNLListingMatchesNFT(t *testing.T) {
	requireNetns(t)
	allow := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/9"), netip.MustParsePrefix("10.128.0.0/9"), // adjacent: merged
		netip.MustParsePrefix("10.1.0.0/16"), // inside: merged
		netip.MustParsePrefix("192.168.0.0/16"), netip.MustParsePrefix("203.0.113.7/32"),
		netip.MustParsePrefix("255.255.255.0/24"), // to the end of the space: no end element
		netip.MustParsePrefix("fc00::/7"), netip.MustParsePrefix("fe80::/10"), netip.MustParsePrefix("::1/128"),
		netip.MustParsePrefix("::ffff:198.51.100.0/120"), // IPv4-mapped: left out by both
	}
	for _, tc := range []struct {
		name string
		r    Ruleset
	}{
		{"bans only", Ruleset{}},
		{"daemon", Ruleset{UDPPorts: []int{5060}, TCPPorts: []int{5061, 5060, 5060}, Allow: allow,
			PerSource: 10, PerSourceBurst: 20, Untrusted: 100, UntrustedBurst: 100, ConnPerSource: 2, ConnBurst: 5, ConnUntrusted: 25}},
		{"several UDP ports, no caps", Ruleset{UDPPorts: []int{5080, 5060, 0, 70000}, TCPPorts: []int{5061},
			Allow: allow[:2], PerSource: 0, Untrusted: 0, ConnPerSource: 3, ConnBurst: 0, ConnUntrusted: 0}},
		{"no TCP", Ruleset{UDPPorts: []int{5060}, PerSource: 7, PerSourceBurst: 0, Untrusted: 9, UntrustedBurst: 9}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := netns(t, "hbg-l-"+tag())
			bans := []netip.Addr{netip.MustParseAddr("198.51.100.66"), netip.MustParseAddr("2001:db8::66")}
			trust := []TrustEntry{{netip.MustParseAddr("198.51.100.7"), time.Hour}, {netip.MustParseAddr("2001:db8::7"), 5 * time.Minute},
				{netip.MustParseAddr("::ffff:198.51.100.8"), time.Hour}}
			apply := func(l Limiter) {
				t.Helper()
				if err := l.Program(tc.r); err != nil {
					t.Fatal(err)
				}
				for _, a := range bans {
					if err := l.Ban(a, time.Hour); err != nil {
						t.Fatal(err)
					}
				}
				if err := l.Trust(trust); err != nil {
					t.Fatal(err)
				}
			}

			ex, err := NewNFT(NFTOptions{Command: []string{"ip", "netns", "exec", ns, "nft"}})
			if err != nil {
				t.Fatal(err)
			}
			apply(ex)
			want := listTable(t, ns)
			if err := ex.Close(); err != nil {
				t.Fatal(err)
			}

			nl, err := NewNFTNL(NFTNLOptions{NetNS: netnsFd(t, ns)})
			if err != nil {
				t.Fatal(err)
			}
			defer nl.Close()
			apply(nl)
			got := listTable(t, ns)
			if got != want {
				t.Errorf("netlink built another table than nft did.\nnetlink:\n%s\nnft:\n%s", got, want)
			}
			if !strings.Contains(got, "198.51.100.66") || !strings.Contains(got, "198.51.100.7") {
				t.Errorf("ban or trust missing from the listing:\n%s", got)
			}
		})
	}
}

// The netlink backend in front of a UDP socket: an untrusted source is cut
// to its meter while a trusted one passes in full, the counters say what
// was dropped, a ban drops a source, reprogramming keeps trusted sources,
// and Close removes the table. Two namespaces joined by a veth pair; the
// host's ruleset is never touched.
func TestNFTNLLimitsInNamespace(t *testing.T) {
	requireNetns(t)
	const recvIP, trustedIP, untrustedIP = "198.51.100.1", "198.51.100.9", "198.51.100.2"
	const sent = 400 // datagrams from each source per round
	id := tag()
	recv := netns(t, "hbg-r-"+id)
	send := netns(t, "hbg-s-"+id)
	ipIn(t, recv, "link", "add", "hbr", "type", "veth", "peer", "name", "hbs", "netns", send)
	ipIn(t, recv, "addr", "add", recvIP+"/24", "dev", "hbr")
	for _, a := range []string{trustedIP, untrustedIP} {
		ipIn(t, send, "addr", "add", a+"/24", "dev", "hbs")
	}
	for _, ns := range []string{recv, send} {
		ipIn(t, ns, "link", "set", "lo", "up")
	}
	ipIn(t, recv, "link", "set", "hbr", "up")
	ipIn(t, send, "link", "set", "hbs", "up")

	n, err := NewNFTNL(NFTNLOptions{NetNS: netnsFd(t, recv)})
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(Config{Now: newClock().Now, Log: quietLog(), Firewall: n})
	if err != nil {
		t.Fatal(err)
	}
	if got := g.KernelFirewall(); got != BackendNetlink {
		t.Errorf("KernelFirewall = %q, want %q", got, BackendNetlink)
	}
	const perSecond, burst = 10, 20
	if err := g.SetLimits(Limits{RequestsPerSecond: perSecond, Burst: burst, AuthFailures: 5, BanTime: time.Minute, UntrustedPerSecond: 10000}); err != nil {
		t.Fatal(err)
	}
	if err := g.SetAllowList(nil); err != nil {
		t.Fatal(err)
	}
	conn, port := protectedListener(t, g, recv, recvIP, trustedIP)

	// round sends a bounded burst from each source and counts what arrived.
	round := func(sources ...string) (map[string]int, time.Duration) {
		t.Helper()
		return udpBurst(t, conn, send, recvIP, port, sent, "OPTIONS sip:"+recvIP+" SIP/2.0\r\n\r\n", sources...)
	}

	counts, elapsed := round(untrustedIP, trustedIP)
	m, err := n.Counters()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("round 1: sent %d from each in %v: received %v; counters %v", sent, elapsed, counts, m)
	if counts[trustedIP] != sent {
		t.Errorf("trusted source: %d of %d arrived", counts[trustedIP], sent)
	}
	most := burst + int(perSecond*elapsed.Seconds()) + 2
	if c := counts[untrustedIP]; c < burst || c > most {
		t.Errorf("untrusted source: %d arrived, want %d..%d (its meter)", c, burst, most)
	}
	dropped := uint64(sent - counts[untrustedIP])
	if m[CounterSourceDrops] != dropped {
		t.Errorf("%s = %d, want %d", CounterSourceDrops, m[CounterSourceDrops], dropped)
	}
	g.readKernel()
	if g.KernelDropped() != dropped {
		t.Errorf("guard counts %d kernel drops; %d were dropped", g.KernelDropped(), dropped)
	}

	// Reprogramming (new limits) keeps the trusted source trusted; a ban
	// drops the other source entirely, in the kernel.
	if err := g.SetLimits(Limits{RequestsPerSecond: perSecond, Burst: burst + 1, AuthFailures: 5, BanTime: time.Minute, UntrustedPerSecond: 10000}); err != nil {
		t.Fatal(err)
	}
	g.applyRuleset()
	if err := n.Ban(netip.MustParseAddr(untrustedIP), time.Minute); err != nil {
		t.Fatal(err)
	}
	counts, _ = round(untrustedIP, trustedIP)
	m2, err := n.Counters()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("round 2 (banned, reprogrammed): received %v; counters %v", counts, m2)
	if counts[trustedIP] != sent {
		t.Errorf("after reprogramming, trusted source: %d of %d arrived", counts[trustedIP], sent)
	}
	if counts[untrustedIP] != 0 {
		t.Errorf("banned source: %d datagrams arrived", counts[untrustedIP])
	}
	if got := m2[CounterBanned] - m[CounterBanned]; got != sent {
		t.Errorf("%s grew by %d, want %d", CounterBanned, got, sent)
	}
	if err := n.Unban(netip.MustParseAddr(untrustedIP)); err != nil {
		t.Fatal(err)
	}
	if err := n.Unban(netip.MustParseAddr(untrustedIP)); err != nil {
		t.Errorf("unban of a source not banned: %v", err)
	}

	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("ip", "netns", "exec", recv, "nft", "list", "tables").CombinedOutput(); err != nil || strings.Contains(string(out), nftTable) {
		t.Errorf("after Close: %v %s", err, out)
	}
}

// A trust batch larger than one netlink message takes (the guard sends up
// to 4096 at once) arrives whole, and renewing it keeps one element per
// source with the new timeout.
func TestNFTNLTrustBatches(t *testing.T) {
	requireNetns(t)
	ns := netns(t, "hbg-t-"+tag())
	n, err := NewNFTNL(NFTNLOptions{NetNS: netnsFd(t, ns)})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	const v4, v6 = 3000, 1100
	var es []TrustEntry
	for i := range v4 {
		es = append(es, TrustEntry{netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}), time.Hour})
	}
	for i := range v6 {
		es = append(es, TrustEntry{netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(i >> 8), 15: byte(i)}), time.Hour})
	}
	for _, ttl := range []time.Duration{time.Hour, 2 * time.Hour} {
		for i := range es {
			es[i].TTL = ttl
		}
		if err := n.Trust(es); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			set, prefix string
			want        int
		}{{"trusted4", "198.18.", v4}, {"trusted6", "2001:db8::", v6}} {
			out, err := exec.Command("ip", "netns", "exec", ns, "nft", "list", "set", "inet", nftTable, tc.set).CombinedOutput()
			if err != nil {
				t.Fatalf("nft list set: %v %s", err, out)
			}
			got := strings.Count(string(out), tc.prefix)
			timeouts := strings.Count(string(out), "timeout "+map[time.Duration]string{time.Hour: "1h", 2 * time.Hour: "2h"}[ttl]+" ")
			if got != tc.want || timeouts != tc.want {
				t.Errorf("%s after trusting for %v: %d elements, %d with that timeout; want %d", tc.set, ttl, got, timeouts, tc.want)
			}
		}
	}
}

// Where nf_tables works, OpenKernel takes netlink and says so once, at
// Info, in the words the appliance's console shows.
func TestOpenKernelPrefersNetlink(t *testing.T) {
	requireNetns(t)
	ns := netns(t, "hbg-o-"+tag())
	var logs strings.Builder
	log := slog.New(slog.NewTextHandler(&logs, nil))
	var l Limiter
	if err := inNetns(ns, func() error {
		l = OpenKernel(log)
		if l == nil {
			return errors.New("no kernel firewall")
		}
		return l.Close()
	}); err != nil {
		t.Fatalf("%v; log:\n%s", err, logs.String())
	}
	if _, ok := l.(*NFTNL); !ok {
		t.Errorf("OpenKernel chose %T, want *NFTNL", l)
	}
	if got := logs.String(); strings.Count(got, "kernel firewall: netlink") != 1 || !strings.Contains(got, "level=INFO") {
		t.Errorf("log does not say once that the kernel firewall is netlink:\n%s", got)
	}
}
