package srtp

import (
	"bytes"
	"testing"
)

// FuzzParseCrypto: a=crypto values come from the network. ParseCrypto must
// not panic, and what it accepts must validate, key a context and survive
// a Value round trip.
func FuzzParseCrypto(f *testing.F) {
	for _, s := range []string{baresipMand, baresipOpt, rfcExample,
		"2 AEAD_AES_128_GCM inline:BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH",
		"1 AES_CM_128_HMAC_SHA1_80 inline:pPniEb0kY84dDdQWhcWu8PZWS19IDbqpwmQyvqqB|2^31|1:1 WSH=64",
		"1 AES_CM_128_HMAC_SHA1_80 inline:x;inline:y", "", "1 2 3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCrypto(s)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted %q but Validate: %v", s, err)
		}
		back, err := ParseCrypto(c.Value())
		if err != nil || !back.Equal(c) || back.Tag != c.Tag {
			t.Fatalf("round trip of %q: %v", s, err)
		}
		if bytes.Contains([]byte(c.String()), []byte(c.Value()[len(c.Value())-8:])) {
			t.Fatalf("String shows key material")
		}
		if _, err := NewPair(Keys{Remote: c, Local: c}); err != nil {
			t.Fatalf("accepted %q but no context: %v", s, err)
		}
	})
}

// FuzzDecrypt: SRTP from the network must never panic the decrypter.
func FuzzDecrypt(f *testing.F) {
	enc, _ := pairOf(f, AES128CMSHA1_80)
	p, _ := enc.EncryptRTP(rtpPkt(1, 1, []byte("seed")))
	f.Add(p)
	f.Add([]byte{0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0, 9})
	c, _ := NewCrypto(1, AEADAES128GCM)
	dec, _ := NewDecrypter(c)
	dec2, _ := NewDecrypter(Crypto{Tag: 1, Suite: AES128CMSHA1_80, Key: make([]byte, 30), MKI: []byte{1}})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = dec.DecryptRTP(bytes.Clone(b))
		_, _ = dec.DecryptRTCP(bytes.Clone(b))
		_, _ = dec2.DecryptRTP(bytes.Clone(b))
		_, _ = dec2.DecryptRTCP(bytes.Clone(b))
	})
}
