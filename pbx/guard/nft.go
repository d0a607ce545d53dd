package guard

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// NFT mirrors bans into the nftables table "inet hushbox": two sets with
// timeouts (IPv4 and IPv6) and an input chain that drops their members.
// It runs `nft -f -`, which is enough for a handful of bans a minute and
// needs no netlink code in the binary.
type NFT struct {
	path  string
	table string
}

// ErrNoFirewall says the kernel firewall cannot be used here (no
// CAP_NET_ADMIN, or no nft): the guard works in userspace, as designed.
var ErrNoFirewall = errors.New("kernel firewall not available")

// nftTable is the table hushbox owns; nothing else in the ruleset is touched.
const nftTable = "hushbox"

// NewNFT sets up the table when the process may (CAP_NET_ADMIN) and nft is
// installed; otherwise it returns an error saying why not (ErrNoFirewall
// when it is simply not available), and the caller goes on in userspace.
func NewNFT() (*NFT, error) {
	if !hasNetAdmin() {
		return nil, fmt.Errorf("%w: no CAP_NET_ADMIN", ErrNoFirewall)
	}
	path, err := exec.LookPath("nft")
	if err != nil {
		return nil, fmt.Errorf("%w: nft not installed (%v)", ErrNoFirewall, err)
	}
	n := &NFT{path: path, table: nftTable}
	// "add" is idempotent; the flush empties sets left by a run that did
	// not stop cleanly (the store's bans are programmed again after this).
	script := fmt.Sprintf(`add table inet %[1]s
add set inet %[1]s banned4 { type ipv4_addr; flags timeout; }
add set inet %[1]s banned6 { type ipv6_addr; flags timeout; }
add chain inet %[1]s input { type filter hook input priority -10; policy accept; }
flush chain inet %[1]s input
flush set inet %[1]s banned4
flush set inet %[1]s banned6
add rule inet %[1]s input ip saddr @banned4 drop
add rule inet %[1]s input ip6 saddr @banned6 drop
`, n.table)
	if err := n.run(script); err != nil {
		return nil, err
	}
	return n, nil
}

func (n *NFT) run(script string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, n.path, "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("nft: %w: %s", err, strings.TrimSpace(out.String()))
	}
	return nil
}

func setOf(a netip.Addr) string {
	if a.Is4() {
		return "banned4"
	}
	return "banned6"
}

// Ban adds a to the set for d (whole seconds, at least one).
func (n *NFT) Ban(a netip.Addr, d time.Duration) error {
	secs := max(1, int64(d/time.Second))
	return n.run(fmt.Sprintf("add element inet %s %s { %s timeout %ds }\n", n.table, setOf(a), a.Unmap(), secs))
}

// Unban removes a from its set; an element that already timed out is fine.
func (n *NFT) Unban(a netip.Addr) error {
	err := n.run(fmt.Sprintf("delete element inet %s %s { %s }\n", n.table, setOf(a), a.Unmap()))
	if err != nil && strings.Contains(err.Error(), "No such file") {
		return nil
	}
	return err
}

// Close deletes the table: bans live on in the store and come back at the
// next start.
func (n *NFT) Close() error {
	return n.run(fmt.Sprintf("delete table inet %s\n", n.table))
}

// capNetAdmin is CAP_NET_ADMIN's bit in the capability sets.
const capNetAdmin = 12

// hasNetAdmin reads the effective capabilities from /proc/self/status.
func hasNetAdmin() bool {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return false
	}
	defer f.Close()
	return capEffHas(f, capNetAdmin)
}

// capEffHas reports whether the CapEff line of a status file has bit set.
func capEffHas(r io.Reader, bit uint) bool {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), "CapEff:")
		if !ok {
			continue
		}
		caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		return err == nil && caps&(1<<bit) != 0
	}
	return false
}
