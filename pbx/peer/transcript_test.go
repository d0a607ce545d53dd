package peer

import (
	"bytes"
	"crypto/hmac"
	"testing"

	"hushbox/crypto/keys"
)

// The MAC depends on everything it must bind: the code, the nonce, every
// Hello field and the certificate the initiator saw; a request MAC is
// never a response MAC.
func TestTranscriptMAC(t *testing.T) {
	id, _ := keys.NewIdentity()
	id2, _ := keys.NewIdentity()
	code, _ := NewCode()
	other, _ := NewCode()
	nonce := bytes.Repeat([]byte{7}, nonceSize)
	h := Hello{Version: 1, Name: "b", Role: RoleBoard, Identity: id.Public(), CertFP: "fp-b", PeerPort: 8444, SIPPort: 5061, Nonce: nonce}
	k, err := deriveKeys(code, nonce)
	if err != nil {
		t.Fatal(err)
	}
	base := requestMAC(k, h, "fp-a")
	if !hmac.Equal(base, requestMAC(k, h, "fp-a")) {
		t.Fatal("MAC not deterministic")
	}
	kOther, _ := deriveKeys(other, nonce)
	kNonce, _ := deriveKeys(code, bytes.Repeat([]byte{8}, nonceSize))
	mod := func(f func(*Hello)) Hello { c := h; f(&c); return c }
	cases := map[string][]byte{
		"other code":       requestMAC(kOther, h, "fp-a"),
		"other nonce key":  requestMAC(kNonce, h, "fp-a"),
		"other server":     requestMAC(k, h, "fp-mitm"),
		"other name":       requestMAC(k, mod(func(c *Hello) { c.Name = "c" }), "fp-a"),
		"other identity":   requestMAC(k, mod(func(c *Hello) { c.Identity = id2.Public() }), "fp-a"),
		"other cert":       requestMAC(k, mod(func(c *Hello) { c.CertFP = "fp-x" }), "fp-a"),
		"other peer port":  requestMAC(k, mod(func(c *Hello) { c.PeerPort = 1 }), "fp-a"),
		"other sip port":   requestMAC(k, mod(func(c *Hello) { c.SIPPort = 1 }), "fp-a"),
		"other role":       requestMAC(k, mod(func(c *Hello) { c.Role = RoleCloud }), "fp-a"),
		"fields shifted":   requestMAC(k, mod(func(c *Hello) { c.Name, c.Role = "bb", "oard" }), "fp-a"),
		"response not req": responseMAC(k, Message{Hello: h, MAC: base}, "fp-a", h),
	}
	for name, m := range cases {
		if hmac.Equal(m, base) {
			t.Errorf("%s: same MAC", name)
		}
	}
}

func BenchmarkDeriveKeys(b *testing.B) {
	code, _ := NewCode()
	nonce := make([]byte, nonceSize)
	for b.Loop() {
		if _, err := deriveKeys(code, nonce); err != nil {
			b.Fatal(err)
		}
	}
}
