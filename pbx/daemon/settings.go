package daemon

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"hushbox/pbx/control"
	"hushbox/pbx/store"
	"hushbox/pbx/web"
)

// Settings keys in the store. The SIP, media and web ones are used at the
// next start unless their command-line flag was given; the network and
// time ones are for the appliance's /init (network.conf, time.conf). An
// empty stored value means "not set": the flag's default applies.
const (
	SettingSIPAddr    = "sip.addr"
	SettingSIPTLSAddr = "sip.tls_addr"
	SettingRTPPorts   = "rtp.ports"
	SettingMediaIP    = "media.ip"
	SettingWebAddr    = "web.addr"
	SettingNetMode    = "net.mode"    // dhcp or static
	SettingNetAddress = "net.address" // static: address/prefix, e.g. 192.168.1.10/24
	SettingNetGateway = "net.gateway" // static: default gateway
	SettingNetDNS     = "net.dns"     // static: name servers, space separated
	SettingTimeNTP    = "time.ntp"    // NTP servers, space separated
	SettingTimeZone   = "time.zone"   // IANA zone name, e.g. Europe/Berlin
)

// Files the daemon writes into the data folder for the appliance's /init.
const (
	NetworkConfName = "network.conf"
	TimeConfName    = "time.conf"
)

// TLSOff is the stored SIP TLS address that turns SIP TLS off (an empty
// value means "not set").
const TLSOff = "off"

// startSetting is a setting the daemon reads at start: its flag and the
// Config field it fills.
type startSetting struct {
	key, flag string
	field     func(*Config) *string
	check     func(string) error
}

var startSettings = []startSetting{
	{SettingSIPAddr, "sip", func(c *Config) *string { return &c.SIPAddr }, checkListenAddr},
	{SettingSIPTLSAddr, "sip-tls", func(c *Config) *string { return &c.SIPTLSAddr }, checkTLSAddr},
	{SettingRTPPorts, "rtp-ports", func(c *Config) *string { return &c.RTPPorts }, func(s string) error { _, _, err := ParsePortRange(s); return err }},
	{SettingMediaIP, "media-ip", func(c *Config) *string { return &c.MediaIP }, checkMediaIP},
	{SettingWebAddr, "web", func(c *Config) *string { return &c.WebAddr }, checkListenAddr},
}

// fromFlag reports whether the setting behind flag was given on the
// command line. A Config made in code (Flags nil) counts every non-empty
// value as given.
func (c *Config) fromFlag(flag, value string) bool {
	if c.Flags == nil {
		return value != ""
	}
	return c.Flags[flag]
}

// applyStored fills the Config fields not given on the command line from
// the store. A stored value that is no longer valid is logged and skipped,
// so a bad setting never keeps the box from starting.
func applyStored(db *store.DB, cfg *Config, log *slog.Logger) error {
	for _, s := range startSettings {
		f := s.field(cfg)
		if cfg.fromFlag(s.flag, *f) {
			continue
		}
		v, ok, err := db.Setting(s.key)
		if err != nil {
			return fmt.Errorf("read setting %s: %w", s.key, err)
		}
		if !ok || v == "" {
			continue
		}
		if err := s.check(v); err != nil {
			log.Warn("stored setting ignored", "key", s.key, "value", v, "err", err)
			continue
		}
		if s.key == SettingSIPTLSAddr && v == TLSOff {
			v = ""
		}
		*f = v
	}
	return nil
}

// checkListenAddr accepts HOST:PORT or :PORT with an IP literal host and a
// port from 1 to 65535.
func checkListenAddr(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("want HOST:PORT or :PORT, e.g. :5060")
	}
	if host != "" {
		if _, err := netip.ParseAddr(host); err != nil {
			return fmt.Errorf("%q is not an IP address", host)
		}
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %q: want 1 to 65535", port)
	}
	return nil
}

func checkTLSAddr(s string) error {
	if s == TLSOff {
		return nil
	}
	if err := checkListenAddr(s); err != nil {
		return fmt.Errorf("%w, or %q", err, TLSOff)
	}
	return nil
}

