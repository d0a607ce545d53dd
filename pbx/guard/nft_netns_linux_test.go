package guard

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// requireNetns skips (outside CI) or fails (in CI) when the test cannot
// make network namespaces and program nftables in them.
func requireNetns(t *testing.T) {
	t.Helper()
	why := ""
	if os.Geteuid() != 0 || !hasNetAdmin() {
		why = "needs root (network namespaces, nftables)"
	} else if _, err := exec.LookPath("ip"); err != nil {
		why = "needs ip (iproute2)"
	} else if _, err := exec.LookPath("nft"); err != nil {
		why = "needs nft (nftables)"
	}
	if why == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(why)
	}
	t.Skip(why)
}

// netns makes a network namespace that is deleted when the test ends.
func netns(t *testing.T, name string) string {
	t.Helper()
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v %s", name, err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	return name
}

func ipIn(t *testing.T, ns string, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", append([]string{"-n", ns}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("ip -n %s %s: %v %s", ns, strings.Join(args, " "), err, out)
	}
}

// inNetns runs f on an OS thread switched into namespace ns; sockets made
// there stay in ns. The thread is thrown away afterwards (never unlocked),
// so no other goroutine runs in ns.
func inNetns(ns string, f func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		fd, err := syscall.Open("/var/run/netns/"+ns, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			done <- fmt.Errorf("open netns %s: %w", ns, err)
			return
		}
		defer syscall.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			done <- fmt.Errorf("setns %s: %w", ns, err)
			return
		}
		done <- f()
	}()
	return <-done
}

// The kernel cuts untrusted sources down to their meters (burst, then the
// rate) and all of them together to the untrusted cap, while a trusted
// source passes in full, and the counters say what was dropped. Two
// namespaces joined by a veth pair: the receiver's hushbox table is
// programmed through `ip netns exec`, a bounded burst of datagrams comes
// from addresses of the sender. The host's own ruleset is never touched.
func TestNFTLimitsInNamespace(t *testing.T) {
	requireNetns(t)
	// TEST-NET-2 addresses: not on the guard's default allow-list either.
	const recvIP, trustedIP = "198.51.100.1", "198.51.100.9"
	untrusted := []string{"198.51.100.2", "198.51.100.3"}
	const sent = 400 // datagrams from each source
	for _, tc := range []struct {
		name      string
		limits    Limits
		sources   []string // untrusted sources that send
		counter   string   // the counter that counts their drops
		burst     int      // what arrives at once, from each source or from all
		rate      int      // per second after the burst
		perSource bool
	}{
		{"per-source meter", Limits{RequestsPerSecond: 10, Burst: 20, AuthFailures: 5, BanTime: time.Minute, UntrustedPerSecond: 10000},
			untrusted[:1], CounterSourceDrops, 20, 10, true},
		{"untrusted cap", Limits{RequestsPerSecond: 10000, Burst: 10000, AuthFailures: 5, BanTime: time.Minute, UntrustedPerSecond: 50},
			untrusted, CounterGlobalDrops, 5, 50, false}, // the burst: a tenth of a second's worth (untrustedBurst)
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rnd [3]byte
			rand.Read(rnd[:])
			tag := hex.EncodeToString(rnd[:])
			recv := netns(t, "hbg-r-"+tag)
			send := netns(t, "hbg-s-"+tag)
			ipIn(t, recv, "link", "add", "hbr", "type", "veth", "peer", "name", "hbs", "netns", send)
			ipIn(t, recv, "addr", "add", recvIP+"/24", "dev", "hbr")
			for _, a := range append([]string{trustedIP}, untrusted...) {
				ipIn(t, send, "addr", "add", a+"/24", "dev", "hbs")
			}
			for _, ns := range []string{recv, send} {
				ipIn(t, ns, "link", "set", "lo", "up")
			}
			ipIn(t, recv, "link", "set", "hbr", "up")
			ipIn(t, send, "link", "set", "hbs", "up")

			n, err := NewNFT(NFTOptions{Command: []string{"ip", "netns", "exec", recv, "nft"}})
			if err != nil {
				t.Fatal(err)
			}
			defer n.Close()
			g, err := New(Config{Now: newClock().Now, Log: quietLog(), Firewall: n})
			if err != nil {
				t.Fatal(err)
			}
			if err := g.SetLimits(tc.limits); err != nil {
				t.Fatal(err)
			}
			if err := g.SetAllowList(nil); err != nil { // loopback is not our business here
				t.Fatal(err)
			}
			conn, port := protectedListener(t, g, recv, recvIP, trustedIP)

			// A bounded burst: each source sends `sent` datagrams as fast as
			// it can, the trusted one last.
			counts, elapsed := udpBurst(t, conn, send, recvIP, port, sent, "INVITE sip:100@"+recvIP+" SIP/2.0\r\n\r\n",
				append(append([]string(nil), tc.sources...), trustedIP)...)
			g.readKernel()
			m, err := n.Counters()
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("sent %d from each in %v: received %v; counters %v", sent, elapsed, counts, m)

			if counts[trustedIP] != sent {
				t.Errorf("trusted source: %d of %d arrived", counts[trustedIP], sent)
			}
			// The burst, plus the rate over the time the sending took
			// (bounded from the measured time, not assumed).
			most := tc.burst + int(float64(tc.rate)*elapsed.Seconds()) + 2
			got := 0
			for _, src := range tc.sources {
				got += counts[src]
				if tc.perSource && (counts[src] < tc.burst || counts[src] > most) {
					t.Errorf("untrusted source %s: %d arrived, want %d..%d", src, counts[src], tc.burst, most)
				}
			}
			if !tc.perSource && (got < tc.burst || got > most) {
				t.Errorf("untrusted sources together: %d arrived, want %d..%d", got, tc.burst, most)
			}
			dropped := uint64(sent*len(tc.sources) - got)
			if m[tc.counter] != dropped {
				t.Errorf("%s = %d, want %d", tc.counter, m[tc.counter], dropped)
			}
			if g.KernelDropped() != dropped || g.Refused() != dropped {
				t.Errorf("guard counts %d kernel drops, %d refused; %d were dropped", g.KernelDropped(), g.Refused(), dropped)
			}
		})
	}
}
