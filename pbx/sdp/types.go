package sdp

import (
	"fmt"
	"log/slog"
	"net/netip"
	"strings"

	"hushbox/pbx/srtp"
)

// Directions of a media stream (RFC 3264 section 5.1).
const (
	SendRecv = "sendrecv"
	SendOnly = "sendonly"
	RecvOnly = "recvonly"
	Inactive = "inactive"
)

// Codec is one payload format of a media stream.
type Codec struct {
	PT       uint8  // RTP payload type
	Name     string // encoding name; "PCMU", "PCMA" and "telephone-event" are canonicalised to that spelling
	Rate     int    // clock rate in Hz
	Channels int    // 1 unless the rtpmap says otherwise
	Fmtp     string // a=fmtp parameters, "" when absent
}

// Media is the audio stream of a session: where to send RTP and how.
type Media struct {
	Proto string     // transport profile, e.g. "RTP/AVP"
	Addr  netip.Addr // connection address; a media-level c= overrides the session-level one
	Port  int        // RTP port; 0 = stream rejected
	// RTCP is the address from a=rtcp (RFC 3605) when present, zero otherwise
	// (RTCP then goes to Port+1).
	RTCP   netip.AddrPort
	Codecs []Codec // in the order of the m= line
	// Direction is SendRecv (the default), SendOnly, RecvOnly or Inactive.
	// The old hold style c=0.0.0.0 (RFC 2543, RFC 3264 section 8.4) means "do
	// not send to me": Parse reports it by removing the receive side, so
	// sendrecv becomes SendOnly and recvonly becomes Inactive. Addr then stays
	// the unspecified address, so callers can still tell. (ICE offers also
	// write 0.0.0.0, meaning "see the candidates"; those come with DTLS-SRTP
	// profiles, which BuildOffer refuses anyway.)
	Direction string
	PTime     int      // a=ptime in ms, 0 when absent or unreadable
	Crypto    []string // raw a=crypto values (SDES keys: secret, never log them)
	// SDES holds the a=crypto values of Crypto that hushbox can use, parsed,
	// in the order of the SDP (unreadable or unsupported ones are left out).
	// Secret like Crypto; srtp.Crypto prints redacted.
	SDES []srtp.Crypto
	// Extra holds the other attributes worth carrying to the other leg, as
	// "name" or "name:value" without "a=" (see keepAttribute).
	Extra []string
}

// Stream is one m= line as written, kept so that answers and re-offers can
// reproduce the same number and order of m= lines (RFC 3264 section 6).
type Stream struct {
	Kind    string   // "audio", "video", "application", ...
	Port    int      // 0 = rejected
	Proto   string   // e.g. "RTP/AVP"
	Formats []string // the format list (payload types for RTP)
}

// Session is a parsed SDP body.
type Session struct {
	Origin Origin     // the o= line
	Addr   netip.Addr // session-level c= address, zero when absent
	// Audio is the first RTP audio stream with a port other than 0, or the
	// first RTP audio stream when all of them are rejected.
	Audio *Media
	// AudioIndex is the position of Audio in Streams.
	AudioIndex int
	// OtherMedia counts the m= lines other than Audio (video, extra audio, ...).
	OtherMedia int
	// Streams lists every m= line in order.
	Streams []Stream
}

// String describes the stream without its SDES keys, so that a Media can be
// printed with %v safely.
func (m Media) String() string {
	names := make([]string, len(m.Codecs))
	for i, c := range m.Codecs {
		names[i] = fmt.Sprintf("%d:%s/%d", c.PT, c.Name, c.Rate)
	}
	suites := make([]string, len(m.SDES))
	for i, c := range m.SDES {
		suites[i] = c.Suite.String()
	}
	return fmt.Sprintf("%s %s port %d %s codecs [%s] ptime %d crypto %d [%s] (redacted)",
		m.Proto, m.Addr, m.Port, m.Direction, strings.Join(names, " "), m.PTime, len(m.Crypto),
		strings.Join(suites, " "))
}

// LogValue keeps the SDES keys out of slog output.
func (m Media) LogValue() slog.Value {
	return slog.StringValue(m.String())
}
