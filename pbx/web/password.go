package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// MinAdminPassword is the shortest admin password accepted, in characters.
const MinAdminPassword = 12

// maxAdminPassword bounds the input to the KDF.
const maxAdminPassword = 1024

// argonParams are the argon2id cost parameters. The defaults follow the
// OWASP recommendation (19 MiB, 2 passes, 1 lane), which a Raspberry Pi 2
// computes in well under a second while leaving its 1 GiB for calls.
type argonParams struct {
	memory  uint32 // KiB
	time    uint32
	threads uint8
}

var defaultArgon = argonParams{memory: 19 * 1024, time: 2, threads: 1}

// Limits on the parameters read back from a stored hash, so a damaged or
// hostile store value cannot make one login allocate gigabytes.
const (
	maxArgonMemory = 256 * 1024
	maxArgonTime   = 16
)

var errBadHash = errors.New("web: stored admin hash is not a valid argon2id PHC string")

// checkAdminPassword refuses passwords too short or unprintable.
func checkAdminPassword(pw string) error {
	if !utf8.ValidString(pw) {
		return errors.New("password must be valid UTF-8")
	}
	if n := utf8.RuneCountInString(pw); n < MinAdminPassword {
		return fmt.Errorf("password must be at least %d characters", MinAdminPassword)
	}
	if len(pw) > maxAdminPassword {
		return fmt.Errorf("password must be at most %d bytes", maxAdminPassword)
	}
	for _, r := range pw {
		if r < 0x20 || r == 0x7f {
			return errors.New("password must not contain control characters")
		}
	}
	return nil
}

var b64 = base64.RawStdEncoding

// hashPassword returns the argon2id PHC string of pw with a fresh 16-byte
// salt: $argon2id$v=19$m=...,t=...,p=...$salt$hash.
func hashPassword(pw string, p argonParams) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("web: password salt: %w", err)
	}
	sum := argon2.IDKey([]byte(pw), salt, p.time, p.memory, p.threads, 32)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.memory, p.time, p.threads,
		b64.EncodeToString(salt), b64.EncodeToString(sum)), nil
}

// verifyPassword reports whether pw matches the PHC string phc, comparing
// in constant time.
func verifyPassword(phc, pw string) (bool, error) {
	parts := strings.Split(phc, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return false, errBadHash
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false, errBadHash
	}
	var p argonParams
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.memory, &p.time, &p.threads); err != nil {
		return false, errBadHash
	}
	if p.memory < 8 || p.memory > maxArgonMemory || p.time < 1 || p.time > maxArgonTime || p.threads < 1 {
		return false, errBadHash
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return false, errBadHash
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) < 16 || len(want) > 64 {
		return false, errBadHash
	}
	if len(pw) > maxAdminPassword {
		return false, nil
	}
	got := argon2.IDKey([]byte(pw), salt, p.time, p.memory, p.threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
