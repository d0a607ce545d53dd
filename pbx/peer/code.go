package peer

import (
	"crypto/rand"
	"errors"
	"strings"
)

// codeAlphabet is RFC 4648 base32: no 0, 1, 8 or 9, so the digits people
// type for O, I and B can be read back as the letters (see ParseCode).
const codeAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

// CodeChars is how many random characters a code holds (40 bits); one
// check character follows them.
const CodeChars = 8

// ErrBadCode is a code that is malformed or whose check character does not
// match: a typo, caught before anything is sent.
var ErrBadCode = errors.New("peer: not a pairing code (8 letters or digits 2-7 and a check character)")

// Code is a pairing code in canonical form: CodeChars base32 characters
// followed by their Luhn mod 32 check character, upper case, no dashes.
type Code string

// NewCode draws a fresh code from crypto/rand.
func NewCode() (Code, error) {
	var raw [CodeChars]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	b := make([]byte, CodeChars, CodeChars+1)
	for i, r := range raw {
		b[i] = codeAlphabet[r&31] // 256 is a multiple of 32: no bias
	}
	b = append(b, checkChar(b))
	return Code(b), nil
}

// String is the code as shown to a person: ABCD-EFGH-K.
func (c Code) String() string {
	if len(c) != CodeChars+1 {
		return string(c)
	}
	return string(c[:4]) + "-" + string(c[4:8]) + "-" + string(c[8:])
}

// ParseCode reads a code as a person typed it: case, spaces and dashes do
// not matter, and 0, 1 and 8 are read as O, I and B. The check character
// catches every single mistyped character and most swapped neighbours.
func ParseCode(s string) (Code, error) {
	if len(s) > 64 {
		return "", ErrBadCode
	}
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '-' || c == '\t':
			continue
		case c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		case c == '0':
			c = 'O'
		case c == '1':
			c = 'I'
		case c == '8':
			c = 'B'
		}
		if strings.IndexByte(codeAlphabet, c) < 0 {
			return "", ErrBadCode
		}
		b = append(b, c)
	}
	if len(b) != CodeChars+1 || checkChar(b[:CodeChars]) != b[CodeChars] {
		return "", ErrBadCode
	}
	return Code(b), nil
}

// checkChar is the Luhn mod N check character (N = 32) of payload, whose
// characters are all in codeAlphabet.
func checkChar(payload []byte) byte {
	const n = len(codeAlphabet)
	factor, sum := 2, 0
	for i := len(payload) - 1; i >= 0; i-- {
		a := factor * strings.IndexByte(codeAlphabet, payload[i])
		if factor == 2 {
			factor = 1
		} else {
			factor = 2
		}
		sum += a/n + a%n
	}
	return codeAlphabet[(n-sum%n)%n]
}
