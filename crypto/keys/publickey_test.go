package keys

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"regexp"
	"strings"
	"testing"
)

func TestPublicKeyText(t *testing.T) {
	id := mustIdentity(t)
	k := id.Public()
	s := k.String()
	if !strings.HasPrefix(s, "hbx1:") || len(s) != 48 {
		t.Fatalf("String() = %q", s)
	}
	p, err := ParsePublicKey(s)
	if err != nil || p != k {
		t.Fatalf("ParsePublicKey(String()) = %v, %v", p, err)
	}
	// JSON (through MarshalText) round trip, as a config file would hold it.
	j, err := json.Marshal(map[string]PublicKey{"k": k})
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]PublicKey
	if err := json.Unmarshal(j, &back); err != nil || back["k"] != k {
		t.Fatalf("JSON round trip: %s -> %v, %v", j, back, err)
	}
	if err := json.Unmarshal([]byte(`{"k":"hbx1:nope"}`), &back); err == nil {
		t.Fatal("bad key accepted from JSON")
	}
}

func TestParsePublicKeyRefuses(t *testing.T) {
	good := mustIdentity(t).Public().String()
	for _, s := range []string{
		"",
		"hbx1:",
		strings.TrimPrefix(good, "hbx1:"),
		"hbx2:" + good[5:],
		"HBX1:" + good[5:],
		good + "A",
		good[:len(good)-1],
		good + "=",
		good[:len(good)-1] + "B", // non-zero unused bits
		good[:10] + "+" + good[11:],
		" " + good,
		good + "\n",
		"hbx1:AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", // the neutral point
	} {
		if _, err := ParsePublicKey(s); err == nil {
			t.Errorf("ParsePublicKey(%q) accepted", s)
		} else {
			wantErr(t, err, ErrMalformed)
		}
	}
}

func TestFingerprint(t *testing.T) {
	k := mustIdentity(t).Public()
	fp := k.Fingerprint()
	if !regexp.MustCompile(`^[0-9a-f]{4}( [0-9a-f]{4}){7}$`).MatchString(fp) {
		t.Fatalf("Fingerprint() = %q", fp)
	}
	sum := sha256.Sum256(k[:])
	if strings.ReplaceAll(fp, " ", "") != hex.EncodeToString(sum[:16]) {
		t.Fatalf("Fingerprint() = %q is not the first 128 bits of SHA-256", fp)
	}
	if mustIdentity(t).Public().Fingerprint() == fp {
		t.Fatal("two keys, one fingerprint")
	}
}

// smallOrderEncodings: every encoding (both sign bits) of the small-order
// y coordinates.
func smallOrderEncodings() []PublicKey {
	var out []PublicKey
	for _, y := range curve().smallOrderY {
		for _, sign := range []byte{0, 0x80} {
			var k PublicKey
			y.FillBytes(k[:])
			for i, j := 0, len(k)-1; i < j; i, j = i+1, j-1 {
				k[i], k[j] = k[j], k[i]
			}
			k[31] |= sign
			out = append(out, k)
		}
	}
	return out
}

// TestSmallOrderKeysRefused shows why they are refused (crypto/ed25519
// accepts forged signatures under them) and that they are.
func TestSmallOrderKeysRefused(t *testing.T) {
	encs := smallOrderEncodings()
	if len(encs) != 10 {
		t.Fatalf("%d encodings, want 10", len(encs))
	}
	forgeable := 0
	for _, a := range encs {
		// Forge: S = 0 and R a small-order point; for some message
		// R = -[k]A and crypto/ed25519.Verify accepts.
		found := false
		for m := 0; m < 64 && !found; m++ {
			msg := []byte{byte(m)}
			for _, r := range encs {
				sig := append(r[:], make([]byte, 32)...)
				if ed25519.Verify(a[:], msg, sig) {
					found = true
					break
				}
			}
		}
		if found {
			forgeable++
		}
		if err := checkIdentityKey(a); err == nil {
			t.Errorf("small-order key %x accepted", a)
		}
		if _, err := ParsePublicKey(a.String()); err == nil {
			t.Errorf("ParsePublicKey accepted small-order key %x", a)
		}
	}
	// 8 canonical encodings; x = 0 with the sign bit set may be refused by
	// crypto/ed25519 itself.
	if forgeable < 8 {
		t.Errorf("only %d of the small-order encodings are forgeable: the list is wrong", forgeable)
	}
}

func TestNonCanonicalKeyRefused(t *testing.T) {
	// y = p + 1 encodes the same point as y = 1.
	p := curve().p
	y := new(big.Int).Add(p, big.NewInt(1))
	var k PublicKey
	y.FillBytes(k[:])
	for i, j := 0, len(k)-1; i < j; i, j = i+1, j-1 {
		k[i], k[j] = k[j], k[i]
	}
	wantErr(t, checkIdentityKey(k), ErrMalformed)
	// y = p + 9 (a non-canonical encoding of y = 9, an ordinary point).
	y.Add(p, big.NewInt(9))
	y.FillBytes(k[:])
	for i, j := 0, len(k)-1; i < j; i, j = i+1, j-1 {
		k[i], k[j] = k[j], k[i]
	}
	wantErr(t, checkIdentityKey(k), ErrMalformed)
}

func TestRealKeysAccepted(t *testing.T) {
	for range 200 {
		k := mustIdentity(t).Public()
		if err := checkIdentityKey(k); err != nil {
			t.Fatalf("real key %s refused: %v", k, err)
		}
	}
}