// checkMediaIP accepts empty (guess) or a unicast IP address.
func checkMediaIP(s string) error {
	if s == "" {
		return nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.IsUnspecified() || a.IsMulticast() {
		return fmt.Errorf("want a unicast IP address, or empty to guess")
	}
	return nil
}

// checkIP accepts a unicast IP address.
func checkIP(s string) error {
	if s == "" {
		return nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.IsUnspecified() || a.IsMulticast() || a.Zone() != "" {
		return fmt.Errorf("want an IP address")
	}
	return nil
}

// checkPrefix accepts ADDRESS/PREFIX of a host (not the network itself).
func checkPrefix(s string) error {
	if s == "" {
		return nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return fmt.Errorf("want ADDRESS/PREFIX, e.g. 192.168.1.10/24")
	}
	a := p.Addr()
	if a.IsUnspecified() || a.IsMulticast() || a.IsLoopback() || (a.Is4() && p.Bits() < 31 && p == p.Masked()) {
		return fmt.Errorf("%s is not a host address", a)
	}
	return nil
}

// listOf checks a space or comma separated list of at most max items.
func listOf(max int, each func(string) error) func(string) error {
	return func(s string) error {
		items := splitList(s)
		if len(items) > max {
			return fmt.Errorf("at most %d", max)
		}
		for _, it := range items {
			if err := each(it); err != nil {
				return fmt.Errorf("%s: %w", it, err)
			}
		}
		return nil
	}
}

// splitList splits at spaces and commas.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' })
}

// checkHost accepts an IP address or a DNS name.
func checkHost(s string) error {
	if _, err := netip.ParseAddr(s); err == nil {
		return nil
	}
	if len(s) > 253 {
		return errors.New("name too long")
	}
	for _, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return errors.New("not a host name")
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return errors.New("not a host name")
			}
		}
	}
	return nil
}

// checkZone accepts an IANA time zone name such as UTC or Europe/Berlin
// (checked by form: the appliance, not this process, has the zone files).
func checkZone(s string) error {
	if s == "" {
		return nil
	}
	if len(s) > 64 || strings.HasPrefix(s, "/") || strings.Contains(s, "..") || strings.HasSuffix(s, "/") {
		return errors.New("want a zone name such as UTC or Europe/Berlin")
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("/_+-", c)) {
			return errors.New("want a zone name such as UTC or Europe/Berlin")
		}
	}
	return nil
}

// checkNetwork is the rule across the network fields: a static address
// needs an address and a gateway inside its network.
func checkNetwork(v map[string]string) map[string]string {
	errs := map[string]string{}
	if v[SettingNetMode] != "static" {
		return errs
	}
	p, err := netip.ParsePrefix(v[SettingNetAddress])
	if err != nil {
		errs[SettingNetAddress] = "a static address needs ADDRESS/PREFIX"
	}
	gw := v[SettingNetGateway]
	if gw == "" {
		errs[SettingNetGateway] = "a static address needs a gateway"
	} else if g, err := netip.ParseAddr(gw); err == nil && p.IsValid() && !p.Masked().Contains(g) {
		errs[SettingNetGateway] = fmt.Sprintf("not inside %s", p.Masked())
	}
	return errs
}

