package digest

import "testing"

func TestHA1(t *testing.T) {
	tests := []struct {
		name, alg, user, realm, pass, want string
	}{
		{"RFC 2617 3.5 MD5", MD5, "Mufasa", "testrealm@host.com", "Circle Of Life", "939e7578ed9e3c518a452acee763bce9"},
		{"empty algorithm is MD5", "", "Mufasa", "testrealm@host.com", "Circle Of Life", "939e7578ed9e3c518a452acee763bce9"},
		{"RFC 7616 3.9.1 SHA-256", SHA256, "Mufasa", "http-auth@example.org", "Circle of Life", "7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232"},
		{"lowercase sha-256", "sha-256", "Mufasa", "http-auth@example.org", "Circle of Life", "7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232"},
		{"unsupported", "MD5-sess", "Mufasa", "x", "y", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := HA1(tt.alg, tt.user, tt.realm, tt.pass); got != tt.want {
				t.Errorf("HA1 = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestValidHA1(t *testing.T) {
	tests := []struct {
		alg, ha1 string
		want     bool
	}{
		{MD5, "939e7578ed9e3c518a452acee763bce9", true},
		{MD5, "939E7578ED9E3C518A452ACEE763BCE9", true},
		{MD5, "", false},
		{MD5, "939e7578ed9e3c518a452acee763bce", false},
		{MD5, "939e7578ed9e3c518a452acee763bcez", false},
		{SHA256, "939e7578ed9e3c518a452acee763bce9", false},
		{SHA256, "7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232", true},
		{"SHA-512-256", "7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232", false},
	}
	for _, tt := range tests {
		if got := ValidHA1(tt.alg, tt.ha1); got != tt.want {
			t.Errorf("ValidHA1(%q, %q) = %v, want %v", tt.alg, tt.ha1, got, tt.want)
		}
	}
}
