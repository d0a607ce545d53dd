package guard

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// NFTNL is the guard's kernel side programmed over netlink (the nf_tables
// API) with github.com/google/nftables: the same table "inet hushbox",
// sets, counters and rules as NFT writes with the nft binary, from the
// same Ruleset, but with no nft and no libc on the machine (the SD image
// holds a static hushbox and busybox only). Each change is one netlink
// batch: one transaction, as `nft -f` makes.
type NFTNL struct {
	mu    sync.Mutex
	netns int // fd of the network namespace; 0: the process's own
	table *nftables.Table
	sets  map[string]*nftables.Set
	input *nftables.Chain
	udp   *nftables.Chain
	tcp   *nftables.Chain
}

// NFTNLOptions set up an NFTNL; the zero value is the daemon's.
type NFTNLOptions struct {
	// NetNS is an open file descriptor of the network namespace to program
	// (tests make one); 0 means the process's own. The caller keeps it
	// open while the NFTNL is in use.
	NetNS int
	// Table names the table; empty means "hushbox".
	Table string
}

// nlBatchElements bounds the elements of one set change in one netlink
// batch: the batch goes out in one sendmsg, which the socket's send
// buffer (about 200 KiB) bounds; 512 elements written three times (see
// refreshElements) take some 60 KiB.
const nlBatchElements = 512

// NewNFTNL makes the table afresh over netlink when the process may
// (CAP_NET_ADMIN) and the kernel has nf_tables with what the limits need
// (limit, ct, objref, dynamic sets): it programs a full trial ruleset in
// the first transaction, so a kernel that lacks a piece fails here, not
// when the guard first protects its ports. Otherwise it returns an error
// (ErrNoFirewall when the process may not), and the caller tries the nft
// binary or goes on in userspace.
func NewNFTNL(o NFTNLOptions) (*NFTNL, error) {
	if !hasNetAdmin() {
		return nil, fmt.Errorf("%w: no CAP_NET_ADMIN", ErrNoFirewall)
	}
	name := o.Table
	if name == "" {
		name = nftTable
	}
	n := &NFTNL{netns: o.NetNS, table: &nftables.Table{Name: name, Family: nftables.TableFamilyINet}}
	n.sets = map[string]*nftables.Set{}
	c, err := n.conn()
	if err != nil {
		return nil, err
	}
	// "add" is idempotent; the delete empties what a run that did not stop
	// cleanly left (the store's bans are programmed again after this).
	c.AddTable(n.table)
	c.DelTable(n.table)
	c.AddTable(n.table)
	for _, name := range kernelCounters {
		c.AddObj(&nftables.CounterObj{Table: n.table, Name: name})
	}
	for _, v := range []string{"4", "6"} {
		typ := nftables.TypeIPAddr
		if v == "6" {
			typ = nftables.TypeIP6Addr
		}
		for _, s := range []*nftables.Set{
			{Name: "banned" + v, HasTimeout: true},
			{Name: "allow" + v, Interval: true, AutoMerge: true},
			{Name: "trusted" + v, HasTimeout: true, Size: trustedSize},
			{Name: "meter_udp" + v, Dynamic: true, HasTimeout: true, Timeout: time.Minute, Size: meterSize},
			{Name: "meter_tcp" + v, Dynamic: true, HasTimeout: true, Timeout: time.Minute, Size: meterSize},
		} {
			s.Table, s.KeyType, s.KeyByteOrder = n.table, typ, binaryutil.BigEndian
			if err := c.AddSet(s, nil); err != nil {
				return nil, fmt.Errorf("nftables set %s: %w", s.Name, err)
			}
			n.sets[s.Name] = s
		}
	}
	n.input = c.AddChain(&nftables.Chain{Name: "input", Table: n.table, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityRef(-10), Policy: ref(nftables.ChainPolicyAccept)})
	n.udp = c.AddChain(&nftables.Chain{Name: "sip_udp", Table: n.table})
	n.tcp = c.AddChain(&nftables.Chain{Name: "sip_tcp", Table: n.table})
	// The trial: every kind of rule the limits use.
	trial := Ruleset{UDPPorts: []int{9}, TCPPorts: []int{9, 10}, Allow: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")},
		PerSource: 1, PerSourceBurst: 1, Untrusted: 1, UntrustedBurst: 1, ConnPerSource: 1, ConnBurst: 1, ConnUntrusted: 1}
	if err := n.program(c, trial); err != nil {
		return nil, err
	}
	if err := c.Flush(); err != nil {
		return nil, nlError("make table inet "+name, err)
	}
	if err := n.Program(Ruleset{}); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

func ref[T any](v T) *T { return &v }

// conn opens a connection for one batch (a netlink socket per flush: no
// state carries over from a batch that failed).
func (n *NFTNL) conn() (*nftables.Conn, error) {
	var opts []nftables.ConnOption
	if n.netns != 0 {
		opts = append(opts, nftables.WithNetNSFd(n.netns))
	}
	c, err := nftables.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: netlink: %v", ErrNoFirewall, err)
	}
	return c, nil
}

