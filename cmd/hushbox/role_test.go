package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	"hushbox/pbx/daemon"
)

// The role's defaults fill only what no flag gave, and HUSHBOX_LOG picks the
// log format unless --log-format did.
func TestApplyRole(t *testing.T) {
	tests := []struct {
		name      string
		role      string
		flags     []string // given on the command line
		dataDir   string   // value before applyRole (the flag's)
		appliance bool
		env       string
		wantRole  daemon.Role
		wantData  string
		wantRTP   string
		wantLog   string
		wantErr   string
	}{
		{name: "board default", role: "board", dataDir: "./hushbox-data", wantRole: daemon.RoleBoard, wantData: "./hushbox-data", wantLog: "text"},
		{name: "empty is board", role: "", dataDir: "d", wantRole: daemon.RoleBoard, wantData: "d", wantLog: "text"},
		{name: "cloud data in /data", role: "cloud", dataDir: "./hushbox-data", wantRole: daemon.RoleCloud, wantData: "/data", wantRTP: "20000-20099", wantLog: "text"},
		{name: "cloud keeps --data and --rtp-ports", role: "cloud", flags: []string{"data", "rtp-ports"}, dataDir: "/srv/hb", wantRole: daemon.RoleCloud, wantData: "/srv/hb", wantRTP: "30000-30999", wantLog: "text"},
		{name: "cloud upper case", role: "CLOUD", dataDir: "x", wantRole: daemon.RoleCloud, wantData: "/data", wantRTP: "20000-20099", wantLog: "text"},
		{name: "json from env", role: "cloud", env: "json", dataDir: "x", wantRole: daemon.RoleCloud, wantData: "/data", wantRTP: "20000-20099", wantLog: "json"},
		{name: "flag beats env", role: "board", flags: []string{"log-format"}, env: "json", dataDir: "x", wantRole: daemon.RoleBoard, wantData: "x", wantLog: "text"},
		{name: "bad env", role: "board", env: "yaml", dataDir: "x", wantErr: "HUSHBOX_LOG"},
		{name: "bad role", role: "router", dataDir: "x", wantErr: "want board or cloud"},
		{name: "cloud is no appliance", role: "cloud", appliance: true, dataDir: "x", wantErr: "--appliance"},
		{name: "board appliance", role: "board", appliance: true, dataDir: "/data", wantRole: daemon.RoleBoard, wantData: "/data", wantLog: "text"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := daemon.Config{DataDir: tc.dataDir, RTPPorts: "30000-30999", Appliance: tc.appliance, Flags: map[string]bool{}}
			if tc.wantRTP == "" {
				tc.wantRTP = "30000-30999"
			}
			for _, f := range tc.flags {
				cfg.Flags[f] = true
			}
			getenv := func(k string) string {
				if k == envLog {
					return tc.env
				}
				return ""
			}
			lf, err := applyRole(&cfg, tc.role, "text", getenv)
			if tc.wantErr != "" {
				var ue usageError
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.As(err, &ue) {
					t.Fatalf("err = %v, want a usage error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Role != tc.wantRole || cfg.DataDir != tc.wantData || cfg.RTPPorts != tc.wantRTP || lf != tc.wantLog {
				t.Fatalf("role %q data %q rtp %q log %q, want %q %q %q %q", cfg.Role, cfg.DataDir, cfg.RTPPorts, lf, tc.wantRole, tc.wantData, tc.wantRTP, tc.wantLog)
			}
		})
	}
}

// A refused bind below 1024 says what to do; other errors pass unchanged.
func TestBindHint(t *testing.T) {
	eacces := fmt.Errorf("SIP UDP :5060: %w", &net.OpError{Op: "listen", Err: os.NewSyscallError("bind", syscall.EACCES)})
	if got := bindHint(eacces); !strings.Contains(got.Error(), "CAP_NET_BIND_SERVICE") || !errors.Is(got, syscall.EACCES) {
		t.Fatalf("hint missing or cause lost: %v", got)
	}
	other := errors.New("store locked")
	if got := bindHint(other); got != other {
		t.Fatalf("other error changed: %v", got)
	}
	if bindHint(nil) != nil {
		t.Fatal("nil became an error")
	}
}

// `serve --role` rejects an unknown role before anything starts.
func TestServeRejectsUnknownRole(t *testing.T) {
	out, err := runCLI(t, "serve", "--role", "router", "--data", t.TempDir())
	var ue usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "router") {
		t.Fatalf("err = %v (%q), want a usage error naming the role", err, out)
	}
}
