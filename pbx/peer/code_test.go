package peer

import (
	"errors"
	"strings"
	"testing"
)

func TestNewCodeFormat(t *testing.T) {
	seen := map[Code]bool{}
	for range 200 {
		c, err := NewCode()
		if err != nil {
			t.Fatal(err)
		}
		if len(c) != CodeChars+1 {
			t.Fatalf("code %q: %d characters, want %d", c, len(c), CodeChars+1)
		}
		shown := c.String()
		if len(shown) != 11 || shown[4] != '-' || shown[9] != '-' {
			t.Fatalf("code shown as %q, want XXXX-XXXX-C", shown)
		}
		back, err := ParseCode(shown)
		if err != nil || back != c {
			t.Fatalf("ParseCode(%q) = %q, %v; want %q", shown, back, err, c)
		}
		seen[c] = true
	}
	if len(seen) < 199 {
		t.Fatalf("only %d different codes in 200", len(seen))
	}
}

func TestParseCode(t *testing.T) {
	c, err := NewCode()
	if err != nil {
		t.Fatal(err)
	}
	s := string(c)
	tests := []struct {
		name, in string
		want     Code
		err      bool
	}{
		{"canonical", s, c, false},
		{"shown", c.String(), c, false},
		{"lower case with spaces", " " + strings.ToLower(s[:4]) + " " + strings.ToLower(s[4:]) + " ", c, false},
		{"empty", "", "", true},
		{"too short", s[:8], "", true},
		{"too long", s + "A", "", true},
		{"bad character", s[:3] + "!" + s[4:], "", true},
		{"very long", strings.Repeat("A", 1000), "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseCode(tc.in)
			if tc.err {
				if !errors.Is(err, ErrBadCode) {
					t.Fatalf("ParseCode(%q) = %q, %v; want ErrBadCode", tc.in, got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseCode(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

// Digits people type for look-alike letters are read as those letters.
func TestParseCodeLookalikes(t *testing.T) {
	payload := []byte("OIBAAAAA")
	c := Code(append(payload, checkChar(payload)))
	got, err := ParseCode("018AAAAA" + string(c[8]))
	if err != nil || got != c {
		t.Fatalf("ParseCode with 0/1/8 = %q, %v; want %q", got, err, c)
	}
}

// The check character catches every single mistyped character and every
// swap of two different neighbours.
func TestCheckCharCatchesTypos(t *testing.T) {
	for range 50 {
		c, err := NewCode()
		if err != nil {
			t.Fatal(err)
		}
		for i := range len(c) {
			for _, r := range codeAlphabet {
				if byte(r) == c[i] {
					continue
				}
				typo := []byte(c)
				typo[i] = byte(r)
				if _, err := ParseCode(string(typo)); err == nil {
					t.Fatalf("typo %q of %q accepted", typo, c)
				}
			}
		}
		for i := 0; i+1 < CodeChars; i++ {
			if c[i] == c[i+1] {
				continue
			}
			sw := []byte(c)
			sw[i], sw[i+1] = sw[i+1], sw[i]
			// Luhn mod N misses swapping the two characters whose values
			// are 0 and N-1 ("A" and "7"); everything else is caught.
			if pair := string([]byte{c[i], c[i+1]}); pair == "A7" || pair == "7A" {
				continue
			}
			if _, err := ParseCode(string(sw)); err == nil {
				t.Fatalf("swap %q of %q accepted", sw, c)
			}
		}
	}
}
