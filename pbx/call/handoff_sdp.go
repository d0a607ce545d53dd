package call

import (
	"bytes"
	"errors"
	"net/netip"
	"strconv"
	"strings"
)

// errNoSDP: the leg has no SDP of ours to repeat.
var errNoSDP = errors.New("call: no SDP sent on this leg yet")

// pointSDP is body, the SDP we last sent a party, with its connection
// address and first audio port set to at and its origin version raised by
// one (RFC 3264 8): the same codecs and keys, media somewhere else. An
// a=rtcp attribute of the audio stream is dropped (RTCP goes to port + 1).
func pointSDP(body []byte, at netip.AddrPort) ([]byte, error) {
	if len(body) == 0 {
		return nil, errNoSDP
	}
	addrType := "IP4"
	if at.Addr().Is6() && !at.Addr().Is4In6() {
		addrType = "IP6"
	}
	addr := at.Addr().Unmap().String()
	lines := strings.Split(strings.ReplaceAll(string(body), "\r\n", "\n"), "\n")
	var out bytes.Buffer
	inAudio, audioSeen := false, false
	for _, ln := range lines {
		if ln == "" {
			continue
		}
		switch {
		case strings.HasPrefix(ln, "o="):
			f := strings.Fields(ln)
			if len(f) >= 6 {
				if v, err := strconv.ParseUint(f[2], 10, 63); err == nil {
					f[2] = strconv.FormatUint(v+1, 10)
				}
				f[4], f[5] = addrType, addr
				ln = strings.Join(f, " ")
			}
		case strings.HasPrefix(ln, "c="):
			if !audioSeen || inAudio {
				ln = "c=IN " + addrType + " " + addr
			}
		case strings.HasPrefix(ln, "m="):
			inAudio = false
			f := strings.Fields(ln)
			if len(f) >= 4 && f[0] == "m=audio" && !audioSeen && f[1] != "0" {
				f[1] = strconv.Itoa(int(at.Port()))
				ln = strings.Join(f, " ")
				inAudio, audioSeen = true, true
			}
		case inAudio && strings.HasPrefix(ln, "a=rtcp:"):
			continue
		}
		out.WriteString(ln)
		out.WriteString("\r\n")
	}
	if !audioSeen {
		return nil, errors.New("call: our SDP has no audio stream")
	}
	return out.Bytes(), nil
}
