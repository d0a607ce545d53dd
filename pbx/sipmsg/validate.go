package sipmsg

import (
	"strings"

	"github.com/emiago/sipgo/sip"
)

// Validate checks what the SIP parser lets through but RFC 3261 forbids,
// before any handler sees the request. It returns 0 when the request may
// be processed, else the status code and reason to refuse it with.
func Validate(req *sip.Request) (int, string) {
	if req.From() == nil || req.To() == nil || req.CallID() == nil || req.CSeq() == nil {
		return 400, "Missing Mandatory Header"
	}
	if !strings.EqualFold(strings.TrimSpace(string(req.CSeq().MethodName)), string(req.Method)) {
		// RFC 3261 8.2: the CSeq method must equal the request's.
		return 400, "CSeq Method Mismatch"
	}
	if n := CountHeaders(req, "Content-Length"); n > 1 {
		return 400, "Multiple Content-Length"
	}
	switch strings.ToLower(req.Recipient.Scheme) {
	case "sip", "sips":
	default:
		return 416, "Unsupported URI Scheme"
	}
	return 0, ""
}
