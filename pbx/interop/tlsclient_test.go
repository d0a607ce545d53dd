package interop

import (
	"bufio"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestTLSRegisterVerifiedCert: a SIP client that really verifies the
// server (baresip 1.0 does not, see baresipTLSConfig) registers over TLS.
// The daemon's TLS port must serve the certificate it wrote to DATA/sip.crt,
// valid for 127.0.0.1; a certificate the client does not trust must fail
// the handshake; a REGISTER is challenged (401), a wrong password is refused
// and the right one gets 200 OK, after which the binding shows transport TLS.
// The daemon runs with its default digest algorithms (SHA-256 first).
func TestTLSRegisterVerifiedCert(t *testing.T) {
	p := startPBX(t)
	p.addExt("101", "tls-client-101-pw")

	pemBytes, err := os.ReadFile(filepath.Join(p.data, "sip.crt"))
	if err != nil {
		t.Fatalf("daemon certificate: %v", err)
	}
	trusted := x509.NewCertPool()
	if !trusted.AppendCertsFromPEM(pemBytes) {
		t.Fatalf("DATA/sip.crt holds no PEM certificate:\n%s", pemBytes)
	}
	addr := fmt.Sprintf("%s:%d", p.host, p.tlsPort)

	t.Run("untrusted certificate refused", func(t *testing.T) {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr,
			&tls.Config{RootCAs: x509.NewCertPool(), ServerName: p.host, MinVersion: tls.VersionTLS12})
		if err == nil {
			c.Close()
			t.Fatal("handshake with an empty trust store succeeded")
		}
		var uerr x509.UnknownAuthorityError
		if !errors.As(err, &uerr) {
			t.Errorf("handshake error %v, want an unknown-authority error", err)
		}
	})

	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr,
		&tls.Config{RootCAs: trusted, ServerName: p.host, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatalf("TLS handshake trusting only DATA/sip.crt: %v", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second)) // bounds the whole exchange
	c := &sipStreamClient{conn: conn, r: bufio.NewReader(conn), host: p.host,
		localPort: conn.LocalAddr().(*net.TCPAddr).Port, callID: randomHex(8) + "@tls-client", tag: randomHex(4)}

	res := c.register(t, "101", "")
	if res.code != 401 {
		t.Fatalf("first REGISTER: %d %s, want 401", res.code, res.reason)
	}
	ch, ok := pickChallenge(res.headers("WWW-Authenticate"))
	if !ok {
		t.Fatalf("401 without a usable Digest challenge: %q", res.headers("WWW-Authenticate"))
	}
	t.Logf("challenge: algorithm %s realm %q", ch.algorithm, ch.realm)
	if ch.realm != testRealm {
		t.Errorf("challenge realm %q, want %q", ch.realm, testRealm)
	}

	wrong := c.register(t, "101", ch.authorization("101", "wrong-password", "REGISTER", c.registrarURI(), 1))
	if wrong.code != 401 && wrong.code != 403 {
		t.Errorf("REGISTER with a wrong password: %d %s, want 401 or 403", wrong.code, wrong.reason)
	}
	if n := len(p.bindings().transports("101")); n != 0 {
		t.Errorf("after a wrong password: %d bindings of 101, want 0", n)
	}

	// A fresh challenge: the daemon may have answered the wrong password
	// with a new nonce.
	if wrong.code == 401 {
		if c2, ok := pickChallenge(wrong.headers("WWW-Authenticate")); ok {
			ch = c2
		}
	}
	ok200 := c.register(t, "101", ch.authorization("101", "tls-client-101-pw", "REGISTER", c.registrarURI(), 1))
	if ok200.code != 200 {
		t.Fatalf("REGISTER with the right password: %d %s, want 200", ok200.code, ok200.reason)
	}
	if got := p.bindings().transports("101"); len(got) != 1 || !strings.EqualFold(got[0], "TLS") {
		t.Errorf("binding transports of 101: %v, want [TLS]", got)
	}
}

// sipStreamClient speaks SIP over one stream connection (TLS here).
type sipStreamClient struct {
	conn      net.Conn
	r         *bufio.Reader
	host      string
	localPort int
	callID    string
	tag       string
	cseq      int
}

func (c *sipStreamClient) registrarURI() string { return "sip:" + c.host }

