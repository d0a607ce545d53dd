package keys

import (
	"errors"
	"testing"
)

func mustIdentity(t testing.TB) *Identity {
	t.Helper()
	id, err := NewIdentity()
	if err != nil {
		t.Fatalf("NewIdentity: %v", err)
	}
	return id
}

func mustExchange(t testing.TB, id *Identity, r Role, binding string) *Exchange {
	t.Helper()
	e, err := NewExchange(id, r, binding)
	if err != nil {
		t.Fatalf("NewExchange(%s): %v", r, err)
	}
	return e
}

// trustOnly trusts exactly the given keys.
func trustOnly(ks ...PublicKey) func(PublicKey) bool {
	return func(k PublicKey) bool {
		for _, t := range ks {
			if t == k {
				return true
			}
		}
		return false
	}
}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want %v", err, want)
	}
}
