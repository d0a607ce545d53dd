// Package sipmsg builds the SIP messages hushbox sends in answer to others:
// responses carrying the configured Server header, and the small header
// helpers the registrar and the call layer share.
package sipmsg

import (
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// Allow is the method list hushbox advertises.
const Allow = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO"

// Signer adds hushbox's identification to messages. An empty Name sends no
// Server/User-Agent header at all (the owner may not want to advertise).
type Signer struct{ Name string }

// Response builds a response to req with the Server header set.
func (s Signer) Response(req *sip.Request, code int, reason string, body []byte) *sip.Response {
	res := sip.NewResponseFromRequest(req, code, reason, body)
	s.Sign(res)
	return res
}

// Sign adds Server (responses) or User-Agent (requests).
func (s Signer) Sign(m sip.Message) {
	if s.Name == "" {
		return
	}
	switch v := m.(type) {
	case *sip.Response:
		v.RemoveHeader("Server")
		v.AppendHeader(sip.NewHeader("Server", s.Name))
	case *sip.Request:
		v.RemoveHeader("User-Agent")
		v.AppendHeader(sip.NewHeader("User-Agent", s.Name))
	}
}

// headerGetter is what requests and responses share for reading headers.
type headerGetter interface {
	GetHeader(name string) sip.Header
	GetHeaders(name string) []sip.Header
}

// HeaderInt reads a non-negative integer header (Expires, Min-Expires).
// ok is false when the header is missing or not a number.
func HeaderInt(m headerGetter, name string) (int, bool) {
	h := FirstHeader(m, name)
	if h == nil {
		return 0, false
	}
	v, err := strconv.Atoi(strings.TrimSpace(h.Value()))
	if err != nil || v < 0 {
		return 0, false
	}
	return v, true
}

// Contacts returns every Contact of a message, across repeated headers
// and comma-separated values.
func Contacts(m headerGetter) []*sip.ContactHeader {
	var out []*sip.ContactHeader
	EachHeader(m, "Contact", func(h sip.Header) bool {
		if c, ok := h.(*sip.ContactHeader); ok {
			out = append(out, c)
		}
		return true
	})
	return out
}

// Tag returns the tag parameter of a From or To header value.
func Tag(params sip.HeaderParams) string {
	t, _ := params.Get("tag")
	return t
}