// settingsForm describes the settings page's fields with the values the
// daemon runs with (cfg after applyStored) and which flags were given.
func settingsForm(cfg Config, flagRealm bool, dataDir string, db *store.DB) *web.Settings {
	flag := func(name, value string) string {
		if cfg.fromFlag(name, value) {
			return "--" + name
		}
		return ""
	}
	realmFlag := ""
	if flagRealm {
		realmFlag = "--realm"
	}
	tls := cfg.SIPTLSAddr
	if tls == "" {
		tls = TLSOff
	}
	const sipGroup, netGroup, timeGroup = "SIP and media", "Network (appliance)", "Time (appliance)"
	boot := "applied by the appliance at its next boot"
	fields := []web.SettingField{
		{Key: control.SettingRealm, Label: "Realm", Group: sipGroup, Running: cfg.Realm, Flag: realmFlag, Restart: true, Check: ValidRealm,
			Help: "digest realm; phones need their passwords reset after a change"},
		{Key: SettingSIPAddr, Label: "SIP address (UDP and TCP)", Group: sipGroup, Running: cfg.SIPAddr, Default: ":5060", Flag: flag("sip", cfg.SIPAddr), Restart: true, Check: checkListenAddr},
		{Key: SettingSIPTLSAddr, Label: "SIP TLS address", Group: sipGroup, Running: tls, Default: ":5061", Flag: flag("sip-tls", cfg.SIPTLSAddr), Restart: true, Check: checkTLSAddr,
			Help: "HOST:PORT, or off"},
		{Key: SettingRTPPorts, Label: "RTP port range", Group: sipGroup, Running: cfg.RTPPorts, Default: "20000-20999", Flag: flag("rtp-ports", cfg.RTPPorts), Restart: true,
			Check: func(s string) error { _, _, err := ParsePortRange(s); return err }, Help: "LO-HI, 4 ports per call"},
		{Key: SettingMediaIP, Label: "Media IP address", Group: sipGroup, Running: cfg.MediaIP, Flag: flag("media-ip", cfg.MediaIP), Restart: true, Check: checkMediaIP,
			Help: "advertised to phones; empty guesses"},
		{Key: SettingWebAddr, Label: "Web page address", Group: sipGroup, Running: cfg.WebAddr, Default: web.DefaultAddr, Flag: flag("web", cfg.WebAddr), Restart: true, Check: checkListenAddr,
			Help: "HTTPS HOST:PORT; the page moves there after a restart"},
		{Key: SettingNetMode, Label: "Address from", Group: netGroup, Default: "dhcp", Choices: []string{"dhcp", "static"}, Help: boot},
		{Key: SettingNetAddress, Label: "Static address/prefix", Group: netGroup, Check: checkPrefix, Help: "e.g. 192.168.1.10/24"},
		{Key: SettingNetGateway, Label: "Gateway", Group: netGroup, Check: checkIP},
		{Key: SettingNetDNS, Label: "DNS servers", Group: netGroup, Check: listOf(3, checkIP), Help: "up to 3, space separated"},
		{Key: SettingTimeNTP, Label: "NTP servers", Group: timeGroup, Default: "pool.ntp.org", Check: listOf(4, checkHost), Help: "up to 4, space separated; " + boot},
		{Key: SettingTimeZone, Label: "Time zone", Group: timeGroup, Default: "UTC", Check: checkZone, Help: "e.g. Europe/Berlin"},
	}
	return &web.Settings{
		Fields:   fields,
		CheckAll: checkNetwork,
		Saved: func(map[string]string) error {
			return writeSystemConf(dataDir, db)
		},
	}
}

// writeSystemConf writes DATA/network.conf and DATA/time.conf from the
// stored settings, for the appliance's /init to source before it starts
// hushbox. Format (docs/settings.md): one KEY='VALUE' per line, sh syntax,
// values single-quoted (they are validated and hold no quote; one would be
// escaped anyway), comments starting with #. Keys:
//
//	network.conf: NET_MODE (dhcp|static), NET_ADDRESS (ADDRESS/PREFIX),
//	              NET_GATEWAY, NET_DNS (space separated)
//	time.conf:    TIME_NTP (space separated), TIME_ZONE (IANA name)
//
// Empty values mean "not set" (/init keeps its default: DHCP, UTC).
func writeSystemConf(dir string, db *store.DB) error {
	get := func(key, def string) (string, error) {
		v, ok, err := db.Setting(key)
		if err != nil {
			return "", fmt.Errorf("read setting %s: %w", key, err)
		}
		if !ok || v == "" {
			return def, nil
		}
		return v, nil
	}
	var netv, timev [][2]string
	for _, kv := range []struct{ name, key, def string }{
		{"NET_MODE", SettingNetMode, "dhcp"}, {"NET_ADDRESS", SettingNetAddress, ""},
		{"NET_GATEWAY", SettingNetGateway, ""}, {"NET_DNS", SettingNetDNS, ""},
	} {
		v, err := get(kv.key, kv.def)
		if err != nil {
			return err
		}
		if kv.key == SettingNetDNS {
			v = strings.Join(splitList(v), " ")
		}
		netv = append(netv, [2]string{kv.name, v})
	}
	for _, kv := range []struct{ name, key, def string }{
		{"TIME_NTP", SettingTimeNTP, ""}, {"TIME_ZONE", SettingTimeZone, ""},
	} {
		v, err := get(kv.key, kv.def)
		if err != nil {
			return err
		}
		if kv.key == SettingTimeNTP {
			v = strings.Join(splitList(v), " ")
		}
		timev = append(timev, [2]string{kv.name, v})
	}
	if err := writeConf(filepath.Join(dir, NetworkConfName), "network settings", netv); err != nil {
		return err
	}
	return writeConf(filepath.Join(dir, TimeConfName), "time settings", timev)
}

// shQuote single-quotes s for sh.
func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// writeConf writes KEY='VALUE' lines atomically (temporary file, rename).
func writeConf(path, what string, kv [][2]string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# hushbox %s, written by the daemon from the web page's settings.\n# Sourced by the appliance's /init; see docs/settings.md. Do not edit: the next save replaces it.\n", what)
	for _, p := range kv {
		fmt.Fprintf(&b, "%s=%s\n", p[0], shQuote(p[1]))
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}
