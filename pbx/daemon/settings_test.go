package daemon

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"hushbox/pbx/control"
	"hushbox/pbx/logbuf"
	"hushbox/pbx/store"
)

func TestSettingChecks(t *testing.T) {
	for _, tc := range []struct {
		name  string
		check func(string) error
		in    string
		ok    bool
	}{
		{"listen any", checkListenAddr, ":5060", true},
		{"listen ip", checkListenAddr, "192.168.1.2:5060", true},
		{"listen v6", checkListenAddr, "[::1]:8443", true},
		{"listen name", checkListenAddr, "box.local:5060", false},
		{"listen no port", checkListenAddr, "192.168.1.2", false},
		{"listen port 0", checkListenAddr, ":0", false},
		{"listen port big", checkListenAddr, ":70000", false},
		{"tls off", checkTLSAddr, "off", true},
		{"tls addr", checkTLSAddr, ":5061", true},
		{"tls junk", checkTLSAddr, "on", false},
		{"media empty", checkMediaIP, "", true},
		{"media ip", checkMediaIP, "10.0.0.5", true},
		{"media any", checkMediaIP, "0.0.0.0", false},
		{"media name", checkMediaIP, "box", false},
		{"prefix", checkPrefix, "192.168.1.10/24", true},
		{"prefix network", checkPrefix, "192.168.1.0/24", false},
		{"prefix bare", checkPrefix, "192.168.1.10", false},
		{"prefix loopback", checkPrefix, "127.0.0.2/8", false},
		{"prefix v6", checkPrefix, "2001:db8::10/64", true},
		{"gateway", checkIP, "192.168.1.1", true},
		{"gateway junk", checkIP, "gw", false},
		{"dns list", listOf(3, checkIP), "192.168.1.1, 9.9.9.9", true},
		{"dns too many", listOf(3, checkIP), "1.1.1.1 2.2.2.2 3.3.3.3 4.4.4.4", false},
		{"dns name", listOf(3, checkIP), "dns.example", false},
		{"ntp names", listOf(4, checkHost), "0.pool.ntp.org ntp.example 192.0.2.1", true},
		{"ntp bad name", listOf(4, checkHost), "-bad.example", false},
		{"ntp quote", listOf(4, checkHost), "a'b", false},
		{"zone", checkZone, "Europe/Berlin", true},
		{"zone utc", checkZone, "UTC", true},
		{"zone offset", checkZone, "Etc/GMT+1", true},
		{"zone traversal", checkZone, "../etc/passwd", false},
		{"zone absolute", checkZone, "/etc/localtime", false},
		{"zone space", checkZone, "Europe/ Berlin", false},
		{"rtp", func(s string) error { _, _, err := ParsePortRange(s); return err }, "20000-20999", true},
		{"realm", ValidRealm, "office.example", true},
		{"realm quote", ValidRealm, `a"b`, false},
	} {
		if err := tc.check(tc.in); (err == nil) != tc.ok {
			t.Errorf("%s: check(%q) = %v, want ok %v", tc.name, tc.in, err, tc.ok)
		}
	}
}

func TestCheckNetwork(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   map[string]string
		bad  []string
	}{
		{"dhcp needs nothing", map[string]string{SettingNetMode: "dhcp"}, nil},
		{"static complete", map[string]string{SettingNetMode: "static", SettingNetAddress: "192.168.1.10/24", SettingNetGateway: "192.168.1.1"}, nil},
		{"static without address", map[string]string{SettingNetMode: "static", SettingNetGateway: "192.168.1.1"}, []string{SettingNetAddress}},
		{"static without gateway", map[string]string{SettingNetMode: "static", SettingNetAddress: "192.168.1.10/24"}, []string{SettingNetGateway}},
		{"gateway outside", map[string]string{SettingNetMode: "static", SettingNetAddress: "192.168.1.10/24", SettingNetGateway: "10.0.0.1"}, []string{SettingNetGateway}},
	} {
		errs := checkNetwork(tc.in)
		if len(errs) != len(tc.bad) {
			t.Errorf("%s: errors %v, want on %v", tc.name, errs, tc.bad)
			continue
		}
		for _, k := range tc.bad {
			if errs[k] == "" {
				t.Errorf("%s: no error on %s: %v", tc.name, k, errs)
			}
		}
	}
}

