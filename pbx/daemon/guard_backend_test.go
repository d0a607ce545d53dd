package daemon

import (
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"hushbox/pbx/guard"
	"hushbox/pbx/store"
)

// Where hushbox does not own the firewall, the guard has no kernel side,
// and the log says so in the words the appliance uses for its backend.
// (The netlink and nft backends are tested in namespaces, pbx/guard: a
// test here would program the host's own firewall.)
func TestNewGuardKernelOff(t *testing.T) {
	for _, tc := range []struct {
		name      string
		mode, env string
		appliance bool
	}{
		{"off on the appliance", FirewallOff, "", true},
		{"auto off the appliance", FirewallAuto, "", false},
		{"auto, environment says off", FirewallAuto, "off", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(envFirewall, tc.env)
			db, err := store.Open(filepath.Join(t.TempDir(), DBName))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var logs strings.Builder
			g, err := newGuard(db, tc.mode, tc.appliance, slog.New(slog.NewTextHandler(&logs, nil)))
			if err != nil {
				t.Fatal(err)
			}
			if got := g.KernelFirewall(); got != guard.BackendOff {
				t.Errorf("KernelFirewall = %q, want %q", got, guard.BackendOff)
			}
			if !strings.Contains(logs.String(), "kernel firewall: off") {
				t.Errorf("log does not say the kernel firewall is off:\n%s", logs.String())
			}
		})
	}
}
