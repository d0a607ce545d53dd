package store

import (
	"bytes"
	"errors"
	"sync"
	"testing"
)

func TestSecret(t *testing.T) {
	db := openTest(t)
	a, err := db.Secret("nonce-key", 32)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 32 || bytes.Equal(a, make([]byte, 32)) {
		t.Fatalf("secret %x is not 32 random bytes", a)
	}
	b, err := db.Secret("nonce-key", 32)
	if err != nil || !bytes.Equal(a, b) {
		t.Errorf("second Secret call gave other bytes")
	}
	b[0] ^= 0xff
	if c, _ := db.Secret("nonce-key", 32); !bytes.Equal(a, c) {
		t.Errorf("modifying a returned slice changed the stored secret")
	}
	tok, err := db.Secret("control-token", 32)
	if err != nil || bytes.Equal(tok, a) {
		t.Errorf("two names share a secret")
	}

	tests := []struct {
		name    string
		size    int
		wantErr error
	}{
		{"nonce-key", 16, ErrSecretSize},
		{"", 32, ErrInvalid},
		{"x", 0, ErrInvalid},
		{"x", MaxSecretSize + 1, ErrInvalid},
	}
	for _, tt := range tests {
		if _, err := db.Secret(tt.name, tt.size); !errors.Is(err, tt.wantErr) {
			t.Errorf("Secret(%q, %d) error = %v, want %v", tt.name, tt.size, err, tt.wantErr)
		}
	}
}

func TestSecretConcurrentCreate(t *testing.T) {
	db := openTest(t)
	const n = 8
	got := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s, err := db.Secret("race", 32)
			if err != nil {
				t.Error(err)
			}
			got[i] = s
		})
	}
	wg.Wait()
	for i := 1; i < n; i++ {
		if !bytes.Equal(got[0], got[i]) {
			t.Fatalf("concurrent callers got different secrets")
		}
	}
}
