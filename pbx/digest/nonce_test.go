package digest

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

var testKey = bytes.Repeat([]byte{0x42}, 32)

func TestNoncesCheck(t *testing.T) {
	const ttl = 5 * time.Minute
	n := NewNonces(testKey, ttl)
	other := NewNonces(bytes.Repeat([]byte{0x43}, 32), ttl)
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	good := n.New(t0)

	// flip one bit of the decoded nonce at byte i and re-encode
	tamper := func(i int) string {
		raw, err := base64.RawURLEncoding.DecodeString(good)
		if err != nil {
			t.Fatal(err)
		}
		raw[i] ^= 1
		return base64.RawURLEncoding.EncodeToString(raw)
	}

	tests := []struct {
		name      string
		nonce     string
		now       time.Time
		ok, stale bool
	}{
		{"fresh", good, t0, true, false},
		{"just before expiry", good, t0.Add(ttl), true, false},
		{"expired is stale", good, t0.Add(ttl + time.Second), false, true},
		{"small clock skew", good, t0.Add(-time.Second), true, false},
		{"far future is stale", good, t0.Add(-time.Hour), false, true},
		{"other key", other.New(t0), t0, false, false},
		{"tampered time stamp", tamper(7), t0, false, false},
		{"tampered random", tamper(10), t0, false, false},
		{"tampered mac", tamper(31), t0, false, false},
		{"truncated", good[:len(good)-1], t0, false, false},
		{"extended", good + "A", t0, false, false},
		{"empty", "", t0, false, false},
		{"not base64", strings.Repeat("!", NonceLen), t0, false, false},
		{"standard base64 alphabet", strings.Repeat("+", NonceLen), t0, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, stale := n.Check(tt.nonce, tt.now)
			if ok != tt.ok || stale != tt.stale {
				t.Errorf("Check = ok %v stale %v, want ok %v stale %v", ok, stale, tt.ok, tt.stale)
			}
		})
	}
}

func TestNoncesUniqueAndTokenSafe(t *testing.T) {
	n := NewNonces(testKey, time.Minute)
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	seen := make(map[string]bool)
	for range 1000 {
		s := n.New(now)
		if seen[s] {
			t.Fatalf("nonce %q issued twice", s)
		}
		seen[s] = true
		if len(s) != NonceLen {
			t.Fatalf("nonce %q has length %d, want %d", s, len(s), NonceLen)
		}
		for i := 0; i < len(s); i++ {
			if !isTokenChar(s[i]) {
				t.Fatalf("nonce %q holds non-token byte %q", s, s[i])
			}
		}
	}
}

func TestNewNoncesCopiesKey(t *testing.T) {
	key := bytes.Repeat([]byte{1}, 32)
	n := NewNonces(key, time.Minute)
	now := time.Now()
	s := n.New(now)
	key[0] = 2
	if ok, _ := n.Check(s, now); !ok {
		t.Error("changing the caller's key slice changed the nonce source")
	}
}

func FuzzNonceCheck(f *testing.F) {
	n := NewNonces(testKey, time.Minute)
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	f.Add(n.New(now))
	f.Add("")
	f.Add(strings.Repeat("A", NonceLen))
	f.Fuzz(func(t *testing.T, nonce string) {
		ok, stale := n.Check(nonce, now)
		if ok && stale {
			t.Fatalf("nonce %q both ok and stale", nonce)
		}
		// Without the key, only nonces we minted verify; a fuzzer finding a
		// genuine one would mean a broken MAC check.
		if ok || stale {
			raw, err := base64.RawURLEncoding.DecodeString(nonce)
			if err != nil || len(raw) != nonceRawLen {
				t.Fatalf("accepted undecodable nonce %q", nonce)
			}
		}
	})
}

func BenchmarkNoncesNew(b *testing.B) {
	n := NewNonces(testKey, time.Minute)
	now := time.Now()
	for b.Loop() {
		n.New(now)
	}
}

func BenchmarkNoncesCheck(b *testing.B) {
	n := NewNonces(testKey, time.Minute)
	now := time.Now()
	s := n.New(now)
	for b.Loop() {
		if ok, _ := n.Check(s, now); !ok {
			b.Fatal("nonce refused")
		}
	}
}