func openTestStore(t testing.TB, dir string) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(dir, DBName))
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestApplyStored(t *testing.T) {
	db := openTestStore(t, t.TempDir())
	defer db.Close()
	for k, v := range map[string]string{SettingSIPAddr: "127.0.0.1:5070", SettingRTPPorts: "30000-30099", SettingSIPTLSAddr: "off",
		SettingMediaIP: "not-an-ip", SettingWebAddr: ""} {
		if err := db.SetSetting(k, v); err != nil {
			t.Fatal(err)
		}
	}
	var logs strings.Builder
	log := slog.New(slog.NewTextHandler(&logs, nil))
	// From the command line: --rtp-ports only. Defaults for the rest.
	cfg := Config{SIPAddr: ":5060", SIPTLSAddr: ":5061", RTPPorts: "20000-20099", MediaIP: "", WebAddr: ":8443",
		Flags: map[string]bool{"rtp-ports": true}}
	if err := applyStored(db, &cfg, log); err != nil {
		t.Fatal(err)
	}
	want := Config{SIPAddr: "127.0.0.1:5070", SIPTLSAddr: "", RTPPorts: "20000-20099", MediaIP: "", WebAddr: ":8443"}
	if cfg.SIPAddr != want.SIPAddr || cfg.SIPTLSAddr != want.SIPTLSAddr || cfg.RTPPorts != want.RTPPorts || cfg.MediaIP != want.MediaIP || cfg.WebAddr != want.WebAddr {
		t.Errorf("after applyStored: sip %q tls %q rtp %q media %q web %q; want sip %q tls %q rtp %q (flag) media %q (bad stored value skipped) web %q (empty = unset)",
			cfg.SIPAddr, cfg.SIPTLSAddr, cfg.RTPPorts, cfg.MediaIP, cfg.WebAddr, want.SIPAddr, want.SIPTLSAddr, want.RTPPorts, want.MediaIP, want.WebAddr)
	}
	if !strings.Contains(logs.String(), "stored setting ignored") || !strings.Contains(logs.String(), "media.ip") {
		t.Errorf("bad stored value not logged:\n%s", logs.String())
	}
	// A Config made in code keeps what it sets.
	code := Config{SIPAddr: "127.0.0.1:9", RTPPorts: "40000-40019"}
	if err := applyStored(db, &code, log); err != nil {
		t.Fatal(err)
	}
	if code.SIPAddr != "127.0.0.1:9" || code.RTPPorts != "40000-40019" {
		t.Errorf("stored settings replaced values set in code: %+v", code)
	}
}

