package web

import (
	"strings"
	"testing"
)

func TestPasswordHash(t *testing.T) {
	phc, err := hashPassword(testPassword, defaultArgon)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(phc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("PHC %q: want argon2id with the default cost", phc)
	}
	other, _ := hashPassword(testPassword, defaultArgon)
	if other == phc {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	parts := strings.Split(phc, "$")
	for _, tc := range []struct {
		name, phc, pw string
		ok, bad       bool
	}{
		{"right", phc, testPassword, true, false},
		{"wrong", phc, testPassword + "x", false, false},
		{"empty password", phc, "", false, false},
		{"empty hash", "", testPassword, false, true},
		{"bcrypt", "$2a$10$abcdefghijklmnopqrstuv", testPassword, false, true},
		{"argon2i", strings.Replace(phc, "argon2id", "argon2i", 1), testPassword, false, true},
		{"huge memory", strings.Replace(phc, "m=19456", "m=4194304", 1), testPassword, false, true},
		{"zero time", strings.Replace(phc, "t=2", "t=0", 1), testPassword, false, true},
		{"bad salt", strings.Join([]string{"", parts[1], parts[2], parts[3], "!!", parts[5]}, "$"), testPassword, false, true},
		{"short hash", strings.Join([]string{"", parts[1], parts[2], parts[3], parts[4], "AAAA"}, "$"), testPassword, false, true},
	} {
		ok, err := verifyPassword(tc.phc, tc.pw)
		if ok != tc.ok || (err != nil) != tc.bad {
			t.Errorf("%s: ok=%v err=%v, want ok=%v bad=%v", tc.name, ok, err, tc.ok, tc.bad)
		}
	}
}

func TestCheckAdminPassword(t *testing.T) {
	for _, tc := range []struct {
		pw string
		ok bool
	}{
		{"twelve chars", true},
		{"eleven char", false},
		{"ünïcödé-pässwörd", true},
		{"tab\tinside-password", false},
		{strings.Repeat("x", 1025), false},
		{"\xff\xfe invalid utf8 here", false},
	} {
		if err := checkAdminPassword(tc.pw); (err == nil) != tc.ok {
			t.Errorf("%q: err=%v, want ok=%v", tc.pw, err, tc.ok)
		}
	}
}

// FuzzVerifyPassword: a stored hash must never make verification panic or
// accept a password it was not made from.
func FuzzVerifyPassword(f *testing.F) {
	phc, err := hashPassword("seed password", argonParams{memory: 64, time: 1, threads: 1})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(phc, "seed password")
	f.Add("$argon2id$v=19$m=8,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA", "x")
	f.Add("$$$$$", "")
	f.Fuzz(func(t *testing.T, h, pw string) {
		if strings.Contains(h, "m=") && !strings.Contains(h, "m=8,") && !strings.Contains(h, "m=64,") {
			t.Skip("keep fuzzing cheap: only tiny memory costs")
		}
		ok, err := verifyPassword(h, pw)
		if ok && err != nil {
			t.Fatal("accepted with an error")
		}
	})
}
