package sipmsg

import "github.com/emiago/sipgo/sip"

// headerLister is what parsed sipgo messages offer: their headers in order.
type headerLister interface {
	Headers() []sip.Header
}

// Named reports whether h's name is name, ignoring ASCII case: the same
// match sipgo's GetHeader(s) make, without the lower-case copy of every
// header name they allocate for names outside their short list
// (Authorization, Expires, User-Agent, ...) on each call.
func Named(h sip.Header, name string) bool {
	n := h.Name()
	if len(n) != len(name) {
		return false
	}
	for i := 0; i < len(n); i++ {
		a, b := n[i], name[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}

// FirstHeader returns m's first header called name (any ASCII case), or
// nil; m.GetHeader(name) without allocation for a parsed message.
func FirstHeader(m headerGetter, name string) sip.Header {
	l, ok := m.(headerLister)
	if !ok {
		return m.GetHeader(name)
	}
	for _, h := range l.Headers() {
		if Named(h, name) {
			return h
		}
	}
	return nil
}

// EachHeader calls fn for every header of m called name (any ASCII case),
// in order, until fn returns false; m.GetHeaders(name) without the
// allocations for a parsed message.
func EachHeader(m headerGetter, name string, fn func(sip.Header) bool) {
	l, ok := m.(headerLister)
	if !ok {
		for _, h := range m.GetHeaders(name) {
			if !fn(h) {
				return
			}
		}
		return
	}
	for _, h := range l.Headers() {
		if Named(h, name) && !fn(h) {
			return
		}
	}
}

// CountHeaders returns how many headers of m are called name.
func CountHeaders(m headerGetter, name string) int {
	n := 0
	EachHeader(m, name, func(sip.Header) bool { n++; return true })
	return n
}
