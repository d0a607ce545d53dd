package daemon

import "testing"

func TestPeerListenAddr(t *testing.T) {
	for _, tc := range []struct{ peer, web, want string }{
		{"auto", ":8443", ":8444"},
		{"auto", "127.0.0.1:0", "127.0.0.1:0"},
		{"auto", "[::1]:9000", "[::1]:9001"},
		{"127.0.0.1:7000", ":8443", "127.0.0.1:7000"},
		{"auto", "nonsense", ""},
		{"auto", ":65535", ""},
	} {
		got, err := peerListenAddr(tc.peer, tc.web)
		if tc.want == "" {
			if err == nil {
				t.Errorf("peerListenAddr(%q, %q) = %q, want an error", tc.peer, tc.web, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("peerListenAddr(%q, %q) = %q, %v; want %q", tc.peer, tc.web, got, err, tc.want)
		}
	}
}
