// Package accounts creates and changes extensions: it turns a password into
// the digest HA1 values the store keeps (never the password itself) and makes
// strong passwords when the owner does not choose one. The daemon's control
// socket and the offline CLI both go through here, so both behave the same.
package accounts

import (
	"crypto/rand"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"hushbox/pbx/digest"
	"hushbox/pbx/store"
)

// GeneratedLength is the length of generated passwords: 20 characters from
// a 32-symbol alphabet carry 100 bits, above the 96 the threat model asks.
const GeneratedLength = 20

// alphabet avoids look-alike characters (0/o, 1/l) so a password can be
// typed on a desk phone's keypad from a printout.
const alphabet = "abcdefghijkmnpqrstuvwxyz23456789"

// MinPasswordLength is the shortest password an owner may choose.
const MinPasswordLength = 8

// ErrWeakPassword is returned for chosen passwords that are too short.
var ErrWeakPassword = fmt.Errorf("password must be at least %d characters", MinPasswordLength)

// GeneratePassword returns a random password of GeneratedLength characters.
func GeneratePassword() (string, error) {
	var buf [GeneratedLength]byte
	if _, err := rand.Read(buf[:]); err != nil {
		return "", fmt.Errorf("generate password: %w", err)
	}
	out := make([]byte, GeneratedLength)
	for i, b := range buf {
		out[i] = alphabet[int(b)%32] // 256 is a multiple of 32: no bias
	}
	return string(out), nil
}

// Store is the part of the store accounts needs.
type Store interface {
	AddExtension(e store.Extension) error
	PutExtension(e store.Extension) error
	Extension(num string) (store.Extension, error)
}

// checkPassword refuses passwords a phone cannot carry or an owner should not use.
func checkPassword(pw string) error {
	if utf8.RuneCountInString(pw) < MinPasswordLength {
		return ErrWeakPassword
	}
	if !utf8.ValidString(pw) {
		return errors.New("password must be valid UTF-8")
	}
	for _, r := range pw {
		if r < 0x20 || r == 0x7f {
			return errors.New("password must not contain control characters")
		}
	}
	return nil
}

// Add creates extension num. An empty password means "generate one"; the
// password actually set is returned so it can be shown once.
func Add(st Store, realm, num, name, password string) (string, error) {
	if err := store.ValidNumber(num); err != nil {
		return "", err
	}
	if err := store.ValidName(name); err != nil {
		return "", err
	}
	pw, err := choose(password)
	if err != nil {
		return "", err
	}
	now := time.Now().UTC()
	e := store.Extension{Number: num, Name: name, Created: now, Updated: now}
	setPassword(&e, realm, pw)
	if err := st.AddExtension(e); err != nil {
		return "", fmt.Errorf("add extension %s: %w", num, err)
	}
	return pw, nil
}

// SetPassword replaces the password of extension num (generated when empty).
func SetPassword(st Store, realm, num, password string) (string, error) {
	e, err := st.Extension(num)
	if err != nil {
		return "", fmt.Errorf("extension %s: %w", num, err)
	}
	pw, err := choose(password)
	if err != nil {
		return "", err
	}
	setPassword(&e, realm, pw)
	e.Updated = time.Now().UTC()
	if err := st.PutExtension(e); err != nil {
		return "", fmt.Errorf("set password of %s: %w", num, err)
	}
	return pw, nil
}

func choose(password string) (string, error) {
	if password == "" {
		return GeneratePassword()
	}
	if err := checkPassword(password); err != nil {
		return "", err
	}
	return password, nil
}

func setPassword(e *store.Extension, realm, pw string) {
	e.Realm = realm
	e.HA1MD5 = digest.HA1(digest.MD5, e.Number, realm, pw)
	e.HA1SHA256 = digest.HA1(digest.SHA256, e.Number, realm, pw)
}