// nlError words a failed batch; a kernel without nf_tables (no netlink
// family, or the subsystem missing) is ErrNoFirewall.
func nlError(what string, err error) error {
	if errors.Is(err, unix.EPROTONOSUPPORT) || errors.Is(err, unix.EAFNOSUPPORT) {
		return fmt.Errorf("%w: %s: no nf_tables in this kernel (%v)", ErrNoFirewall, what, err)
	}
	return fmt.Errorf("nftables netlink: %s: %w", what, err)
}

// Backend names the way the table is programmed, for the log and the
// status the daemon shows.
func (n *NFTNL) Backend() string { return "netlink" }

// Program puts r in force in one transaction (never a moment without
// rules): chains and the allow sets are emptied and filled again, the
// meters start afresh; bans and trust are kept.
func (n *NFTNL) Program(r Ruleset) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	c, err := n.conn()
	if err != nil {
		return err
	}
	if err := n.program(c, r); err != nil {
		return err
	}
	if err := c.Flush(); err != nil {
		return nlError("program the SIP limits", err)
	}
	return nil
}

// program queues r on c: the netlink form of Ruleset.Script, rule for
// rule in the same order (the two listings are compared by a test).
func (n *NFTNL) program(c *nftables.Conn, r Ruleset) error {
	for _, ch := range []*nftables.Chain{n.input, n.udp, n.tcp} {
		c.FlushChain(ch)
	}
	for _, s := range []string{"allow4", "allow6", "meter_udp4", "meter_udp6", "meter_tcp4", "meter_tcp6"} {
		c.FlushSet(n.sets[s])
	}
	a4, a6 := allowIntervals(r.Allow)
	for i, es := range [][]nftables.SetElement{a4, a6} {
		set := []string{"allow4", "allow6"}[i]
		if len(es) > 0 {
			if err := c.SetAddElements(n.sets[set], es); err != nil {
				return fmt.Errorf("nftables %s: %w", set, err)
			}
		}
	}
	add := func(ch *nftables.Chain, e ...expr.Any) {
		c.AddRule(&nftables.Rule{Table: n.table, Chain: ch, Exprs: e})
	}
	add(n.input, n.lookup(saddr4(), "banned4", counted(CounterBanned, expr.VerdictDrop))...)
	add(n.input, n.lookup(saddr6(), "banned6", counted(CounterBanned, expr.VerdictDrop))...)
	if e, err := n.dport(c, unix.IPPROTO_UDP, r.UDPPorts); err != nil {
		return err
	} else if e != nil {
		add(n.input, append(e, &expr.Verdict{Kind: expr.VerdictJump, Chain: n.udp.Name})...)
	}
	if e, err := n.dport(c, unix.IPPROTO_TCP, r.TCPPorts); err != nil {
		return err
	} else if e != nil {
		add(n.input, append(append(e, ctStateNew()...), &expr.Verdict{Kind: expr.VerdictJump, Chain: n.tcp.Name})...)
	}
	n.limitChain(add, n.udp, "udp", rate{r.PerSource, r.PerSourceBurst}, rate{r.Untrusted, r.UntrustedBurst},
		CounterSourceDrops, CounterGlobalDrops)
	n.limitChain(add, n.tcp, "tcp", rate{r.ConnPerSource, r.ConnBurst}, rate{r.ConnUntrusted, r.ConnUntrusted},
		CounterConnSource, CounterConnUntrusts)
	return nil
}

