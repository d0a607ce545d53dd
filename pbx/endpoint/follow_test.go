package endpoint

import "testing"

func TestSameHostPort(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"127.0.0.1:5060", "127.0.0.1:5060", true},
		{"[::ffff:127.0.0.1]:5060", "127.0.0.1:5060", true},
		{"127.0.0.1:5060", "127.0.0.1:5062", false},
		{"198.51.100.1:5060", "127.0.0.1:5060", false},
		{"pbx.example:5060", "pbx.example:5060", true},
		{"pbx.example:5060", "127.0.0.1:5060", false},
	} {
		if got := sameHostPort(tc.a, tc.b); got != tc.want {
			t.Errorf("sameHostPort(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
