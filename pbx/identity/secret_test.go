package identity

import (
	"errors"
	"testing"
)

func TestSealSecret(t *testing.T) {
	dir := t.TempDir()
	blob, err := SealSecret(dir, "trunk/provider", []byte("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := OpenSecret(dir, "trunk/provider", blob); err != nil || string(got) != "s3cret" {
		t.Fatalf("%q %v", got, err)
	}
	if _, err := OpenSecret(dir, "trunk/other", blob); !errors.Is(err, ErrSealedSecret) {
		t.Fatalf("opened under another name: %v", err)
	}
	for i := range blob {
		bad := append([]byte(nil), blob...)
		bad[i] ^= 1
		if _, err := OpenSecret(dir, "trunk/provider", bad); err == nil {
			t.Fatalf("flipped byte %d accepted", i)
		}
	}
	if _, err := OpenSecret(t.TempDir(), "trunk/provider", blob); err == nil {
		t.Fatal("opened with another box's key")
	}
}