// limitChain fills one of the SIP chains as Ruleset.limitChain does.
func (n *NFTNL) limitChain(add func(*nftables.Chain, ...expr.Any), ch *nftables.Chain, proto string, src, all rate, srcCounter, allCounter string) {
	accept := []expr.Any{&expr.Verdict{Kind: expr.VerdictAccept}}
	add(ch, n.lookup(saddr4(), "allow4", accept)...)
	add(ch, n.lookup(saddr6(), "allow6", accept)...)
	add(ch, n.lookup(saddr4(), "trusted4", accept)...)
	add(ch, n.lookup(saddr6(), "trusted6", accept)...)
	if src.perSecond > 0 {
		add(ch, append(append(saddr4(), n.meter("meter_"+proto+"4", src)), counted(srcCounter, expr.VerdictDrop)...)...)
		prefix64 := append(append([]byte(nil), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), make([]byte, 8)...)
		add(ch, append(append(saddr6(),
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 16, Mask: prefix64, Xor: make([]byte, 16)},
			n.meter("meter_"+proto+"6", src)), counted(srcCounter, expr.VerdictDrop)...)...)
	}
	if all.perSecond > 0 {
		add(ch, append([]expr.Any{all.expr()}, counted(allCounter, expr.VerdictDrop)...)...)
	}
}

// expr is the limit statement "limit rate over N/second burst B packets".
func (r rate) expr() *expr.Limit {
	return &expr.Limit{Type: expr.LimitTypePkts, Rate: uint64(r.perSecond), Over: true, Unit: expr.LimitTimeSecond,
		Burst: uint32(max(1, r.burst))}
}

// meter is "update @set { key limit rate over ... }" on register 1.
func (n *NFTNL) meter(set string, r rate) *expr.Dynset {
	s := n.sets[set]
	return &expr.Dynset{SrcRegKey: 1, SetName: s.Name, SetID: s.ID, Operation: unix.NFT_DYNSET_OP_UPDATE,
		Exprs: []expr.Any{r.expr()}}
}

// lookup is "<key> @set" followed by then.
func (n *NFTNL) lookup(key []expr.Any, set string, then []expr.Any) []expr.Any {
	s := n.sets[set]
	return append(append(key, &expr.Lookup{SourceRegister: 1, SetName: s.Name, SetID: s.ID}), then...)
}

// counted is "counter name NAME" and a verdict.
func counted(counter string, v expr.VerdictKind) []expr.Any {
	return []expr.Any{&expr.Objref{Type: int(nftables.ObjTypeCounter), Name: counter}, &expr.Verdict{Kind: v}}
}

// saddr4 and saddr6 load "ip saddr" / "ip6 saddr" into register 1, after
// the family check nft puts in front of them in an inet table.
func saddr4() []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.NFPROTO_IPV4}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
	}
}

func saddr6() []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.NFPROTO_IPV6}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 8, Len: 16},
	}
}

// dport matches "udp dport P" or "tcp dport { P, Q }" (nil: no valid
// port, no rule); several ports are an anonymous set, as nft makes.
func (n *NFTNL) dport(c *nftables.Conn, proto byte, ports []int) ([]expr.Any, error) {
	ps := validPorts(ports)
	if len(ps) == 0 {
		return nil, nil
	}
	e := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
	}
	if len(ps) == 1 {
		return append(e, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(uint16(ps[0]))}), nil
	}
	s := &nftables.Set{Table: n.table, Anonymous: true, Constant: true, KeyType: nftables.TypeInetService}
	es := make([]nftables.SetElement, len(ps))
	for i, p := range ps {
		es[i].Key = binaryutil.BigEndian.PutUint16(uint16(p))
	}
	if err := c.AddSet(s, es); err != nil {
		return nil, fmt.Errorf("nftables port set: %w", err)
	}
	return append(e, &expr.Lookup{SourceRegister: 1, SetName: s.Name, SetID: s.ID}), nil
}

// ctStateNew is "ct state new".
func ctStateNew() []expr.Any {
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(expr.CtStateBitNEW), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
	}
}

// allowIntervals turns the allow-list into interval-set elements per
// family: overlapping and adjacent prefixes merged (what nft's auto-merge
// does before it writes them; the kernel refuses overlaps), each range a
// start element and an end element one past its last address (none when
// the range reaches the end of the address space).
func allowIntervals(allow []netip.Prefix) (v4, v6 []nftables.SetElement) {
	var p4, p6 []netip.Prefix
	for _, p := range allow {
		p = p.Masked()
		switch {
		case p.Addr().Is4():
			p4 = append(p4, p)
		case p.Addr().Is6() && !p.Addr().Is4In6():
			p6 = append(p6, p)
		}
	}
	return intervalElements(p4), intervalElements(p6)
}

