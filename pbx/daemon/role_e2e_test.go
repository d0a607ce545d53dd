package daemon

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The same daemon runs as the board and as the cloud peer: both serve SIP
// and say their role; only the board writes the appliance's network and
// time files for /init.
func TestE2ERoles(t *testing.T) {
	for _, tc := range []struct {
		role        Role
		say         string
		systemFiles bool
	}{
		{role: "", say: "hushbox: role board\n", systemFiles: true},
		{role: RoleBoard, say: "hushbox: role board\n", systemFiles: true},
		{role: RoleCloud, say: "hushbox: role cloud\n", systemFiles: false},
	} {
		t.Run(tc.role.String(), func(t *testing.T) {
			dir, err := os.MkdirTemp("", "hbrole")
			if err != nil {
				t.Fatal(err)
			}
			defer os.RemoveAll(dir)
			port := freeSIPPort(t)
			lo := freeRTPRange(t, 8)
			out, stop := runDaemon(t, Config{DataDir: dir, SIPAddr: "127.0.0.1:" + strconv.Itoa(port),
				RTPPorts: strconv.Itoa(lo) + "-" + strconv.Itoa(lo+7), MediaIP: "127.0.0.1",
				MediaTimeout: time.Minute, RingTimeout: time.Minute, Role: tc.role})
			stop()
			if !strings.Contains(out.String(), tc.say) {
				t.Fatalf("announcements lack %q:\n%s", tc.say, out.String())
			}
			_, err = os.Stat(filepath.Join(dir, NetworkConfName))
			if got := err == nil; got != tc.systemFiles {
				t.Fatalf("%s written: %v, want %v", NetworkConfName, got, tc.systemFiles)
			}
		})
	}
}

// An unknown role stops the start with an error naming it.
func TestE2EUnknownRole(t *testing.T) {
	err := Run(testCtx(t, 10*time.Second), Config{DataDir: t.TempDir(), Role: "router"})
	if err == nil || !strings.Contains(err.Error(), "router") {
		t.Fatalf("Run with role router: %v", err)
	}
}
