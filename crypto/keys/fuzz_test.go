package keys

import (
	"errors"
	"testing"
)

// FuzzParseAttribute: ParseAttribute never panics, every error is
// ErrMalformed, whatever parses is written back byte for byte (one
// spelling per share), and Complete never panics on it.
func FuzzParseAttribute(f *testing.F) {
	alice, bob := mustIdentity(f), mustIdentity(f)
	f.Add(mustExchange(f, alice, Offer, "b").Attribute())
	f.Add(mustExchange(f, alice, Answer, "b").Attribute())
	f.Add("")
	f.Add("1")
	f.Add("1   ")
	f.Add("2 a b c")
	f.Add("1 AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Fuzz(func(t *testing.T, v string) {
		s, err := ParseAttribute(v)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		if s.String() != v {
			t.Fatalf("parsed %q, wrote back %q", v, s.String())
		}
		e, err := NewExchange(bob, Answer, "b")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Complete(v, TrustAny); err != nil &&
			!errors.Is(err, ErrMalformed) && !errors.Is(err, ErrBadSignature) {
			t.Fatalf("Complete: unexpected error %v", err)
		}
	})
}

// FuzzParseDirectory: never panics; what parses round-trips.
func FuzzParseDirectory(f *testing.F) {
	f.Add([]byte("alice " + mustIdentity(f).Public().String() + "\n# c\n"))
	f.Add([]byte("x hbx1:"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseDirectory(b)
		if err != nil {
			return
		}
		text, err := d.MarshalText()
		if err != nil {
			t.Fatalf("MarshalText of a parsed directory: %v", err)
		}
		back, err := ParseDirectory(text)
		if err != nil || len(back) != len(d) {
			t.Fatalf("round trip: %v", err)
		}
		for n, k := range d {
			if back[n] != k {
				t.Fatalf("round trip lost %s", n)
			}
		}
	})
}

// FuzzOpen: Open never panics and refuses with ErrSealed. (Whether it
// opens only what Seal wrote is TestSealOpen's bit-flip loop: fuzz workers
// are separate processes with their own random seals.)
func FuzzOpen(f *testing.F) {
	kek := make([]byte, KEKSize)
	blob, err := Seal(mustIdentity(f), kek)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(blob)
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := Open(b, kek); err != nil && !errors.Is(err, ErrSealed) {
			t.Fatalf("error %v is not ErrSealed", err)
		}
	})
}
