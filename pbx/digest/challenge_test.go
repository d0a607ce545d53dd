package digest

import "testing"

func TestChallengeString(t *testing.T) {
	tests := []struct {
		name string
		c    Challenge
		want string
	}{
		{"default algorithm", Challenge{Realm: "hushbox", Nonce: "abc"},
			`Digest realm="hushbox", nonce="abc", algorithm=MD5, qop="auth"`},
		{"sha-256 stale opaque", Challenge{Realm: "hushbox", Nonce: "abc", Opaque: "op", Algorithm: SHA256, Stale: true},
			`Digest realm="hushbox", nonce="abc", opaque="op", algorithm=SHA-256, qop="auth", stale=true`},
		{"escaped realm, no header injection", Challenge{Realm: "a\"b\\c\r\nX-Evil: 1", Nonce: "n"},
			`Digest realm="a\"b\\cX-Evil: 1", nonce="n", algorithm=MD5, qop="auth"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.c.String(); got != tt.want {
				t.Errorf("String() =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}
