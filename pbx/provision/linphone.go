package provision

import (
	"encoding/xml"
	"fmt"
	"strings"
)

// LinphoneContentType is the media type to serve LinphoneXML with.
const LinphoneContentType = "application/xml"

type lpConfig struct {
	XMLName        xml.Name    `xml:"config"`
	XMLNS          string      `xml:"xmlns,attr"`
	XSI            string      `xml:"xmlns:xsi,attr"`
	SchemaLocation string      `xml:"xsi:schemaLocation,attr"`
	Sections       []lpSection `xml:"section"`
}

type lpSection struct {
	Name      string    `xml:"name,attr"`
	Overwrite string    `xml:"overwrite,attr"`
	Entries   []lpEntry `xml:"entry"`
}

type lpEntry struct {
	Name      string `xml:"name,attr"`
	Overwrite string `xml:"overwrite,attr"`
	Value     string `xml:",chardata"`
}

// quoted makes a SIP quoted-string (RFC 3261 25.1): '"' and '\' escaped.
func quoted(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// LinphoneXML returns a Linphone remote-provisioning document that adds
// the account as Linphone's first account (proxy_0 and auth_info_0,
// replacing what those sections held). Serve it over https at a one-time
// URL; the QR code for Linphone holds that URL.
func (a Account) LinphoneXML() ([]byte, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	identity := "<sip:" + Escape(a.User) + "@" + a.Server + ">"
	if strings.Contains(a.Server, ":") { // IPv6
		identity = "<sip:" + Escape(a.User) + "@[" + a.Server + "]>"
	}
	if a.DisplayName != "" {
		identity = quoted(a.DisplayName) + " " + identity
	}
	proxy := "<sip:" + a.hostPort() + ";transport=" + a.Transport + ">"
	e := func(name, value string) lpEntry { return lpEntry{Name: name, Overwrite: "true", Value: value} }
	cfg := lpConfig{
		XMLNS:          "http://www.linphone.org/xsds/lpconfig.xsd",
		XSI:            "http://www.w3.org/2001/XMLSchema-instance",
		SchemaLocation: "http://www.linphone.org/xsds/lpconfig.xsd lpconfig.xsd",
		Sections: []lpSection{
			{Name: "proxy_0", Overwrite: "true", Entries: []lpEntry{
				e("reg_identity", identity),
				e("reg_proxy", proxy),
				e("reg_route", proxy),
				e("reg_sendregister", "1"),
				e("realm", a.Realm),
			}},
			{Name: "auth_info_0", Overwrite: "true", Entries: []lpEntry{
				e("username", a.User),
				e("userid", a.User),
				e("passwd", a.Password),
				e("realm", a.Realm),
				e("domain", a.Server),
			}},
		},
	}
	out, err := xml.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("provision: encode Linphone XML: %w", err)
	}
	return append([]byte(xml.Header), append(out, '\n')...), nil
}