func TestWriteSystemConf(t *testing.T) {
	dir := t.TempDir()
	db := openTestStore(t, dir)
	defer db.Close()
	if err := writeSystemConf(dir, db); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, NetworkConfName)); !strings.Contains(string(b), "NET_MODE='dhcp'\n") {
		t.Errorf("default network.conf:\n%s", b)
	}
	for k, v := range map[string]string{SettingNetMode: "static", SettingNetAddress: "192.168.1.10/24", SettingNetGateway: "192.168.1.1",
		SettingNetDNS: "192.168.1.1,9.9.9.9", SettingTimeNTP: "0.pool.ntp.org  1.pool.ntp.org", SettingTimeZone: "Europe/Berlin"} {
		if err := db.SetSetting(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := writeSystemConf(dir, db); err != nil {
		t.Fatal(err)
	}
	// /init sources the files with sh: check what sh sees.
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	out, err := exec.Command(sh, "-c", `. "$1" && . "$2" && printf '%s|%s|%s|%s|%s|%s' "$NET_MODE" "$NET_ADDRESS" "$NET_GATEWAY" "$NET_DNS" "$TIME_NTP" "$TIME_ZONE"`,
		"sh", filepath.Join(dir, NetworkConfName), filepath.Join(dir, TimeConfName)).CombinedOutput()
	if err != nil {
		t.Fatalf("sh: %v\n%s", err, out)
	}
	want := "static|192.168.1.10/24|192.168.1.1|192.168.1.1 9.9.9.9|0.pool.ntp.org 1.pool.ntp.org|Europe/Berlin"
	if string(out) != want {
		t.Errorf("sourced values %q, want %q", out, want)
	}
	if got := shQuote(`it's`); got != `'it'\''s'` {
		t.Errorf("shQuote = %s", got)
	}
}

func TestSettingsFormMarksFlags(t *testing.T) {
	db := openTestStore(t, t.TempDir())
	defer db.Close()
	cfg := Config{SIPAddr: "127.0.0.1:5060", RTPPorts: "20000-20999", Realm: "r", WebAddr: ":8443", Flags: map[string]bool{"sip": true}}
	form := settingsForm(cfg, true, t.TempDir(), db)
	got := map[string]string{}
	for _, f := range form.Fields {
		got[f.Key] = f.Flag
	}
	if got[SettingSIPAddr] != "--sip" || got[control.SettingRealm] != "--realm" || got[SettingRTPPorts] != "" || got[SettingWebAddr] != "" {
		t.Errorf("flags on the form: %v", got)
	}
}

func TestSystemRestartEndsRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s := &system{cancel: cancel, ring: logbuf.New(10, 0)}
	if s.CanReboot() {
		t.Error("reboot allowed off the appliance")
	}
	if err := s.Reboot(); err == nil {
		t.Error("reboot accepted off the appliance")
	}
	if s.result() != nil {
		t.Fatal("result before any request")
	}
	s.Restart()
	s.Reboot()
	<-ctx.Done()
	if !errors.Is(s.result(), ErrRestart) {
		t.Errorf("result %v, want ErrRestart (the first request)", s.result())
	}
	fmt := io.Writer(s.ring)
	fmt.Write([]byte("line\n"))
	if l := s.Logs(5); len(l) != 1 || l[0] != "line" {
		t.Errorf("Logs = %q", l)
	}
}

// A daemon whose realm and RTP range come from the store uses them; the
// network and time files are written at start.
func TestE2EStoredSettings(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "d")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	lo := freeRTPRange(t, 20)
	rng := strconv.Itoa(lo) + "-" + strconv.Itoa(lo+19)
	db := openTestStore(t, dir)
	for k, v := range map[string]string{control.SettingRealm: "stored.realm", SettingRTPPorts: rng, SettingTimeZone: "Europe/Berlin"} {
		if err := db.SetSetting(k, v); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	port := freeSIPPort(t)
	out, stop := runDaemon(t, Config{DataDir: dir, SIPAddr: "127.0.0.1:" + strconv.Itoa(port), RTPPorts: "", MediaIP: "127.0.0.1",
		Flags: map[string]bool{"sip": true, "media-ip": true}})
	defer stop()
	if !strings.Contains(out.String(), `realm "stored.realm"`) || !strings.Contains(out.String(), "ports "+rng) {
		t.Fatalf("daemon did not start with the stored realm and RTP range:\n%s", out)
	}
	if b, err := os.ReadFile(filepath.Join(dir, TimeConfName)); err != nil || !strings.Contains(string(b), "TIME_ZONE='Europe/Berlin'") {
		t.Errorf("time.conf not written at start: %v\n%s", err, b)
	}
}

// FuzzSettingChecks feeds form input to every setting's check and the
// rule across fields: none may panic, and no value that goes into the sh
// files (net.*, time.*) may hold quotes, newlines or shell expansions.
func FuzzSettingChecks(f *testing.F) {
	for _, s := range []string{":5060", "192.168.1.10/24", "off", "Europe/Berlin", "0.pool.ntp.org 1.1.1.1", "20000-20999", "[::1]:5061"} {
		f.Add(s)
	}
	db := openTestStore(f, f.TempDir())
	defer db.Close()
	form := settingsForm(Config{}, false, f.TempDir(), db)
	f.Fuzz(func(t *testing.T, s string) {
		vals := map[string]string{}
		for _, fld := range form.Fields {
			vals[fld.Key] = s
			toSh := strings.HasPrefix(fld.Key, "net.") || strings.HasPrefix(fld.Key, "time.")
			if toSh && fld.Check != nil && fld.Check(s) == nil && strings.ContainsAny(s, "'\"\n\\`$") {
				t.Errorf("%s accepts %q", fld.Key, s)
			}
		}
		vals[SettingNetMode] = "static"
		checkNetwork(vals)
	})
}
