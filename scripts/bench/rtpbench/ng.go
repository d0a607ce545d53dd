package main

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// ngClient speaks rtpengine's NG control protocol: a request is
// "COOKIE <bencoded dictionary>" in one UDP datagram, the reply repeats the
// cookie. Only offer, answer and delete are used.
type ngClient struct {
	conn   *net.UDPConn
	prefix string
	cookie atomic.Uint64
}

// dialNG connects to rtpengine's --listen-ng address.
func dialNG(addr string) (*ngClient, error) {
	ra, err := net.ResolveUDPAddr("udp4", addr)
	if err != nil {
		return nil, fmt.Errorf("ng address %q: %w", addr, err)
	}
	c, err := net.DialUDP("udp4", nil, ra)
	if err != nil {
		return nil, fmt.Errorf("ng dial %s: %w", addr, err)
	}
	return &ngClient{conn: c, prefix: fmt.Sprintf("hb%d-%x-", os.Getpid(), rand.Uint32())}, nil
}

func (c *ngClient) Close() error { return c.conn.Close() }

// call sends one command and returns the reply's dictionary; a reply whose
// "result" is not "ok" is an error carrying rtpengine's "error-reason".
func (c *ngClient) call(req map[string]any) (map[string]any, error) {
	// rtpengine answers a repeated cookie from its reply cache, so cookies
	// must not repeat across processes either.
	cookie := c.prefix + strconv.FormatUint(c.cookie.Add(1), 10)
	var buf bytes.Buffer
	buf.WriteString(cookie + " ")
	if err := encodeBencode(&buf, req); err != nil {
		return nil, fmt.Errorf("ng encode: %w", err)
	}
	rb := make([]byte, 65536)
	for try := 0; try < 3; try++ {
		if _, err := c.conn.Write(buf.Bytes()); err != nil {
			return nil, fmt.Errorf("ng send: %w", err)
		}
		_ = c.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		for {
			n, err := c.conn.Read(rb)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					break // retransmit
				}
				return nil, fmt.Errorf("ng read: %w", err)
			}
			gotCookie, reply, err := parseNGReply(rb[:n])
			if err != nil {
				return nil, err
			}
			if gotCookie != cookie {
				continue // a late reply to an earlier try
			}
			return reply, nil
		}
	}
	return nil, fmt.Errorf("ng %v: no reply", req["command"])
}

// parseNGReply splits "COOKIE <bencoded dictionary>" and checks the result.
func parseNGReply(b []byte) (cookie string, reply map[string]any, err error) {
	sp := bytes.IndexByte(b, ' ')
	if sp < 1 {
		return "", nil, fmt.Errorf("ng reply: no cookie")
	}
	v, err := decodeBencode(b[sp+1:])
	if err != nil {
		return "", nil, fmt.Errorf("ng reply: %w", err)
	}
	d, ok := v.(map[string]any)
	if !ok {
		return "", nil, fmt.Errorf("ng reply: not a dictionary")
	}
	cookie = string(b[:sp])
	if r, _ := d["result"].(string); r != "ok" {
		reason, _ := d["error-reason"].(string)
		return cookie, nil, fmt.Errorf("ng reply: result %q: %s", r, reason)
	}
	return cookie, d, nil
}

// audioSDP is a minimal G.711 offer/answer for a party at ap.
func audioSDP(ap netip.AddrPort, session int) string {
	ip := ap.Addr().String()
	return fmt.Sprintf("v=0\r\no=- %d 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n", session, ip, ip, ap.Port())
}

// sdpMedia returns the connection address and audio port of an SDP body
// (session-level or media-level c= line, the last one seen before or in
// the first m=audio section).
func sdpMedia(sdp string) (netip.AddrPort, error) {
	var addr netip.Addr
	port := -1
	for _, line := range strings.Split(sdp, "\n") {
		line = strings.TrimRight(line, "\r")
		switch {
		case strings.HasPrefix(line, "c=IN IP4 "):
			a, err := netip.ParseAddr(strings.TrimSpace(line[len("c=IN IP4 "):]))
			if err != nil {
				return netip.AddrPort{}, fmt.Errorf("sdp c= line %q: %w", line, err)
			}
			addr = a
		case strings.HasPrefix(line, "m=audio "):
			if port >= 0 {
				return netip.AddrPortFrom(addr, uint16(port)), nil
			}
			f := strings.Fields(line)
			if len(f) < 2 {
				return netip.AddrPort{}, fmt.Errorf("sdp m= line %q", line)
			}
			p, err := strconv.Atoi(f[1])
			if err != nil || p < 1 || p > 65535 {
				return netip.AddrPort{}, fmt.Errorf("sdp m= port %q", f[1])
			}
			port = p
		}
	}
	if port < 0 || !addr.IsValid() {
		return netip.AddrPort{}, fmt.Errorf("sdp: no audio address")
	}
	return netip.AddrPortFrom(addr, uint16(port)), nil
}

// ngSetup opens one call through rtpengine between parties a and b and
// returns where a must send (towards b) and where b must send (towards a).
func (c *ngClient) ngSetup(callID string, a, b netip.AddrPort, n int) (toB, toA netip.AddrPort, err error) {
	flags := []string{"trust-address"}
	off, err := c.call(map[string]any{
		"command": "offer", "call-id": callID, "from-tag": "a" + callID,
		"sdp": audioSDP(a, n), "ICE": "remove", "flags": flags,
		"replace": []string{"origin", "session-connection"},
	})
	if err != nil {
		return toB, toA, fmt.Errorf("offer %s: %w", callID, err)
	}
	sdpB, _ := off["sdp"].(string)
	// The offer rtpengine returns goes to b: b sends to its address.
	if toA, err = sdpMedia(sdpB); err != nil {
		return toB, toA, fmt.Errorf("offer %s: %w (reply %v)", callID, err, off)
	}
	ans, err := c.call(map[string]any{
		"command": "answer", "call-id": callID, "from-tag": "a" + callID, "to-tag": "b" + callID,
		"sdp": audioSDP(b, n), "ICE": "remove", "flags": flags,
		"replace": []string{"origin", "session-connection"},
	})
	if err != nil {
		return toB, toA, fmt.Errorf("answer %s: %w", callID, err)
	}
	sdpA, _ := ans["sdp"].(string)
	if toB, err = sdpMedia(sdpA); err != nil {
		return toB, toA, fmt.Errorf("answer %s: %w", callID, err)
	}
	return toB, toA, nil
}

// ngDelete ends a call (errors ignored by callers at teardown).
func (c *ngClient) ngDelete(callID string) error {
	_, err := c.call(map[string]any{"command": "delete", "call-id": callID, "from-tag": "a" + callID})
	return err
}
