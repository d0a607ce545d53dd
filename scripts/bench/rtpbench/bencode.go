package main

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strconv"
)

// Bencode is the encoding of rtpengine's NG control protocol: strings
// ("4:spam"), integers ("i3e"), lists ("l...e") and dictionaries
// ("d...e", keys sorted). Values are string, int64, []any and map[string]any.

// errBencode is wrapped by every decoding error.
var errBencode = errors.New("bencode")

// maxDepth bounds the nesting a decoder follows (outside input).
const maxDepth = 32

// encodeBencode writes v; it fails on a type bencode has no form for.
func encodeBencode(buf *bytes.Buffer, v any) error {
	switch x := v.(type) {
	case string:
		buf.WriteString(strconv.Itoa(len(x)))
		buf.WriteByte(':')
		buf.WriteString(x)
	case []byte:
		buf.WriteString(strconv.Itoa(len(x)))
		buf.WriteByte(':')
		buf.Write(x)
	case int:
		fmt.Fprintf(buf, "i%de", x)
	case int64:
		fmt.Fprintf(buf, "i%de", x)
	case []string:
		buf.WriteByte('l')
		for _, e := range x {
			if err := encodeBencode(buf, e); err != nil {
				return err
			}
		}
		buf.WriteByte('e')
	case []any:
		buf.WriteByte('l')
		for _, e := range x {
			if err := encodeBencode(buf, e); err != nil {
				return err
			}
		}
		buf.WriteByte('e')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		buf.WriteByte('d')
		for _, k := range keys {
			_ = encodeBencode(buf, k)
			if err := encodeBencode(buf, x[k]); err != nil {
				return fmt.Errorf("key %q: %w", k, err)
			}
		}
		buf.WriteByte('e')
	default:
		return fmt.Errorf("%w: cannot encode %T", errBencode, v)
	}
	return nil
}

// decodeBencode reads one value from the whole of b.
func decodeBencode(b []byte) (any, error) {
	v, n, err := decodeValue(b, 0)
	if err != nil {
		return nil, err
	}
	if n != len(b) {
		return nil, fmt.Errorf("%w: %d trailing bytes", errBencode, len(b)-n)
	}
	return v, nil
}

// decodeValue reads one value at the start of b and returns it with the
// number of bytes it took.
func decodeValue(b []byte, depth int) (any, int, error) {
	if depth > maxDepth {
		return nil, 0, fmt.Errorf("%w: nested deeper than %d", errBencode, maxDepth)
	}
	if len(b) == 0 {
		return nil, 0, fmt.Errorf("%w: unexpected end", errBencode)
	}
	switch c := b[0]; {
	case c == 'i':
		end := bytes.IndexByte(b, 'e')
		if end < 2 {
			return nil, 0, fmt.Errorf("%w: bad integer", errBencode)
		}
		n, err := strconv.ParseInt(string(b[1:end]), 10, 64)
		if err != nil {
			return nil, 0, fmt.Errorf("%w: integer: %w", errBencode, err)
		}
		return n, end + 1, nil
	case c >= '0' && c <= '9':
		colon := bytes.IndexByte(b, ':')
		if colon < 1 || colon > 10 {
			return nil, 0, fmt.Errorf("%w: bad string length", errBencode)
		}
		n, err := strconv.Atoi(string(b[:colon]))
		if err != nil || n < 0 || n > len(b)-colon-1 {
			return nil, 0, fmt.Errorf("%w: string length out of range", errBencode)
		}
		return string(b[colon+1 : colon+1+n]), colon + 1 + n, nil
	case c == 'l':
		var list []any
		i := 1
		for {
			if i >= len(b) {
				return nil, 0, fmt.Errorf("%w: unterminated list", errBencode)
			}
			if b[i] == 'e' {
				return list, i + 1, nil
			}
			v, n, err := decodeValue(b[i:], depth+1)
			if err != nil {
				return nil, 0, err
			}
			list = append(list, v)
			i += n
		}
	case c == 'd':
		dict := map[string]any{}
		i := 1
		for {
			if i >= len(b) {
				return nil, 0, fmt.Errorf("%w: unterminated dictionary", errBencode)
			}
			if b[i] == 'e' {
				return dict, i + 1, nil
			}
			k, n, err := decodeValue(b[i:], depth+1)
			if err != nil {
				return nil, 0, err
			}
			key, ok := k.(string)
			if !ok {
				return nil, 0, fmt.Errorf("%w: dictionary key is not a string", errBencode)
			}
			i += n
			v, n, err := decodeValue(b[i:], depth+1)
			if err != nil {
				return nil, 0, err
			}
			dict[key] = v
			i += n
		}
	default:
		return nil, 0, fmt.Errorf("%w: unexpected byte %q", errBencode, c)
	}
}
