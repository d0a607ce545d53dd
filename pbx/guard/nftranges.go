package guard

import (
	"net/netip"
	"slices"
)

// addrRange is the addresses first..last, both included, of one family.
type addrRange struct{ first, last netip.Addr }

// lastAddr is the highest address in p (p masked).
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// mergeRanges sorts the prefixes (all of one family) into ranges and
// merges those that overlap or touch, as nft's auto-merge does: the
// kernel's interval sets refuse overlapping elements, and the listing of
// the set must be the one nft would make.
func mergeRanges(ps []netip.Prefix) []addrRange {
	rs := make([]addrRange, 0, len(ps))
	for _, p := range ps {
		if p.IsValid() {
			rs = append(rs, addrRange{p.Masked().Addr(), lastAddr(p)})
		}
	}
	slices.SortFunc(rs, func(a, b addrRange) int { return a.first.Compare(b.first) })
	var out []addrRange
	for _, r := range rs {
		if k := len(out) - 1; k >= 0 {
			cur := &out[k]
			next := cur.last.Next() // invalid: cur reaches the end of the space
			if !next.IsValid() || r.first.Compare(next) <= 0 {
				if r.last.Compare(cur.last) > 0 {
					cur.last = r.last
				}
				continue
			}
		}
		out = append(out, r)
	}
	return out
}

// validPorts is the ports a Ruleset limits, as portSet writes them: valid,
// sorted, without repeats.
func validPorts(ports []int) []int {
	var ok []int
	for _, pt := range ports {
		if pt > 0 && pt < 65536 && !slices.Contains(ok, pt) {
			ok = append(ok, pt)
		}
	}
	slices.Sort(ok)
	return ok
}
