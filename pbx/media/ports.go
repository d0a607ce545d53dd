package media

// portPool hands out port pairs from the relay's range. Allocation walks
// the range from just after the last pair handed out (next fit), so a
// freed pair is reused as late as possible and stray packets of an ended
// call do not land in a new one.
//
// portPool is not safe for concurrent use; the Relay guards it.
type portPool struct {
	base  int    // first RTP port (even)
	used  []bool // per pair
	next  int    // pair index where the next search starts
	inUse int
}

func newPortPool(base, pairs int) *portPool {
	return &portPool{base: base, used: make([]bool, pairs)}
}

// alloc finds a free pair for which try (given the RTP port) succeeds,
// marks it used and returns its RTP port. try fails when the ports are
// taken by another process; such pairs are skipped. ok is false when no
// pair could be had.
func (p *portPool) alloc(try func(rtpPort int) error) (port int, ok bool) {
	n := len(p.used)
	for k := range n {
		i := (p.next + k) % n
		if p.used[i] {
			continue
		}
		port := p.base + 2*i
		if try(port) != nil {
			continue
		}
		p.used[i] = true
		p.inUse++
		p.next = (i + 1) % n
		return port, true
	}
	return 0, false
}

// free returns a pair, given its RTP port. Unknown or free ports are ignored.
func (p *portPool) free(rtpPort int) {
	i := (rtpPort - p.base) / 2
	if rtpPort < p.base || (rtpPort-p.base)%2 != 0 || i >= len(p.used) || !p.used[i] {
		return
	}
	p.used[i] = false
	p.inUse--
}

// available is the number of pairs not handed out.
func (p *portPool) available() int { return len(p.used) - p.inUse }
