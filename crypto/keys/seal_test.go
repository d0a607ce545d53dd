package keys

import (
	"bytes"
	"crypto/rand"
	"testing"
)

func TestSealOpen(t *testing.T) {
	id := mustIdentity(t)
	kek := make([]byte, KEKSize)
	rand.Read(kek)
	blob, err := Seal(id, kek)
	if err != nil {
		t.Fatal(err)
	}
	if len(blob) != SealedSize || blob[0] != 1 {
		t.Fatalf("sealed blob: %d bytes, version %d", len(blob), blob[0])
	}
	pub := id.Public()
	if bytes.Contains(blob, id.priv[:32]) || bytes.Contains(blob, pub[:8]) {
		t.Fatal("sealed blob contains key material in clear")
	}
	again, err := Seal(id, kek)
	if err != nil || bytes.Equal(again, blob) {
		t.Fatal("two seals of one identity are equal (nonce reused?)")
	}

	back, err := Open(blob, kek)
	if err != nil {
		t.Fatal(err)
	}
	if back.Public() != id.Public() {
		t.Fatal("opened identity has another public key")
	}
	// The opened identity signs shares the original's peers accept.
	peer := mustIdentity(t)
	off := mustExchange(t, back, Offer, "b")
	if _, err := mustExchange(t, peer, Answer, "b").Complete(off.Attribute(), trustOnly(id.Public())); err != nil {
		t.Fatalf("share from the opened identity: %v", err)
	}

	wrong := bytes.Clone(kek)
	wrong[0] ^= 1
	for _, tc := range []struct {
		name string
		blob []byte
		kek  []byte
	}{
		{"wrong kek", blob, wrong},
		{"truncated", blob[:len(blob)-1], kek},
		{"extended", append(bytes.Clone(blob), 0), kek},
		{"empty", nil, kek},
		{"version 2", append([]byte{2}, blob[1:]...), kek},
		{"version 0", append([]byte{0}, blob[1:]...), kek},
	} {
		_, err := Open(tc.blob, tc.kek)
		if err == nil {
			t.Errorf("%s: opened", tc.name)
		}
		wantErr(t, err, ErrSealed)
	}
	// Every single bit flip is caught.
	for i := range blob {
		for bit := range 8 {
			b := bytes.Clone(blob)
			b[i] ^= 1 << bit
			if _, err := Open(b, kek); err == nil {
				t.Fatalf("bit %d of byte %d flipped: opened", bit, i)
			}
		}
	}
}

func TestSealArguments(t *testing.T) {
	id := mustIdentity(t)
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := Seal(id, make([]byte, n)); err == nil {
			t.Errorf("Seal with a %d-byte kek succeeded", n)
		}
		if _, err := Open(make([]byte, SealedSize), make([]byte, n)); err == nil {
			t.Errorf("Open with a %d-byte kek succeeded", n)
		}
	}
	id.Destroy()
	_, err := Seal(id, make([]byte, KEKSize))
	wantErr(t, err, ErrDestroyed)
}

func TestDestroyWipes(t *testing.T) {
	id := mustIdentity(t)
	priv := id.priv // the same backing array
	id.Destroy()
	if !bytes.Equal(priv, make([]byte, len(priv))) {
		t.Fatal("private key not zeroed by Destroy")
	}
}