// register sends one REGISTER for ext (with an Authorization header when
// auth is not empty) and returns the final response.
func (c *sipStreamClient) register(t *testing.T, ext, auth string) sipResponse {
	t.Helper()
	c.cseq++
	var b strings.Builder
	fmt.Fprintf(&b, "REGISTER %s SIP/2.0\r\n", c.registrarURI())
	fmt.Fprintf(&b, "Via: SIP/2.0/TLS %s:%d;branch=z9hG4bK%s;rport\r\n", c.host, c.localPort, randomHex(8))
	fmt.Fprintf(&b, "Max-Forwards: 70\r\n")
	fmt.Fprintf(&b, "From: <sip:%s@%s>;tag=%s\r\n", ext, c.host, c.tag)
	fmt.Fprintf(&b, "To: <sip:%s@%s>\r\n", ext, c.host)
	fmt.Fprintf(&b, "Call-ID: %s\r\n", c.callID)
	fmt.Fprintf(&b, "CSeq: %d REGISTER\r\n", c.cseq)
	fmt.Fprintf(&b, "Contact: <sip:%s@%s:%d;transport=tls>\r\n", ext, c.host, c.localPort)
	fmt.Fprintf(&b, "Expires: 120\r\n")
	if auth != "" {
		fmt.Fprintf(&b, "Authorization: %s\r\n", auth)
	}
	fmt.Fprintf(&b, "User-Agent: hushbox-interop-tls\r\nContent-Length: 0\r\n\r\n")
	if _, err := io.WriteString(c.conn, b.String()); err != nil {
		t.Fatalf("send REGISTER: %v", err)
	}
	for {
		res, err := readSIPResponse(c.r, 64*1024)
		if err != nil {
			t.Fatalf("read response to REGISTER: %v", err)
		}
		if res.code >= 200 {
			return res
		}
	}
}

// sipResponse is a parsed SIP response.
type sipResponse struct {
	code   int
	reason string
	hdrs   [][2]string // name (lower case), value; in order
	body   []byte
}

// headers returns every value of the named header (case-insensitive).
func (r sipResponse) headers(name string) []string {
	var out []string
	for _, h := range r.hdrs {
		if h[0] == strings.ToLower(name) {
			out = append(out, h[1])
		}
	}
	return out
}

// readSIPResponse reads one SIP response from a stream: status line,
// headers (folded lines joined, compact "l" for Content-Length), body of
// Content-Length bytes. Messages over max bytes are refused.
func readSIPResponse(r *bufio.Reader, max int) (sipResponse, error) {
	var res sipResponse
	size := 0
	line := func() (string, error) {
		s, err := r.ReadString('\n')
		size += len(s)
		if err != nil {
			return "", err
		}
		if size > max {
			return "", fmt.Errorf("message over %d bytes", max)
		}
		return strings.TrimRight(s, "\r\n"), nil
	}
	var status string
	for status == "" { // keep-alive CRLFs between messages
		s, err := line()
		if err != nil {
			return res, fmt.Errorf("status line: %w", err)
		}
		status = s
	}
	parts := strings.SplitN(status, " ", 3)
	if len(parts) < 2 || parts[0] != "SIP/2.0" {
		return res, fmt.Errorf("not a SIP response: %q", status)
	}
	code, err := strconv.Atoi(parts[1])
	if err != nil || code < 100 || code > 699 {
		return res, fmt.Errorf("bad status code in %q", status)
	}
	res.code = code
	if len(parts) == 3 {
		res.reason = parts[2]
	}
	length := 0
	for {
		s, err := line()
		if err != nil {
			return res, fmt.Errorf("headers: %w", err)
		}
		if s == "" {
			break
		}
		if (s[0] == ' ' || s[0] == '\t') && len(res.hdrs) > 0 {
			res.hdrs[len(res.hdrs)-1][1] += " " + strings.TrimSpace(s)
			continue
		}
		name, val, ok := strings.Cut(s, ":")
		if !ok {
			return res, fmt.Errorf("header without colon: %q", s)
		}
		name = strings.ToLower(strings.TrimSpace(name))
		val = strings.TrimSpace(val)
		if name == "l" {
			name = "content-length"
		}
		if name == "content-length" {
			n, err := strconv.Atoi(val)
			if err != nil || n < 0 || n > max-size {
				return res, fmt.Errorf("bad Content-Length %q", val)
			}
			length = n
		}
		res.hdrs = append(res.hdrs, [2]string{name, val})
	}
	res.body = make([]byte, length)
	if _, err := io.ReadFull(r, res.body); err != nil {
		return res, fmt.Errorf("body: %w", err)
	}
	return res, nil
}

