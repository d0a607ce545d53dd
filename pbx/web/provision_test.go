package web

import (
	"bytes"
	"encoding/base64"
	"html"
	"image/png"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var qrImg = regexp.MustCompile(`<img src="data:image/png;base64,([A-Za-z0-9+/=&#;]+)"`)

func TestProvisioningQR(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sip    SIPAccess
		wantQR bool
	}{
		{"no SIP address", SIPAccess{}, false},
		{"udp", SIPAccess{Server: "192.0.2.10", Port: 5060}, true},
		{"tls", SIPAccess{Server: "hushbox.local", Transport: "tls", Port: 5061, Realm: "hushbox"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.srv.cfg.SIP = tc.sip
			c, csrf := e.ready()
			if r := e.postForm(c, "/extensions", url.Values{"csrf": {csrf}, "number": {"101"}, "name": {"Alice"}}); r.StatusCode != http.StatusSeeOther {
				t.Fatalf("add = %d", r.StatusCode)
			}
			page := e.get(c, "/extensions")
			m := qrImg.FindStringSubmatch(page.body)
			if (m != nil) != tc.wantQR {
				t.Fatalf("QR code shown = %v, want %v; log:\n%s", m != nil, tc.wantQR, e.logs)
			}
			if strings.Contains(page.body, "ZgotmplZ") {
				t.Fatal("template sanitised the QR image away")
			}
			if m == nil {
				return
			}
			raw, err := base64.StdEncoding.DecodeString(html.UnescapeString(m[1]))
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(raw))
			if err != nil || img.Bounds().Dx() != qrSize {
				t.Fatalf("QR image: %v (err %v), want a %d px PNG", img.Bounds(), err, qrSize)
			}
			if qrImg.MatchString(e.get(c, "/extensions").body) {
				t.Fatal("QR code (it holds the password) shown a second time")
			}
		})
	}
}
