package sipfast

import (
	"math/rand/v2"
	"net/netip"
	"strconv"
)

// AppendResponseStart appends to b the status line of a response to m and
// the headers copied from it as RFC 3261 8.2.6.2 asks and sipgo does: every
// Via (the top one with rport filled in and received added when the phone
// asked for rport, RFC 3581), From, To (with a tag of ours when it had
// none), Call-ID and CSeq, then "Content-Length: 0". The caller appends any
// further headers with AppendHeader and ends the message with AppendEnd.
// src is where the request came from.
func AppendResponseStart(b []byte, m *Register, code int, reason string, src netip.AddrPort) []byte {
	b = append(b, "SIP/2.0 "...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ' ')
	b = append(b, reason...)
	b = append(b, "\r\n"...)
	for i := 0; i < m.NVias; i++ {
		b = append(b, "Via: "...)
		if i == 0 && m.TopRport {
			b = appendRport(b, m.Vias[0], src)
		} else {
			b = append(b, m.Vias[i]...)
		}
		b = append(b, "\r\n"...)
	}
	b = appendHeaderBytes(b, "From", m.From)
	b = append(b, "To: "...)
	b = append(b, m.To...)
	if !m.ToTag {
		b = append(b, ";tag="...)
		b = appendTag(b)
	}
	b = append(b, "\r\n"...)
	b = appendHeaderBytes(b, "Call-ID", m.CallID)
	b = appendHeaderBytes(b, "CSeq", m.CSeq)
	return append(b, "Content-Length: 0\r\n"...)
}

// AppendHeader appends "name: value" and the line end.
func AppendHeader(b []byte, name, value string) []byte {
	b = append(b, name...)
	b = append(b, ": "...)
	b = append(b, value...)
	return append(b, "\r\n"...)
}

// AppendEnd ends the header section (there is never a body).
func AppendEnd(b []byte) []byte { return append(b, "\r\n"...) }

func appendHeaderBytes(b []byte, name string, value []byte) []byte {
	b = append(b, name...)
	b = append(b, ": "...)
	b = append(b, value...)
	return append(b, "\r\n"...)
}

// appendRport appends the Via value v with its empty rport parameter given
// src's port and received=src's address added at the end.
func appendRport(b, v []byte, src netip.AddrPort) []byte {
	for i := 0; i < len(v); i++ {
		if v[i] != ';' {
			continue
		}
		end := i + 1
		for end < len(v) && v[end] != ';' {
			end++
		}
		if string(v[i+1:end]) == "rport" {
			b = append(b, v[:end]...)
			b = append(b, '=')
			b = strconv.AppendUint(b, uint64(src.Port()), 10)
			b = append(b, v[end:]...)
			b = append(b, ";received="...)
			return src.Addr().Unmap().AppendTo(b)
		}
	}
	return append(b, v...) // Parse saw the parameter: not reached
}

// appendTag appends a random To tag: it need only be unique, not secret.
func appendTag(b []byte) []byte {
	const hexDigits = "0123456789abcdef"
	x := rand.Uint64()
	for range 16 {
		b = append(b, hexDigits[x&15])
		x >>= 4
	}
	return b
}
