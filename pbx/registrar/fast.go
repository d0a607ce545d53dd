package registrar

import (
	"context"
	"log/slog"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"hushbox/pbx/auth"
	"hushbox/pbx/sipfast"
	"hushbox/pbx/sipmsg"
)

// AnswerFast answers a UDP REGISTER datagram without building sipgo
// messages: pbx/sipfast reads it and the response is appended to out. It
// makes the same decisions as Handle (after sipmsg.Validate), through the
// same authenticator, directory and location service; only the parsing
// and the response building differ.
//
// ok is false when the datagram is not one the fast path reads exactly as
// sipgo would (see pbx/sipfast): then nothing was done, no state changed,
// and the caller must parse it with sipgo and call Handle. ok with nothing
// appended to out: a retransmission of a request still being answered, to
// drop (retrans.go).
func (r *Registrar) AnswerFast(data []byte, src netip.AddrPort, out []byte) (res []byte, ok bool) {
	finished := false
	s := scratchPool.Get().(*fastScratch)
	defer scratchPool.Put(s)
	m := &s.msg
	if !m.Parse(data) {
		return out, false
	}
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	srcStr := s.source(src)
	start := len(out)
	var key []byte
	if m.Authorization != nil {
		// A retransmission of an answered REGISTER gets the same answer.
		key = appendKey(s.key[:0], srcStr, m.Branch(), m.CallID, m.CSeq, m.Authorization)
		s.key = key
		res, claim := r.answered.claim(key, r.now(), out)
		if claim != claimProceed {
			return res, true // the answer again, or nothing (the original's is coming)
		}
		// From here on every return finishes the claim.
		defer func() {
			if !finished {
				r.answered.finish(key, nil, r.now())
			}
		}()
		// Contacts are read before the authenticator, which remembers
		// nonce counts: after it, a fall back would count one twice.
		// Without credentials the answer is a challenge: no URI needed.
		// A phone refreshing its registration sends the contact of last
		// time: its parsed URI and key are taken from the binding.
		for i := 0; i < m.NContacts; i++ {
			c := &m.Contacts[i]
			if c.Wildcard {
				continue
			}
			if _, bkey, uri, ok := r.Loc.known(m.ToUser, c.URI); ok {
				s.uris[i], s.keys[i] = uri, bkey
				continue
			}
			s.uris[i] = sip.Uri{}
			if err := sip.ParseUri(string(c.URI), &s.uris[i]); err != nil {
				return out, false
			}
			s.keys[i] = s.uris[i].String()
		}
	}
	shell := s.shell
	shell.SetSource(srcStr)
	shell.RemoveHeader("Authorization")
	if m.Authorization != nil {
		shell.AppendHeader(sip.NewHeader("Authorization", string(m.Authorization)))
	}
	aor := r.Loc.extName(m.ToUser)
	user, outcome := r.auth.Check(shell, false, aor)
	switch outcome {
	case auth.Challenge, auth.Stale:
		ch := r.auth.ChallengeResponse(shell, false, outcome == auth.Stale)
		out = sipfast.AppendResponseStart(out, m, 401, "Unauthorized", src)
		for _, h := range ch.Headers() {
			if sipmsg.Named(h, "WWW-Authenticate") {
				out = sipfast.AppendHeader(out, "WWW-Authenticate", h.Value())
			}
		}
		out = r.appendServer(out)
		return sipfast.AppendEnd(out), true
	case auth.Forbidden:
		r.log.Info("register refused", "aor", aor, "src", srcStr)
		return r.fastRefusal(out, m, src, 403, "Forbidden"), true
	}
	if _, err := r.dir.Extension(user); err != nil {
		return r.fastRefusal(out, m, src, 403, "Forbidden"), true
	}
	out, err := r.applyFast(out, s, src, srcStr, user)
	if err != nil {
		r.log.Info("register rejected", "ext", user, "src", srcStr, "err", err)
	}
	if key != nil {
		r.answered.finish(key, out[start:], r.now())
		finished = true
	}
	return out, true
}

// fastRefusal is a response with nothing but the copied headers and Server.
func (r *Registrar) fastRefusal(out []byte, m *sipfast.Register, src netip.AddrPort, code int, reason string) []byte {
	out = sipfast.AppendResponseStart(out, m, code, reason, src)
	out = r.appendServer(out)
	return sipfast.AppendEnd(out)
}

func (r *Registrar) appendServer(out []byte) []byte {
	if r.signer.Name == "" {
		return out
	}
	return sipfast.AppendHeader(out, "Server", r.signer.Name)
}

