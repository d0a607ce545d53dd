// Package provision turns an extension's SIP account into what a
// softphone scans or downloads to configure itself: a SIP URI carrying the
// credentials, a JSON document, a Linphone remote-provisioning XML file,
// and QR codes (PNG or SVG) of any of them.
//
// # Formats
//
// There is no common QR format across softphones: Zoiper and Acrobits
// (Groundwire) QR codes point at their vendors' provisioning services, and
// Linphone scans a QR code holding an https URL of a remote-provisioning
// XML file. So the package offers:
//
//   - Account.URI: "sip:USER:PASSWORD@HOST:PORT;transport=T", the RFC 3261
//     SIP URI with the password in its user-info (RFC 3261 19.1.1 allows
//     it; it is used here only inside a QR code shown to the account's
//     owner). Every byte of user and password other than letters,
//     digits and "-._~" is percent-encoded (UTF-8), so ':', '@', ';',
//     '%', '?', '#', spaces and non-ASCII survive any URI parser. IPv6 hosts are
//     bracketed. Display name and realm are not in it.
//   - Account.JSON: {"type":"hushbox-sip-account","version":1,...} with
//     every field plus "uri" (the URI without password), for hushbox's own
//     phone and for scripts.
//   - Account.LinphoneXML: the lpconfig XML Linphone fetches for remote
//     provisioning (sections proxy_0 and auth_info_0). The web UI serves
//     it at a one-time https URL and puts that URL in the QR code.
package provision

import (
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Transports.
const (
	UDP = "udp"
	TCP = "tcp"
	TLS = "tls"
)

// Field limits.
const (
	MaxUser        = 64
	MaxPassword    = 128
	MaxDisplayName = 64
	MaxRealm       = 128
	MaxHost        = 253
)

// Account is one SIP account as a softphone needs it.
type Account struct {
	Server      string // host name or IP address of the box, as phones reach it
	Port        int    // 0: 5060 for udp and tcp, 5061 for tls
	Transport   string // udp, tcp or tls
	User        string // the extension number (also the auth user name)
	Password    string
	Realm       string // digest realm; empty: the phone takes it from the challenge
	DisplayName string
}

// DefaultPort returns the standard port of a transport.
func DefaultPort(transport string) int {
	if transport == TLS {
		return 5061
	}
	return 5060
}

// port returns the port to use.
func (a Account) port() int {
	if a.Port == 0 {
		return DefaultPort(a.Transport)
	}
	return a.Port
}

// printable reports whether s is valid UTF-8 without control characters.
func printable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) })
}

// Validate checks every field.
func (a Account) Validate() error {
	if err := validHost(a.Server); err != nil {
		return err
	}
	if a.Port < 0 || a.Port > 65535 {
		return fmt.Errorf("provision: port %d not in 1..65535", a.Port)
	}
	switch a.Transport {
	case UDP, TCP, TLS:
	default:
		return fmt.Errorf("provision: transport %q: want udp, tcp or tls", a.Transport)
	}
	if a.User == "" || len(a.User) > MaxUser || !printable(a.User) {
		return fmt.Errorf("provision: user must be 1 to %d printable bytes", MaxUser)
	}
	if len(a.Password) > MaxPassword || !printable(a.Password) {
		return fmt.Errorf("provision: password must be at most %d printable bytes", MaxPassword)
	}
	if len(a.Realm) > MaxRealm || !printable(a.Realm) {
		return fmt.Errorf("provision: realm must be at most %d printable bytes", MaxRealm)
	}
	if utf8.RuneCountInString(a.DisplayName) > MaxDisplayName || !printable(a.DisplayName) {
		return fmt.Errorf("provision: display name must be at most %d printable characters", MaxDisplayName)
	}
	return nil
}

// validHost accepts an IP address or a DNS name.
func validHost(h string) error {
	if net.ParseIP(h) != nil {
		return nil
	}
	if h == "" || len(h) > MaxHost {
		return fmt.Errorf("provision: server %q: want an IP address or host name", h)
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("provision: server %q: want an IP address or host name", h)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("provision: server %q: want an IP address or host name", h)
			}
		}
	}
	return nil
}

// hostPort formats host and port for a URI, bracketing IPv6.
func (a Account) hostPort() string {
	return net.JoinHostPort(a.Server, strconv.Itoa(a.port()))
}

// Escape percent-encodes every byte of s outside A-Z a-z 0-9 - . _ ~, the
// conservative subset of RFC 3261's user and password characters.
func Escape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// AOR returns the account's SIP URI without password:
// "sip:USER@HOST:PORT;transport=T".
func (a Account) AOR() (string, error) {
	if err := a.Validate(); err != nil {
		return "", err
	}
	return "sip:" + Escape(a.User) + "@" + a.hostPort() + ";transport=" + a.Transport, nil
}

// URI returns the provisioning URI with the password:
// "sip:USER:PASSWORD@HOST:PORT;transport=T" (no ":PASSWORD" when the
// password is empty).
func (a Account) URI() (string, error) {
	if err := a.Validate(); err != nil {
		return "", err
	}
	userinfo := Escape(a.User)
	if a.Password != "" {
		userinfo += ":" + Escape(a.Password)
	}
	return "sip:" + userinfo + "@" + a.hostPort() + ";transport=" + a.Transport, nil
}

// accountJSON is the JSON document's shape.
type accountJSON struct {
	Type        string `json:"type"`
	Version     int    `json:"version"`
	Server      string `json:"server"`
	Port        int    `json:"port"`
	Transport   string `json:"transport"`
	User        string `json:"user"`
	Password    string `json:"password"`
	Realm       string `json:"realm,omitempty"`
	DisplayName string `json:"display_name,omitempty"`
	URI         string `json:"uri"`
}

// JSONType is the "type" member of Account.JSON documents.
const JSONType = "hushbox-sip-account"

// JSON returns the account as a compact JSON document (see the package
// documentation); the port is always explicit.
func (a Account) JSON() ([]byte, error) {
	aor, err := a.AOR()
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(accountJSON{
		Type: JSONType, Version: 1,
		Server: a.Server, Port: a.port(), Transport: a.Transport,
		User: a.User, Password: a.Password, Realm: a.Realm, DisplayName: a.DisplayName,
		URI: aor,
	})
	if err != nil {
		return nil, fmt.Errorf("provision: encode JSON: %w", err)
	}
	return b, nil
}
