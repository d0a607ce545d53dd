package guard

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeFirewall records what the guard asks of the kernel.
type fakeFirewall struct {
	mu     sync.Mutex
	ops    []string
	fail   bool
	closed bool
}

func (f *fakeFirewall) Ban(a netip.Addr, d time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ops = append(f.ops, "ban "+a.String()+" "+d.String())
	if f.fail {
		return errors.New("operation not permitted")
	}
	return nil
}

func (f *fakeFirewall) Unban(a netip.Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ops = append(f.ops, "unban "+a.String())
	return nil
}

func (f *fakeFirewall) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

// Bans and unbans reach the firewall from the Run loop; at the end Run
// saves the bans and removes the firewall's table.
func TestFirewallMirror(t *testing.T) {
	c := newClock()
	fw := &fakeFirewall{}
	st := newMemStore()
	g, err := New(Config{Now: c.Now, Log: quietLog(), Firewall: fw, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	for range g.Limits().AuthFailures {
		g.AuthFailure(stranger)
	}
	if err := g.Ban(stranger2, time.Hour, "manual"); err != nil {
		t.Fatal(err)
	}
	if err := g.Unban(stranger2); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	g.Run(ctx, Probes{})
	want := []string{"ban 203.0.113.7 10m0s", "ban 198.51.100.9 1h0m0s", "unban 198.51.100.9"}
	if strings.Join(fw.ops, "|") != strings.Join(want, "|") || !fw.closed {
		t.Fatalf("firewall saw %q (closed %v), want %q", fw.ops, fw.closed, want)
	}
	if v := st.m[SettingBans]; !strings.Contains(v, "203.0.113.7") || strings.Contains(v, "198.51.100.9") {
		t.Fatalf("saved bans %s", v)
	}
}

// A firewall that fails once is not asked again: the guard goes on in
// userspace, and the ban still holds.
func TestFirewallFailureDegrades(t *testing.T) {
	c := newClock()
	fw := &fakeFirewall{fail: true}
	g, err := New(Config{Now: c.Now, Log: quietLog(), Firewall: fw})
	if err != nil {
		t.Fatal(err)
	}
	_ = g.Ban(stranger, time.Hour, "x")
	_ = g.Ban(stranger2, time.Hour, "y")
	g.drainFirewall()
	if len(fw.ops) != 1 {
		t.Fatalf("firewall asked %d times after failing: %q", len(fw.ops), fw.ops)
	}
	if g.Check(stranger) != Banned || g.Check(stranger2) != Banned {
		t.Fatal("userspace bans not enforced after the firewall failed")
	}
}

// NFT speaks nft's language: a fake nft on PATH records its input.
func TestNFTScripts(t *testing.T) {
	if !hasNetAdmin() {
		t.Skip("NewNFT needs CAP_NET_ADMIN")
	}
	dir := t.TempDir()
	log := filepath.Join(dir, "nft.log")
	script := "#!/bin/sh\necho \"args: $*\" >> " + log + "\n/bin/cat >> " + log + "\n"
	if err := os.WriteFile(filepath.Join(dir, "nft"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	n, err := NewNFT(NFTOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Ban(netip.MustParseAddr("203.0.113.7"), 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := n.Ban(netip.MustParseAddr("2001:db8::1"), 1500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := n.Unban(netip.MustParseAddr("203.0.113.7")); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	for _, want := range []string{
		"args: -f -",
		"add table inet hushbox",
		"add set inet hushbox banned4 { type ipv4_addr; flags timeout; }",
		"type filter hook input priority -10; policy accept;",
		"add rule inet hushbox input ip saddr @banned4 counter name banned_drops drop",
		"add rule inet hushbox input ip6 saddr @banned6 counter name banned_drops drop",
		"add element inet hushbox banned4 { 203.0.113.7 timeout 600s }",
		"add element inet hushbox banned6 { 2001:db8::1 timeout 1s }",
		"delete element inet hushbox banned4 { 203.0.113.7 }",
		"delete table inet hushbox",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("nft input lacks %q:\n%s", want, got)
		}
	}
	// A failing nft is an error the caller sees (and degrades on).
	if err := os.WriteFile(filepath.Join(dir, "nft"), []byte("#!/bin/sh\necho 'Error: Could not process rule: Operation not permitted' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := NewNFT(NFTOptions{}); err == nil || !strings.Contains(err.Error(), "Operation not permitted") {
		t.Fatalf("failing nft: %v", err)
	}
}
