package srtp

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// Keys of the baresip samples in pbx/sdp/testdata (throw-away keys).
const (
	baresipMand = "1 AES_CM_128_HMAC_SHA1_80 inline:pPniEb0kY84dDdQWhcWu8PZWS19IDbqpwmQyvqqB"
	baresipOpt  = "1 AES_CM_128_HMAC_SHA1_80 inline:VPFltU09gfnAtGWXONrWXB2UpnpRKewDA6k5H8wM"
	// RFC 4568 section 4 example (lifetime 2^20, MKI 1 of 4 octets).
	rfcExample = "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4"
)

var gcmKey28 = bytes.Repeat([]byte{7}, 28)

func TestParseCrypto(t *testing.T) {
	gcmPadded := base64.StdEncoding.EncodeToString(gcmKey28)
	gcmRaw := base64.RawStdEncoding.EncodeToString(gcmKey28)
	key30 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 30))
	key46 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, 46))
	key44 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{3}, 44))
	tests := []struct {
		name     string
		in       string
		tag      int
		suite    Suite
		keyLen   int
		mki      []byte
		lifetime uint64
		err      error
	}{
		{"baresip mandatory", baresipMand, 1, AES128CMSHA1_80, 30, nil, 0, nil},
		{"baresip optional", baresipOpt, 1, AES128CMSHA1_80, 30, nil, 0, nil},
		{"rfc 4568 example", rfcExample, 1, AES128CMSHA1_80, 30, []byte{0, 0, 0, 1}, 1 << 20, nil},
		{"sha1_32", "2 AES_CM_128_HMAC_SHA1_32 inline:" + key30, 2, AES128CMSHA1_32, 30, nil, 0, nil},
		{"gcm padded", "3 AEAD_AES_128_GCM inline:" + gcmPadded, 3, AEADAES128GCM, 28, nil, 0, nil},
		{"gcm unpadded", "3 AEAD_AES_128_GCM inline:" + gcmRaw, 3, AEADAES128GCM, 28, nil, 0, nil},
		{"aes256 cm", "4 AES_256_CM_HMAC_SHA1_80 inline:" + key46, 4, AES256CMSHA1_80, 46, nil, 0, nil},
		{"gcm256", "5 AEAD_AES_256_GCM inline:" + key44, 5, AEADAES256GCM, 44, nil, 0, nil},
		{"decimal lifetime", "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|1000", 1, AES128CMSHA1_80, 30, nil, 1000, nil},
		{"mki only", "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|258:2", 1, AES128CMSHA1_80, 30, []byte{1, 2}, 0, nil},
		{"wsh and kdr=0", "9 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + " WSH=64 KDR=0", 9, AES128CMSHA1_80, 30, nil, 0, nil},
		{"extra spaces", "  7   AES_CM_128_HMAC_SHA1_80\tinline:" + key30 + "  ", 7, AES128CMSHA1_80, 30, nil, 0, nil},
		{"max tag", "999999999 AES_CM_128_HMAC_SHA1_80 inline:" + key30, MaxTag, AES128CMSHA1_80, 30, nil, 0, nil},

		{"empty", "", 0, 0, 0, nil, 0, ErrMalformed},
		{"two fields", "1 AES_CM_128_HMAC_SHA1_80", 0, 0, 0, nil, 0, ErrMalformed},
		{"tag not a number", "x AES_CM_128_HMAC_SHA1_80 inline:" + key30, 0, 0, 0, nil, 0, ErrMalformed},
		{"tag too long", "1000000000 AES_CM_128_HMAC_SHA1_80 inline:" + key30, 0, 0, 0, nil, 0, ErrMalformed},
		{"negative tag", "-1 AES_CM_128_HMAC_SHA1_80 inline:" + key30, 0, 0, 0, nil, 0, ErrMalformed},
		{"unknown suite", "1 F8_128_HMAC_SHA1_80 inline:" + key30, 0, 0, 0, nil, 0, ErrUnsupported},
		{"suite case", "1 aes_cm_128_hmac_sha1_80 inline:" + key30, 0, 0, 0, nil, 0, ErrUnsupported},
		{"not inline", "1 AES_CM_128_HMAC_SHA1_80 uri:http://x", 0, 0, 0, nil, 0, ErrMalformed},
		{"short key", "1 AES_CM_128_HMAC_SHA1_80 inline:" + gcmPadded, 0, 0, 0, nil, 0, ErrMalformed},
		{"gcm key on cm suite", "1 AEAD_AES_128_GCM inline:" + key30, 0, 0, 0, nil, 0, ErrMalformed},
		{"not base64", "1 AES_CM_128_HMAC_SHA1_80 inline:!!!!" + key30[4:], 0, 0, 0, nil, 0, ErrMalformed},
		{"empty key", "1 AES_CM_128_HMAC_SHA1_80 inline:", 0, 0, 0, nil, 0, ErrMalformed},
		{"two keys", "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^20|1:4;inline:" + key30 + "|2^20|2:4", 0, 0, 0, nil, 0, ErrUnsupported},
		{"mki too long", "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|1:5", 0, 0, 0, nil, 0, ErrUnsupported},
		{"mki value too big", "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|256:1", 0, 0, 0, nil, 0, ErrMalformed},
		{"mki length zero", "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|1:0", 0, 0, 0, nil, 0, ErrMalformed},
		{"mki before lifetime", "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|1:1|2^20", 0, 0, 0, nil, 0, ErrMalformed},
		{"two lifetimes", "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^20|2^21", 0, 0, 0, nil, 0, ErrMalformed},
		{"lifetime too big", "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^49", 0, 0, 0, nil, 0, ErrMalformed},
		{"lifetime zero", "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|0", 0, 0, 0, nil, 0, ErrMalformed},
		{"too many fields", "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^20|1:1|x", 0, 0, 0, nil, 0, ErrMalformed},
		{"unencrypted srtp", "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + " UNENCRYPTED_SRTP", 0, 0, 0, nil, 0, ErrUnsupported},
		{"unencrypted srtcp", "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + " UNENCRYPTED_SRTCP", 0, 0, 0, nil, 0, ErrUnsupported},
		{"unauthenticated", "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + " UNAUTHENTICATED_SRTP", 0, 0, 0, nil, 0, ErrUnsupported},
		{"kdr", "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + " KDR=24", 0, 0, 0, nil, 0, ErrUnsupported},
		{"fec key", "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + " FEC_KEY=inline:" + key30, 0, 0, 0, nil, 0, ErrUnsupported},
		{"unknown param", "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + " FOO=1", 0, 0, 0, nil, 0, ErrUnsupported},
		{"huge", "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + " " + strings.Repeat("WSH=1 ", 300), 0, 0, 0, nil, 0, ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseCrypto(tc.in)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("ParseCrypto(%q) error %v, want %v", tc.in, err, tc.err)
				}
				if strings.Contains(err.Error(), key30) || strings.Contains(err.Error(), gcmPadded) {
					t.Errorf("error quotes the key: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseCrypto(%q): %v", tc.in, err)
			}
			if c.Tag != tc.tag || c.Suite != tc.suite || len(c.Key) != tc.keyLen ||
				!bytes.Equal(c.MKI, tc.mki) || c.Lifetime != tc.lifetime {
				t.Errorf("got %v key %d octets mki %x lifetime %d; want tag %d %v %d octets mki %x lifetime %d",
					c, len(c.Key), c.MKI, c.Lifetime, tc.tag, tc.suite, tc.keyLen, tc.mki, tc.lifetime)
			}
			if err := c.Validate(); err != nil {
				t.Errorf("parsed attribute does not validate: %v", err)
			}
			// Value writes what ParseCrypto reads back.
			back, err := ParseCrypto(c.Value())
			if err != nil || !back.Equal(c) || back.Tag != c.Tag || back.Lifetime != c.Lifetime {
				t.Errorf("round trip of %q: %v, %v", c.Value(), back, err)
			}
		})
	}
}

func TestParseCryptoKeyBytes(t *testing.T) {
	c, err := ParseCrypto(baresipMand)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := base64.StdEncoding.DecodeString("pPniEb0kY84dDdQWhcWu8PZWS19IDbqpwmQyvqqB")
	if !bytes.Equal(c.Key, want) {
		t.Fatalf("key %x, want %x", c.Key, want)
	}
	if c.Value() != baresipMand {
		t.Errorf("Value() = %q, want the attribute as baresip wrote it", c.Value())
	}
}

// TestCryptoRedacted checks that no way of printing a Crypto shows the key.
func TestCryptoRedacted(t *testing.T) {
	c, err := ParseCrypto(rfcExample)
	if err != nil {
		t.Fatal(err)
	}
	secret := "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "crypto", c, "keys", Keys{Remote: c, Local: c})
	outputs := map[string]string{
		"String":   c.String(),
		"%v":       fmt.Sprintf("%v", c),
		"%+v":      fmt.Sprintf("%+v", c),
		"%#v":      fmt.Sprintf("%#v", c),
		"%s":       fmt.Sprintf("%s", c),
		"Keys %v":  fmt.Sprintf("%v", Keys{Remote: c, Local: c}),
		"slog":     logged.String(),
		"slice %v": fmt.Sprintf("%v", []Crypto{c}),
	}
	for how, out := range outputs {
		if strings.Contains(out, secret) || strings.Contains(out, fmt.Sprintf("%x", c.Key)) ||
			strings.Contains(out, fmt.Sprint(c.Key)) {
			t.Errorf("%s shows the key: %s", how, out)
		}
		if !strings.Contains(out, "AES_CM_128_HMAC_SHA1_80") {
			t.Errorf("%s does not name the suite: %s", how, out)
		}
	}
	if !strings.Contains(c.Value(), secret) {
		t.Errorf("Value() lacks the key")
	}
}

func TestNewCrypto(t *testing.T) {
	for s := range suites {
		a, err := NewCrypto(5, s)
		if err != nil {
			t.Fatalf("NewCrypto(%v): %v", s, err)
		}
		b, _ := NewCrypto(5, s)
		if len(a.Key) != s.KeyLen() || a.Tag != 5 || a.Suite != s || a.Validate() != nil {
			t.Errorf("NewCrypto(5, %v) = %v with %d octets", s, a, len(a.Key))
		}
		if a.Equal(b) || bytes.Equal(a.Key, b.Key) {
			t.Errorf("two NewCrypto(%v) have the same key", s)
		}
		if bytes.Equal(a.Key, make([]byte, len(a.Key))) {
			t.Errorf("NewCrypto(%v) key is all zero", s)
		}
	}
	if _, err := NewCrypto(-1, AES128CMSHA1_80); !errors.Is(err, ErrMalformed) {
		t.Errorf("tag -1: %v", err)
	}
	if _, err := NewCrypto(MaxTag+1, AES128CMSHA1_80); !errors.Is(err, ErrMalformed) {
		t.Errorf("tag too big: %v", err)
	}
	if _, err := NewCrypto(1, Suite(99)); !errors.Is(err, ErrUnsupported) {
		t.Errorf("unknown suite: %v", err)
	}
	offer := DefaultOffer()
	if len(offer) != 2 || offer[0].Suite != AEADAES128GCM || offer[1].Suite != AES128CMSHA1_80 ||
		offer[0].Tag == offer[1].Tag {
		t.Errorf("DefaultOffer = %v", offer)
	}
}

func TestEqual(t *testing.T) {
	a, _ := ParseCrypto(baresipMand)
	b, _ := ParseCrypto(baresipMand)
	b.Tag = 7
	b.Lifetime = 1 << 31
	if !a.Equal(b) {
		t.Error("same key under another tag and lifetime is not Equal")
	}
	c, _ := ParseCrypto(baresipOpt)
	if a.Equal(c) {
		t.Error("different keys are Equal")
	}
	d := a
	d.Suite = AES128CMSHA1_32
	if a.Equal(d) {
		t.Error("different suites are Equal")
	}
	e := a
	e.MKI = []byte{1}
	if a.Equal(e) {
		t.Error("different MKIs are Equal")
	}
}

func TestSuiteNames(t *testing.T) {
	for s, in := range suites {
		got, ok := ParseSuite(in.name)
		if !ok || got != s || s.String() != in.name {
			t.Errorf("suite %d: ParseSuite(%q) = %v, %v; String %q", s, in.name, got, ok, s.String())
		}
	}
	if Suite(0).Supported() || Suite(0).KeyLen() != 0 {
		t.Error("zero Suite is supported")
	}
}
