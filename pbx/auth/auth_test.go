package auth

import (
	"reflect"
	"testing"

	"hushbox/pbx/digest"
)

func TestParseAlgorithms(t *testing.T) {
	cases := []struct {
		in   string
		want []string
		ok   bool
	}{
		{"SHA-256,MD5", []string{digest.SHA256, digest.MD5}, true},
		{"md5", []string{digest.MD5}, true},
		{" MD5 , sha256 ", []string{digest.MD5, digest.SHA256}, true},
		{"MD5,MD5", []string{digest.MD5}, true},
		{"SHA-512", nil, false},
		{"", nil, false},
		{"MD5,", nil, false},
	}
	for _, c := range cases {
		got, err := ParseAlgorithms(c.in)
		if (err == nil) != c.ok || (c.ok && !reflect.DeepEqual(got, c.want)) {
			t.Errorf("ParseAlgorithms(%q) = %v, %v", c.in, got, err)
		}
	}
}

func TestOffers(t *testing.T) {
	a := New("r", make([]byte, 32), nil, nil)
	a.SetAlgorithms([]string{digest.MD5})
	if !a.offers("") || !a.offers("md5") || a.offers(digest.SHA256) {
		t.Fatal("an MD5-only authenticator must accept MD5 (and no algorithm) only")
	}
	a.SetAlgorithms(nil)
	if !a.offers(digest.SHA256) || !a.offers(digest.MD5) {
		t.Fatal("default must offer both")
	}
}
