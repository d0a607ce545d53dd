package keys

import (
	"bufio"
	"bytes"
	"fmt"
	"slices"
	"strings"
)

// Directory is the key directory: pinned identity keys by name (a user,
// an endpoint or a peer hushbox). Its Trusted method is the trust policy
// Complete takes.
type Directory map[string]PublicKey

// MaxNameLen bounds a directory name.
const MaxNameLen = 64

// Trusted reports whether k is pinned under some name.
func (d Directory) Trusted(k PublicKey) bool {
	_, ok := d.Name(k)
	return ok
}

// Name returns a name k is pinned under (the smallest, if several).
func (d Directory) Name(k PublicKey) (string, bool) {
	var found []string
	for n, v := range d {
		if v == k {
			found = append(found, n)
		}
	}
	if len(found) == 0 {
		return "", false
	}
	return slices.Min(found), true
}

// validName: 1 to MaxNameLen bytes of letters, digits and . _ - @ +.
func validName(n string) bool {
	if len(n) == 0 || len(n) > MaxNameLen {
		return false
	}
	for _, c := range []byte(n) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.', c == '_', c == '-', c == '@', c == '+':
		default:
			return false
		}
	}
	return true
}

// MarshalText writes one "name hbx1:..." line per entry, sorted by name.
// It fails on a name ParseDirectory would refuse.
func (d Directory) MarshalText() ([]byte, error) {
	names := make([]string, 0, len(d))
	for n := range d {
		if !validName(n) {
			return nil, fmt.Errorf("keys: directory name %q: letters, digits and . _ - @ +, 1 to %d bytes", n, MaxNameLen)
		}
		names = append(names, n)
	}
	slices.Sort(names)
	var b bytes.Buffer
	for _, n := range names {
		fmt.Fprintf(&b, "%s %s\n", n, d[n])
	}
	return b.Bytes(), nil
}

// UnmarshalText replaces d's entries with those parsed by ParseDirectory.
func (d *Directory) UnmarshalText(b []byte) error {
	p, err := ParseDirectory(b)
	if err != nil {
		return err
	}
	*d = p
	return nil
}

// ParseDirectory reads the text form: one "name key" per line, separated
// by spaces or tabs; blank lines and lines starting with '#' are skipped.
// A bad line, a bad key or a repeated name is an error naming the line.
func ParseDirectory(b []byte) (Directory, error) {
	d := Directory{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("keys: directory line %d: want \"name key\": %w", n, ErrMalformed)
		}
		if !validName(f[0]) {
			return nil, fmt.Errorf("keys: directory line %d: bad name: %w", n, ErrMalformed)
		}
		if _, dup := d[f[0]]; dup {
			return nil, fmt.Errorf("keys: directory line %d: name %s repeated: %w", n, f[0], ErrMalformed)
		}
		k, err := ParsePublicKey(f[1])
		if err != nil {
			return nil, fmt.Errorf("keys: directory line %d: %w", n, err)
		}
		d[f[0]] = k
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("keys: directory: %w", err)
	}
	return d, nil
}