// digestChallenge is one Digest WWW-Authenticate challenge.
type digestChallenge struct {
	realm, nonce, opaque, algorithm string
	qopAuth                         bool
}

// pickChallenge returns the first Digest challenge with an algorithm this
// client computes (MD5 or SHA-256; absent means MD5).
func pickChallenge(values []string) (digestChallenge, bool) {
	for _, v := range values {
		ch, err := parseDigestChallenge(v)
		if err != nil {
			continue
		}
		if ch.algorithm == "MD5" || ch.algorithm == "SHA-256" {
			return ch, true
		}
	}
	return digestChallenge{}, false
}

// parseDigestChallenge parses `Digest k=v, k="quoted, \"v\"", ...`.
func parseDigestChallenge(s string) (digestChallenge, error) {
	var ch digestChallenge
	scheme, rest, _ := strings.Cut(strings.TrimSpace(s), " ")
	if !strings.EqualFold(scheme, "Digest") {
		return ch, fmt.Errorf("scheme %q is not Digest", scheme)
	}
	params := map[string]string{}
	for i := 0; i < len(rest); {
		for i < len(rest) && (rest[i] == ' ' || rest[i] == ',' || rest[i] == '\t') {
			i++
		}
		if i >= len(rest) {
			break
		}
		eq := strings.IndexByte(rest[i:], '=')
		if eq < 0 {
			return ch, fmt.Errorf("parameter without '=' in %q", s)
		}
		key := strings.ToLower(strings.TrimSpace(rest[i : i+eq]))
		i += eq + 1
		var val strings.Builder
		if i < len(rest) && rest[i] == '"' {
			i++
			closed := false
			for i < len(rest) {
				c := rest[i]
				i++
				if c == '\\' && i < len(rest) {
					val.WriteByte(rest[i])
					i++
					continue
				}
				if c == '"' {
					closed = true
					break
				}
				val.WriteByte(c)
			}
			if !closed {
				return ch, fmt.Errorf("unterminated quoted value in %q", s)
			}
		} else {
			j := strings.IndexByte(rest[i:], ',')
			if j < 0 {
				j = len(rest) - i
			}
			val.WriteString(strings.TrimSpace(rest[i : i+j]))
			i += j
		}
		params[key] = val.String()
	}
	ch.realm, ch.nonce, ch.opaque = params["realm"], params["nonce"], params["opaque"]
	ch.algorithm = strings.ToUpper(params["algorithm"])
	if ch.algorithm == "" {
		ch.algorithm = "MD5"
	}
	for _, q := range strings.Split(params["qop"], ",") {
		if strings.TrimSpace(q) == "auth" {
			ch.qopAuth = true
		}
	}
	if ch.nonce == "" {
		return ch, errors.New("challenge without nonce")
	}
	return ch, nil
}

// authorization computes the Authorization header value (RFC 7616 / RFC
// 2617 digest, qop=auth when offered) for one request.
func (ch digestChallenge) authorization(user, password, method, uri string, nc int) string {
	return ch.authorizationCnonce(user, password, method, uri, nc, randomHex(8))
}

// authorizationCnonce is authorization with a given client nonce.
func (ch digestChallenge) authorizationCnonce(user, password, method, uri string, nc int, cnonce string) string {
	var h func() hash.Hash
	switch ch.algorithm {
	case "SHA-256":
		h = sha256.New
	default:
		h = md5.New
	}
	hx := func(s string) string {
		d := h()
		io.WriteString(d, s)
		return hex.EncodeToString(d.Sum(nil))
	}
	ha1 := hx(user + ":" + ch.realm + ":" + password)
	ha2 := hx(method + ":" + uri)
	var b strings.Builder
	fmt.Fprintf(&b, `Digest username="%s", realm="%s", nonce="%s", uri="%s", algorithm=%s`,
		user, ch.realm, ch.nonce, uri, ch.algorithm)
	if ch.qopAuth {
		ncs := fmt.Sprintf("%08x", nc)
		fmt.Fprintf(&b, `, qop=auth, nc=%s, cnonce="%s", response="%s"`, ncs, cnonce,
			hx(ha1+":"+ch.nonce+":"+ncs+":"+cnonce+":auth:"+ha2))
	} else {
		fmt.Fprintf(&b, `, response="%s"`, hx(ha1+":"+ch.nonce+":"+ha2))
	}
	if ch.opaque != "" {
		fmt.Fprintf(&b, `, opaque="%s"`, ch.opaque)
	}
	return b.String()
}

// randomHex is n random bytes in hex (branches, tags, cnonces).
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