// applyFast is apply over a sipfast.Register; the two must stay alike.
func (r *Registrar) applyFast(out []byte, s *fastScratch, src netip.AddrPort, srcStr, ext string) ([]byte, error) {
	m := &s.msg
	now := r.now()
	hdrExpires, hasHdrExpires := m.Expires, m.Expires >= 0
	set, keys, remove, current := s.set[:0], s.setKeys[:0], s.remove[:0], s.current[:0]
	defer func() {
		clear(set)
		clear(keys)
		clear(remove)
		clear(current)
		clear(s.keys[:])
		clear(s.uris[:])
		s.set, s.setKeys, s.remove, s.current = set[:0], keys[:0], remove[:0], current[:0]
	}()
	removeAll := false
	var callID, ua string
	for i := 0; i < m.NContacts; i++ {
		c := &m.Contacts[i]
		if c.Wildcard {
			if m.NContacts != 1 || !hasHdrExpires || hdrExpires != 0 {
				return r.fastRefusal(out, m, src, 400, "Bad Request"), errWildcard
			}
			removeAll = true
			continue
		}
		exp := DefaultExpires
		if hasHdrExpires {
			exp = hdrExpires
		}
		if c.Expires >= 0 {
			exp = c.Expires
		}
		if callID == "" {
			callID, ua = r.Loc.knownStrings(ext, m.CallID, m.UserAgent)
		}
		b := Binding{Extension: ext, Contact: s.uris[i], CallID: callID, CSeq: m.CSeqNum,
			Source: srcStr, Transport: "UDP", UserAgent: ua, Updated: now}
		if exp == 0 {
			remove = append(remove, s.keys[i])
			continue
		}
		if exp < MinExpires {
			out = sipfast.AppendResponseStart(out, m, 423, "Interval Too Brief", src)
			out = r.appendServer(out)
			out = sipfast.AppendHeader(out, "Min-Expires", strconv.Itoa(MinExpires))
			return sipfast.AppendEnd(out), intervalError{MinExpires}
		}
		if exp > MaxExpires {
			exp = MaxExpires
		}
		b.Expires = now.Add(time.Duration(exp) * time.Second)
		set = append(set, b)
		keys = append(keys, s.keys[i])
	}
	if len(set) > MaxContacts {
		return r.fastRefusal(out, m, src, 403, "Too Many Contacts"), errTooMany
	}
	if len(set) == 0 && len(remove) == 0 && !removeAll {
		current = r.Loc.Lookup(ext)
	} else {
		var ok bool
		current, ok = r.Loc.update(ext, set, keys, removeAll, remove, MaxContacts, current)
		if !ok {
			return r.fastRefusal(out, m, src, 500, "Out Of Order Request"), errOutOfOrder
		}
		if r.log.Enabled(context.Background(), slog.LevelInfo) {
			r.log.Info("registered", "ext", ext, "contacts", len(current), "src", srcStr, "transport", "UDP")
		}
	}
	out = sipfast.AppendResponseStart(out, m, 200, "OK", src)
	out = r.appendServer(out)
	for i := range current {
		b := &current[i]
		secs := int(b.Expires.Sub(now).Round(time.Second) / time.Second)
		out = append(out, "Contact: <"...)
		s.w.b = out
		b.Contact.StringWrite(&s.w)
		out = append(s.w.b, ">;expires="...)
		s.w.b = nil
		out = strconv.AppendInt(out, int64(secs), 10)
		out = append(out, "\r\n"...)
	}
	out = append(out, "Date: "...)
	out = now.UTC().AppendFormat(out, "Mon, 02 Jan 2006 15:04:05 GMT")
	out = append(out, "\r\n"...)
	return sipfast.AppendEnd(out), nil
}

// fastScratch is one AnswerFast call's reusable state.
type fastScratch struct {
	msg sipfast.Register
	// shell is a request holding only the Authorization header: what the
	// authenticator reads (credentials, method, source).
	shell   *sip.Request
	uris    [sipfast.MaxContacts]sip.Uri
	keys    [sipfast.MaxContacts]string // the binding keys of uris
	set     []Binding
	setKeys []string
	remove  []string
	current []Binding
	w       appendWriter
	lastSrc netip.AddrPort
	srcStr  string
	key     []byte // the request's retransmission key (retrans.go)
}

var scratchPool = sync.Pool{New: func() any {
	return &fastScratch{shell: sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip"})}
}}

// source returns src as "host:port", reusing the last string for a
// phone that sends from the same address again.
func (s *fastScratch) source(src netip.AddrPort) string {
	if src != s.lastSrc || s.srcStr == "" {
		s.lastSrc, s.srcStr = src, src.String()
	}
	return s.srcStr
}

// appendWriter is an io.StringWriter appending to a byte slice.
type appendWriter struct{ b []byte }

func (w *appendWriter) WriteString(s string) (int, error) {
	w.b = append(w.b, s...)
	return len(s), nil
}

// Errors applyFast logs, as apply does.
var (
	errWildcard   = errorString("wildcard contact without Expires: 0")
	errTooMany    = errorString("too many contacts")
	errOutOfOrder = errorString("CSeq not newer than the binding's")
)

type errorString string

func (e errorString) Error() string { return string(e) }
