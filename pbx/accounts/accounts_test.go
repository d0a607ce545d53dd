package accounts

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"hushbox/pbx/digest"
	"hushbox/pbx/store"
)

func openStore(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestGeneratePasswordStrength(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		pw, err := GeneratePassword()
		if err != nil {
			t.Fatal(err)
		}
		if len(pw) != GeneratedLength {
			t.Fatalf("length %d", len(pw))
		}
		for _, c := range pw {
			if !strings.ContainsRune(alphabet, c) {
				t.Fatalf("character %q outside the alphabet", c)
			}
		}
		if seen[pw] {
			t.Fatal("repeated password")
		}
		seen[pw] = true
	}
	// 20 symbols of a 32-symbol alphabet: 100 bits, at least the 96 asked.
	if len(alphabet) != 32 || GeneratedLength*5 < 96 {
		t.Fatal("generated passwords carry under 96 bits")
	}
}

func TestAddStoresOnlyHA1(t *testing.T) {
	db := openStore(t)
	pw, err := Add(db, "r", "101", "Alice", "")
	if err != nil {
		t.Fatal(err)
	}
	e, err := db.Extension("101")
	if err != nil {
		t.Fatal(err)
	}
	if e.HA1MD5 != digest.HA1(digest.MD5, "101", "r", pw) || e.HA1SHA256 != digest.HA1(digest.SHA256, "101", "r", pw) {
		t.Fatal("HA1 values do not match the generated password")
	}
	if strings.Contains(e.HA1MD5+e.HA1SHA256+e.Name, pw) {
		t.Fatal("password stored in clear")
	}
	if _, err := Add(db, "r", "101", "", ""); !errors.Is(err, store.ErrExists) {
		t.Fatalf("duplicate add: %v", err)
	}
}

func TestAddValidation(t *testing.T) {
	db := openStore(t)
	cases := []struct {
		num, name, pw string
	}{
		{"1", "", ""},                    // too short a number
		{"10a", "", ""},                  // not digits
		{"101", "", "short"},             // weak password
		{"101", "", "has\ncontrol char"}, // control characters
		{"101", strings.Repeat("x", 65), ""},
	}
	for _, c := range cases {
		if _, err := Add(db, "r", c.num, c.name, c.pw); err == nil {
			t.Errorf("Add(%q, %q, %q) accepted", c.num, c.name, c.pw)
		}
	}
	if exts, _ := db.Extensions(); len(exts) != 0 {
		t.Fatalf("rejected input left %d extensions", len(exts))
	}
}

func TestSetPassword(t *testing.T) {
	db := openStore(t)
	if _, err := Add(db, "r", "101", "Alice", "first-password"); err != nil {
		t.Fatal(err)
	}
	if _, err := SetPassword(db, "r2", "101", "second-password"); err != nil {
		t.Fatal(err)
	}
	e, _ := db.Extension("101")
	if e.Realm != "r2" || e.HA1MD5 != digest.HA1(digest.MD5, "101", "r2", "second-password") || e.Name != "Alice" {
		t.Fatalf("after passwd: %+v", e)
	}
	if _, err := SetPassword(db, "r", "999", ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("passwd of a missing extension: %v", err)
	}
}
