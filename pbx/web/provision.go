package web

import (
	"encoding/base64"
	"html/template"

	"hushbox/pbx/provision"
)

// qrSize is the provisioning QR code's size in pixels.
const qrSize = 256

// passwordFlash is the one-time message that shows a new SIP password and,
// when the box knows its SIP address, a QR code of the account
// (sip:USER:PASSWORD@HOST:PORT;transport=T) a softphone can scan.
func (s *Server) passwordFlash(msg, number, name, pw string) flash {
	f := flash{Msg: msg, PW: pw}
	sip := s.cfg.SIP
	if sip.Server == "" {
		return f
	}
	if sip.Transport == "" {
		sip.Transport = provision.UDP
	}
	acct := provision.Account{Server: sip.Server, Port: sip.Port, Transport: sip.Transport, User: number,
		Password: pw, Realm: sip.Realm, DisplayName: name}
	uri, err := acct.URI()
	if err != nil {
		s.log.Error("web: provisioning URI", "ext", number, "err", err)
		return f
	}
	png, err := provision.QRPNG(uri, qrSize)
	if err != nil {
		s.log.Error("web: provisioning QR code", "ext", number, "err", err)
		return f
	}
	f.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
	return f
}
