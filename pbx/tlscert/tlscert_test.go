package tlscert

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
)

func TestEnsureCreatesThenReuses(t *testing.T) {
	dir := t.TempDir()
	c1, fp1, err := Ensure(dir, "sip", []string{"127.0.0.1", "hushbox.local"})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(c1.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(leaf.IPAddresses) != 1 || leaf.IPAddresses[0].String() != "127.0.0.1" || leaf.DNSNames[0] != "hushbox.local" {
		t.Fatalf("SANs: %v %v", leaf.IPAddresses, leaf.DNSNames)
	}
	st, err := os.Stat(filepath.Join(dir, "sip.key"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key mode %v, want 0600", st.Mode().Perm())
	}
	_, fp2, err := Ensure(dir, "sip", nil)
	if err != nil {
		t.Fatal(err)
	}
	if fp1 != fp2 {
		t.Fatalf("second Ensure made a new certificate: %s != %s", fp1, fp2)
	}
	if len(fp1) != 32*3-1 {
		t.Fatalf("fingerprint %q", fp1)
	}
}

func TestEnsureRejectsCorruptFiles(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "sip.crt"), []byte("garbage"), 0o644)
	if _, _, err := Ensure(dir, "sip", nil); err == nil {
		t.Fatal("corrupt certificate accepted")
	}
}
