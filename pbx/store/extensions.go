package store

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"

	"hushbox/pbx/digest"
)

// MaxNameLen is the longest extension display name, in characters.
const MaxNameLen = 64

// Extension is a local account. Passwords are never stored: only the
// digest HA1 values for each algorithm, computed by the caller with
// digest.HA1(alg, Number, Realm, password). An empty HA1 means that
// algorithm cannot authenticate (digest.Credentials.Verify refuses it).
type Extension struct {
	// RequireSRTP: calls of this extension must use SRTP (SDES over TLS);
	// offers without it are refused with 488.
	RequireSRTP bool      `json:"require_srtp,omitempty"`
	Number      string    `json:"number"`
	Name        string    `json:"name"`
	Realm       string    `json:"realm"`
	HA1MD5      string    `json:"ha1_md5,omitempty"`
	HA1SHA256   string    `json:"ha1_sha256,omitempty"`
	Created     time.Time `json:"created"`
	Updated     time.Time `json:"updated"`
}

// HA1 returns the stored HA1 for a digest algorithm (MD5 when alg is
// empty), or "" when none is stored or the algorithm is unknown.
func (e Extension) HA1(alg string) string {
	switch norm, _ := digest.NormalizeAlgorithm(alg); norm {
	case digest.MD5:
		return e.HA1MD5
	case digest.SHA256:
		return e.HA1SHA256
	}
	return ""
}

// ValidNumber checks an extension number: 2 to 15 ASCII digits, no '+'.
func ValidNumber(num string) error {
	if len(num) < 2 || len(num) > 15 {
		return fmt.Errorf("%w: extension number %q must be 2 to 15 digits", ErrInvalid, num)
	}
	for i := 0; i < len(num); i++ {
		if num[i] < '0' || num[i] > '9' {
			return fmt.Errorf("%w: extension number %q must hold digits only", ErrInvalid, num)
		}
	}
	return nil
}

// ValidName checks a display name: valid UTF-8, printable characters only,
// at most MaxNameLen characters. An empty name is allowed.
func ValidName(name string) error {
	if !utf8.ValidString(name) {
		return fmt.Errorf("%w: name is not valid UTF-8", ErrInvalid)
	}
	if n := utf8.RuneCountInString(name); n > MaxNameLen {
		return fmt.Errorf("%w: name is %d characters, limit %d", ErrInvalid, n, MaxNameLen)
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("%w: name holds unprintable character %U", ErrInvalid, r)
		}
	}
	return nil
}

// Validate checks every field a caller sets: number, name, a printable
// non-empty realm of at most 128 bytes, and HA1 values that are either
// empty or hex digests of the right length.
func (e Extension) Validate() error {
	if err := ValidNumber(e.Number); err != nil {
		return err
	}
	if err := ValidName(e.Name); err != nil {
		return err
	}
	if e.Realm == "" || len(e.Realm) > 128 || strings.ContainsFunc(e.Realm, func(r rune) bool { return !unicode.IsPrint(r) }) || !utf8.ValidString(e.Realm) {
		return fmt.Errorf("%w: realm %q must be 1 to 128 printable bytes", ErrInvalid, e.Realm)
	}
	if e.HA1MD5 != "" && !digest.ValidHA1(digest.MD5, e.HA1MD5) {
		return fmt.Errorf("%w: HA1 for MD5 is not 32 hex digits", ErrInvalid)
	}
	if e.HA1SHA256 != "" && !digest.ValidHA1(digest.SHA256, e.HA1SHA256) {
		return fmt.Errorf("%w: HA1 for SHA-256 is not 64 hex digits", ErrInvalid)
	}
	return nil
}

// AddExtension creates an extension; ErrExists when the number is taken.
// Created and Updated are set to now.
func (db *DB) AddExtension(e Extension) error {
	if err := e.Validate(); err != nil {
		return fmt.Errorf("store: add extension: %w", err)
	}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketExtensions)
		if b.Get([]byte(e.Number)) != nil {
			return ErrExists
		}
		now := db.now().UTC()
		e.Created, e.Updated = now, now
		return putJSON(b, []byte(e.Number), e)
	})
	db.exts.drop(e.Number)
	if err != nil {
		return fmt.Errorf("store: add extension %s: %w", e.Number, err)
	}
	return nil
}

// PutExtension creates or replaces an extension (used to change a name or
// password). Created is kept from the existing record, Updated is set to now.
func (db *DB) PutExtension(e Extension) error {
	if err := e.Validate(); err != nil {
		return fmt.Errorf("store: put extension: %w", err)
	}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketExtensions)
		now := db.now().UTC()
		e.Created, e.Updated = now, now
		if v := b.Get([]byte(e.Number)); v != nil {
			var old Extension
			if err := json.Unmarshal(v, &old); err != nil {
				return fmt.Errorf("decode existing record: %w", err)
			}
			e.Created = old.Created
		}
		return putJSON(b, []byte(e.Number), e)
	})
	db.exts.drop(e.Number)
	if err != nil {
		return fmt.Errorf("store: put extension %s: %w", e.Number, err)
	}
	return nil
}

// Extension returns one extension; ErrNotFound when there is none.
func (db *DB) Extension(num string) (Extension, error) {
	if e, ok := db.exts.get(num); ok {
		return e, nil
	}
	gen := db.exts.generation()
	var e Extension
	err := db.bolt.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketExtensions).Get([]byte(num))
		if v == nil {
			return ErrNotFound
		}
		return json.Unmarshal(v, &e)
	})
	if err != nil {
		return Extension{}, fmt.Errorf("store: extension %q: %w", num, err)
	}
	db.exts.put(e, gen)
	return e, nil
}

// Extensions returns every extension sorted by number, numerically (20
// before 100; "007" and "7" style ties broken by the string).
func (db *DB) Extensions() ([]Extension, error) {
	var out []Extension
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketExtensions).ForEach(func(k, v []byte) error {
			var e Extension
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decode %s: %w", k, err)
			}
			out = append(out, e)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: extensions: %w", err)
	}
	slices.SortFunc(out, func(a, b Extension) int {
		na, _ := strconv.ParseUint(a.Number, 10, 64)
		nb, _ := strconv.ParseUint(b.Number, 10, 64)
		if c := cmp.Compare(na, nb); c != 0 {
			return c
		}
		return strings.Compare(a.Number, b.Number)
	})
	return out, nil
}

// DeleteExtension removes an extension; ErrNotFound when there is none.
func (db *DB) DeleteExtension(num string) error {
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketExtensions)
		if b.Get([]byte(num)) == nil {
			return ErrNotFound
		}
		return b.Delete([]byte(num))
	})
	db.exts.drop(num)
	if err != nil {
		return fmt.Errorf("store: delete extension %q: %w", num, err)
	}
	return nil
}

// putJSON stores v as JSON under key.
func putJSON(b *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	return b.Put(key, data)
}
