package daemon

import (
	"testing"

	"hushbox/pbx/peer"
)

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

// TestPeerRole: a cloud peer announces itself as the cloud when pairing, so
// the board knows where to hand calls off to.
func TestPeerRole(t *testing.T) {
	for _, c := range []struct {
		role Role
		want string
	}{{RoleBoard, peer.RoleBoard}, {"", peer.RoleBoard}, {RoleCloud, peer.RoleCloud}} {
		if got := peerRole(c.role); got != c.want {
			t.Errorf("peerRole(%q) = %q, want %q", c.role, got, c.want)
		}
	}
}
