package sipmsg

import "bytes"

// Normalize prepares a raw datagram for the parser: it joins folded header
// lines and, in the address and Via headers, removes the optional
// whitespace RFC 3261 allows around ";" and "=" of parameters ("tag = x"),
// which the parser would otherwise keep as part of the name or value.
func Normalize(data []byte) []byte {
	data = Unfold(data)
	end := bytes.Index(data, []byte("\r\n\r\n"))
	if end < 0 {
		end = len(data)
	}
	if !looseParams(data[:end]) {
		return data // the common case: nothing to tighten, nothing allocated
	}
	lines := bytes.Split(data[:end], []byte("\r\n"))
	changed := false
	for i, l := range lines {
		if i == 0 {
			continue
		}
		colon := bytes.IndexByte(l, ':')
		if colon < 0 || !paramHeaders[string(bytes.ToLower(bytes.TrimSpace(l[:colon])))] {
			continue
		}
		if n := tightenParams(l[colon+1:]); n != nil {
			lines[i] = append(append([]byte{}, l[:colon+1]...), n...)
			changed = true
		}
	}
	if !changed {
		return data
	}
	out := bytes.Join(lines, []byte("\r\n"))
	return append(out, data[end:]...)
}

// looseParams is a cheap test for whitespace next to ';' or '=' anywhere
// in the header section; only then is the line-by-line work done.
func looseParams(head []byte) bool {
	for _, p := range [][]byte{[]byte(" ;"), []byte("; "), []byte(" ="), []byte("= "), []byte("\t;"), []byte(";\t"), []byte("\t="), []byte("=\t")} {
		if bytes.Contains(head, p) {
			return true
		}
	}
	return false
}

// paramHeaders are the headers whose ";name=value" parameters the
// transaction and dialog layers depend on (tags, branch, expires).
var paramHeaders = map[string]bool{
	"from": true, "f": true, "to": true, "t": true, "via": true, "v": true,
	"contact": true, "m": true, "route": true, "record-route": true,
}

// tightenParams drops whitespace next to ';' and '=' outside quoted strings
// and <...> URIs; nil when there is none to drop.
func tightenParams(v []byte) []byte {
	out := make([]byte, 0, len(v))
	quoted, angle, changed := false, false, false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case quoted:
			if c == '\\' && i+1 < len(v) {
				out = append(out, c, v[i+1])
				i++
				continue
			}
			if c == '"' {
				quoted = false
			}
		case c == '"':
			quoted = true
		case c == '<':
			angle = true
		case c == '>':
			angle = false
		case !angle && (c == ' ' || c == '\t'):
			// Drop blanks before ';' or '=' and after them.
			j := i
			for j < len(v) && (v[j] == ' ' || v[j] == '\t') {
				j++
			}
			prev := byte(0)
			if len(out) > 0 {
				prev = out[len(out)-1]
			}
			if (j < len(v) && (v[j] == ';' || v[j] == '=')) || prev == ';' || prev == '=' {
				i = j - 1
				changed = true
				continue
			}
		}
		out = append(out, c)
	}
	if !changed {
		return nil
	}
	return out
}

// Unfold joins folded header lines (RFC 3261 7.3.1: a line starting with
// space or tab continues the previous one) in the header section of a raw
// message, so the parser sees one line per header. Datagrams only: it is
// meant for a whole message. It returns data itself when nothing is folded.
func Unfold(data []byte) []byte {
	end := bytes.Index(data, []byte("\r\n\r\n"))
	if end < 0 {
		end = len(data)
	}
	head := data[:end]
	if !bytes.Contains(head, []byte("\r\n ")) && !bytes.Contains(head, []byte("\r\n\t")) {
		return data
	}
	out := make([]byte, 0, len(data))
	for i := 0; i < len(head); i++ {
		if head[i] == '\r' && i+2 < len(head) && head[i+1] == '\n' && (head[i+2] == ' ' || head[i+2] == '\t') {
			// CRLF and the whitespace after it are one separator (RFC 3261 7.3.1).
			i += 2
			for i+1 < len(head) && (head[i+1] == ' ' || head[i+1] == '\t') {
				i++
			}
			out = append(out, ' ')
			continue
		}
		out = append(out, head[i])
	}
	return append(out, data[end:]...)
}