func intervalElements(ps []netip.Prefix) []nftables.SetElement {
	var es []nftables.SetElement
	for _, r := range mergeRanges(ps) {
		es = append(es, nftables.SetElement{Key: r.first.AsSlice()})
		if end := r.last.Next(); end.IsValid() {
			es = append(es, nftables.SetElement{Key: end.AsSlice(), IntervalEnd: true})
		}
	}
	return es
}

// Trust adds the entries to the trusted sets, in as few transactions as
// the socket takes (one for a usual batch); an entry already there gets
// its new timeout.
func (n *NFTNL) Trust(es []TrustEntry) error {
	v4, v6 := byFamily(es)
	n.mu.Lock()
	defer n.mu.Unlock()
	for len(v4)+len(v6) > 0 {
		c, err := n.conn()
		if err != nil {
			return err
		}
		room := nlBatchElements
		for _, b := range []struct {
			set string
			es  *[]TrustEntry
		}{{"trusted4", &v4}, {"trusted6", &v6}} {
			k := min(room, len(*b.es))
			if k == 0 {
				continue
			}
			if err := n.refresh(c, b.set, (*b.es)[:k]); err != nil {
				return err
			}
			*b.es, room = (*b.es)[k:], room-k
		}
		if err := c.Flush(); err != nil {
			return nlError("trust sources", err)
		}
	}
	return nil
}

// refresh queues es into set with their timeouts: add (so the delete
// finds them), delete, add again, since adding an element that is there
// keeps its old timeout on the kernels the boards run.
func (n *NFTNL) refresh(c *nftables.Conn, set string, es []TrustEntry) error {
	s := n.sets[set]
	with := make([]nftables.SetElement, len(es))
	bare := make([]nftables.SetElement, len(es))
	for i, e := range es {
		bare[i].Key = e.Addr.AsSlice()
		with[i] = nftables.SetElement{Key: bare[i].Key, Timeout: time.Duration(max(1, int64(e.TTL/time.Second))) * time.Second}
	}
	for _, step := range []func() error{
		func() error { return c.SetAddElements(s, with) },
		func() error { return c.SetDeleteElements(s, bare) },
		func() error { return c.SetAddElements(s, with) },
	} {
		if err := step(); err != nil {
			return fmt.Errorf("nftables %s: %w", set, err)
		}
	}
	return nil
}

func bannedSet(a netip.Addr) string { return setOf(a) }

// Ban adds a to the ban set for d (whole seconds, at least one); a ban
// already there gets the new length.
func (n *NFTNL) Ban(a netip.Addr, d time.Duration) error {
	a = a.Unmap()
	if !a.IsValid() {
		return fmt.Errorf("ban: invalid address")
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	c, err := n.conn()
	if err != nil {
		return err
	}
	if err := n.refresh(c, bannedSet(a), []TrustEntry{{Addr: a, TTL: d}}); err != nil {
		return err
	}
	if err := c.Flush(); err != nil {
		return nlError("ban "+a.String(), err)
	}
	return nil
}

// Unban removes a from its set; an element that already timed out is fine.
func (n *NFTNL) Unban(a netip.Addr) error {
	a = a.Unmap()
	if !a.IsValid() {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	c, err := n.conn()
	if err != nil {
		return err
	}
	if err := c.SetDeleteElements(n.sets[bannedSet(a)], []nftables.SetElement{{Key: a.AsSlice()}}); err != nil {
		return fmt.Errorf("nftables unban: %w", err)
	}
	if err := c.Flush(); err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return nlError("unban "+a.String(), err)
	}
	return nil
}

// Counters reads the table's named counters (packets): one netlink dump.
func (n *NFTNL) Counters() (map[string]uint64, error) {
	c, err := n.conn()
	if err != nil {
		return nil, err
	}
	objs, err := c.GetObjects(n.table)
	if err != nil {
		return nil, nlError("read counters", err)
	}
	m := map[string]uint64{}
	for _, o := range objs {
		switch o := o.(type) {
		case *nftables.CounterObj:
			m[o.Name] = o.Packets
		case *nftables.NamedObj:
			if ctr, ok := o.Obj.(*expr.Counter); ok {
				m[o.Name] = ctr.Packets
			}
		}
	}
	return m, nil
}

// Close deletes the table: bans live on in the store and come back at the
// next start.
func (n *NFTNL) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	c, err := n.conn()
	if err != nil {
		return err
	}
	c.DelTable(n.table)
	if err := c.Flush(); err != nil && !errors.Is(err, syscall.ENOENT) {
		return nlError("delete table", err)
	}
	return nil
}
