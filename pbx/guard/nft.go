package guard

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
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

// NFT is the guard's kernel side, the table "inet hushbox": ban sets
// with timeouts, an allow-list, a set of trusted sources and, for the SIP
// ports, per-source meters and a cap on untrusted traffic (Ruleset). It
// runs `nft -f -` (one exec per change, trust additions batched by the
// guard), which needs no netlink code in the binary.
type NFT struct {
	cmd      []string // nft, or a prefix such as ip netns exec NAME nft
	table    string
	counters nftSession // the counter reads (nftsession.go)
}

// ErrNoFirewall says the kernel firewall cannot be used here (no
// CAP_NET_ADMIN, or no nft): the guard works in userspace, as designed.
var ErrNoFirewall = errors.New("kernel firewall not available")

// nftTable is the table hushbox owns; nothing else in the ruleset is touched.
const nftTable = "hushbox"

// NFTOptions set up an NFT; the zero value is the daemon's.
type NFTOptions struct {
	// Command runs nft: empty means the nft found in PATH; tests give a
	// prefix such as {"ip", "netns", "exec", NAME, "nft"} to work inside a
	// namespace they made.
	Command []string
	// Table names the table; empty means "hushbox".
	Table string
}

// NewNFT sets up the table when the process may (CAP_NET_ADMIN) and nft is
// installed; otherwise it returns an error saying why not (ErrNoFirewall
// when it is simply not available), and the caller goes on in userspace.
// The table holds only the ban rules until the guard programs its limits
// (Guard.ProtectSIP).
func NewNFT(o NFTOptions) (*NFT, error) {
	if !hasNetAdmin() {
		return nil, fmt.Errorf("%w: no CAP_NET_ADMIN", ErrNoFirewall)
	}
	n := &NFT{cmd: o.Command, table: o.Table}
	if n.table == "" {
		n.table = nftTable
	}
	if len(n.cmd) == 0 {
		path, err := exec.LookPath("nft")
		if err != nil {
			return nil, fmt.Errorf("%w: nft not installed (%v)", ErrNoFirewall, err)
		}
		n.cmd = []string{path}
	}
	// "add" is idempotent; the flushes empty what a run that did not stop
	// cleanly left (the store's bans are programmed again after this).
	if err := n.run(baseScript(n.table) + Ruleset{}.Script(n.table)); err != nil {
		return nil, err
	}
	return n, nil
}

func (n *NFT) run(script string) error {
	_, err := n.exec(script, "-f", "-")
	return err
}

func (n *NFT) exec(stdin string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, n.cmd[0], append(append([]string(nil), n.cmd[1:]...), args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("nft: %w: %s", err, strings.TrimSpace(errOut.String()+out.String()))
	}
	return out.Bytes(), nil
}

func setOf(a netip.Addr) string {
	if a.Is4() {
		return "banned4"
	}
	return "banned6"
}

// Ban adds a to the set for d (whole seconds, at least one); a ban already
// there gets the new length.
func (n *NFT) Ban(a netip.Addr, d time.Duration) error {
	a = a.Unmap()
	return n.run(refresh(n.table, setOf(a), []TrustEntry{{Addr: a, TTL: d}}))
}

// Unban removes a from its set; an element that already timed out is fine.
func (n *NFT) Unban(a netip.Addr) error {
	err := n.run(fmt.Sprintf("delete element inet %s %s { %s }\n", n.table, setOf(a.Unmap()), a.Unmap()))
	if err != nil && strings.Contains(err.Error(), "No such file") {
		return nil
	}
	return err
}

// Program puts r in force (one transaction: never a moment without rules).
func (n *NFT) Program(r Ruleset) error { return n.run(r.Script(n.table)) }

// Trust adds the entries to the trusted sets in one transaction; an entry
// already there gets its new timeout.
func (n *NFT) Trust(es []TrustEntry) error {
	v4, v6 := byFamily(es)
	script := refresh(n.table, "trusted4", v4) + refresh(n.table, "trusted6", v6)
	if script == "" {
		return nil
	}
	return n.run(script)
}

// refresh is the nft text that sets es in set with their timeouts: add
// (so the delete finds them), delete, add again, since "add element" keeps
// the timeout of an element already there.
func refresh(table, set string, es []TrustEntry) string {
	if len(es) == 0 {
		return ""
	}
	with := make([]string, len(es))
	bare := make([]string, len(es))
	for i, e := range es {
		bare[i] = e.Addr.String()
		with[i] = fmt.Sprintf("%s timeout %ds", bare[i], max(1, int64(e.TTL/time.Second)))
	}
	w, b := strings.Join(with, ", "), strings.Join(bare, ", ")
	return fmt.Sprintf("add element inet %[1]s %[2]s { %[3]s }\ndelete element inet %[1]s %[2]s { %[4]s }\nadd element inet %[1]s %[2]s { %[3]s }\n",
		table, set, w, b)
}

// Counters reads the table's named counters (packets): through one
// long-lived nft (nftsession.go), else one nft exec.
func (n *NFT) Counters() (map[string]uint64, error) {
	out, err := n.counters.list(n.cmd, "list counters table inet "+n.table)
	if err != nil {
		out, err = n.exec("", "-j", "list", "counters", "table", "inet", n.table)
	}
	if err != nil {
		return nil, err
	}
	return parseCounters(out)
}

// parseCounters reads `nft -j list counters` output: name to packets.
func parseCounters(b []byte) (map[string]uint64, error) {
	var doc struct {
		Nftables []struct {
			Counter *struct {
				Name    string `json:"name"`
				Packets uint64 `json:"packets"`
			} `json:"counter"`
		} `json:"nftables"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("nft counters: %w", err)
	}
	m := map[string]uint64{}
	for _, o := range doc.Nftables {
		if o.Counter != nil {
			m[o.Counter.Name] = o.Counter.Packets
		}
	}
	return m, nil
}

// Close deletes the table: bans live on in the store and come back at the
// next start.
func (n *NFT) Close() error {
	n.counters.stop()
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
