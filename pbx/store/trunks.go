package store

import (
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Trunk kinds.
const (
	// TrunkHushbox joins two hushboxes over SIP TLS; calls on it are
	// scrambled end to end between the boxes and the peer is recognised by
	// its pinned identity key.
	TrunkHushbox = "hushbox"
	// TrunkSIP is a plain SIP trunk to a provider: registration with
	// digest credentials, outbound prefix, inbound numbers (DIDs).
	TrunkSIP = "sip"
)

// Trunk is a route to numbers outside this box.
type Trunk struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	// Address is the peer's host:port (SIP TLS for hushbox trunks).
	Address   string `json:"address"`
	Transport string `json:"transport"` // udp, tcp or tls
	// Prefix: dialled numbers starting with it go out on this trunk, after
	// Strip leading digits are removed.
	Prefix string `json:"prefix"`
	Strip  int    `json:"strip"`
	// PeerKey is the pinned identity (text form "hbx1:...") of a hushbox peer.
	PeerKey string `json:"peer_key,omitempty"`
	// Provider credentials; the password is kept sealed by the caller.
	Username       string `json:"username,omitempty"`
	PasswordSealed []byte `json:"password_sealed,omitempty"`
	Register       bool   `json:"register,omitempty"`
	// DIDs maps inbound numbers to local extensions.
	DIDs    map[string]string `json:"dids,omitempty"`
	Created time.Time         `json:"created"`
}

// ValidTrunkName: 1 to 32 of [a-z0-9-], starting with a letter.
func ValidTrunkName(n string) error {
	if len(n) == 0 || len(n) > 32 || n[0] < 'a' || n[0] > 'z' {
		return fmt.Errorf("%w: trunk name %q: 1-32 characters of a-z, 0-9, '-', starting with a letter", ErrInvalid, n)
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("%w: trunk name %q: 1-32 characters of a-z, 0-9, '-', starting with a letter", ErrInvalid, n)
		}
	}
	return nil
}

// Validate checks a trunk before it is stored.
func (t Trunk) Validate() error {
	if err := ValidTrunkName(t.Name); err != nil {
		return err
	}
	switch t.Kind {
	case TrunkHushbox:
		if t.PeerKey == "" {
			return fmt.Errorf("%w: a hushbox trunk needs the peer's identity key", ErrInvalid)
		}
		if t.Transport != "tls" {
			return fmt.Errorf("%w: a hushbox trunk runs over tls", ErrInvalid)
		}
	case TrunkSIP:
		switch t.Transport {
		case "udp", "tcp", "tls":
		default:
			return fmt.Errorf("%w: transport %q: want udp, tcp or tls", ErrInvalid, t.Transport)
		}
	default:
		return fmt.Errorf("%w: trunk kind %q: want hushbox or sip", ErrInvalid, t.Kind)
	}
	host, port, err := net.SplitHostPort(t.Address)
	if err != nil || host == "" {
		return fmt.Errorf("%w: address %q: want host:port", ErrInvalid, t.Address)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("%w: address %q: bad port", ErrInvalid, t.Address)
	}
	if t.Prefix != "" {
		if err := digits(t.Prefix, 1, 15); err != nil {
			return fmt.Errorf("%w: prefix %q: %v", ErrInvalid, t.Prefix, err)
		}
	}
	if t.Strip < 0 || t.Strip > len(t.Prefix) {
		return fmt.Errorf("%w: strip %d: between 0 and the prefix length", ErrInvalid, t.Strip)
	}
	for did, ext := range t.DIDs {
		if err := digits(strings.TrimPrefix(did, "+"), 2, 20); err != nil {
			return fmt.Errorf("%w: DID %q: %v", ErrInvalid, did, err)
		}
		if err := ValidNumber(ext); err != nil {
			return err
		}
	}
	if len(t.Username) > 128 || strings.ContainsAny(t.Username, "\r\n\"") {
		return fmt.Errorf("%w: user name", ErrInvalid)
	}
	return nil
}

func digits(s string, min, max int) error {
	if len(s) < min || len(s) > max {
		return fmt.Errorf("want %d to %d digits", min, max)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return fmt.Errorf("digits only")
		}
	}
	return nil
}

// AddTrunk stores a new trunk; ErrExists when the name is taken.
func (db *DB) AddTrunk(t Trunk) error {
	if err := t.Validate(); err != nil {
		return fmt.Errorf("store: add trunk: %w", err)
	}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTrunks)
		if b.Get([]byte(t.Name)) != nil {
			return ErrExists
		}
		t.Created = db.now().UTC()
		return putJSON(b, []byte(t.Name), t)
	})
	db.trunks.drop()
	if err != nil {
		return fmt.Errorf("store: add trunk %s: %w", t.Name, err)
	}
	return nil
}

// Trunks returns every trunk, by name. Callers must not modify the
// returned records (they are shared with the cache); copy what they change.
func (db *DB) Trunks() ([]Trunk, error) {
	if list, ok, _ := db.trunks.get(); ok {
		return slices.Clone(list), nil
	}
	_, _, gen := db.trunks.get()
	var out []Trunk
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTrunks).ForEach(func(k, v []byte) error {
			var t Trunk
			if err := json.Unmarshal(v, &t); err != nil {
				return fmt.Errorf("decode trunk %s: %w", k, err)
			}
			out = append(out, t)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: trunks: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	db.trunks.put(out, gen)
	return slices.Clone(out), nil
}

// DeleteTrunk removes a trunk; ErrNotFound when there is none of that name.
func (db *DB) DeleteTrunk(name string) error {
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTrunks)
		if b.Get([]byte(name)) == nil {
			return ErrNotFound
		}
		return b.Delete([]byte(name))
	})
	db.trunks.drop()
	if err != nil {
		return fmt.Errorf("store: delete trunk %s: %w", name, err)
	}
	return nil
}

// Key returns a stored key blob (e.g. the sealed identity); ErrNotFound if absent.
func (db *DB) Key(name string) ([]byte, error) {
	var out []byte
	err := db.bolt.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketKeys).Get([]byte(name))
		if v == nil {
			return ErrNotFound
		}
		out = append([]byte(nil), v...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: key %s: %w", name, err)
	}
	return out, nil
}

// PutKeyIfAbsent stores blob under name unless a key of that name exists,
// and returns the stored one: two starts racing keep one identity.
func (db *DB) PutKeyIfAbsent(name string, blob []byte) ([]byte, error) {
	var out []byte
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketKeys)
		if v := b.Get([]byte(name)); v != nil {
			out = append([]byte(nil), v...)
			return nil
		}
		out = blob
		return b.Put([]byte(name), blob)
	})
	if err != nil {
		return nil, fmt.Errorf("store: put key %s: %w", name, err)
	}
	return out, nil
}
