package interop

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// What the daemon may do with one RFC 4475 torture message. Silence is
// always dropping the datagram (or closing the stream); "final" is a final
// response status (>= 200).
type tortureWant int

const (
	// wantAnswer: a well-formed request: some final response that is not
	// 400 (syntax) or 500 (crash); 401/403/404/405/407/416/420/480/501... fine.
	wantAnswer tortureWant = iota
	// wantReject: syntactically broken: 400 or silence. An auth challenge
	// (401/407) is accepted too: a server that authenticates before it
	// looks any deeper has not processed the message (and a stateless
	// challenge is what the registrar answers floods with).
	wantReject
	// wantRefuse: well-formed but unacceptable (unknown version or scheme,
	// unsupported extension or body, bad auth scheme): silence or a final
	// error (>= 400), never success.
	wantRefuse
	// wantSilence: a response nobody asked for: no answer at all.
	wantSilence
	// wantSurvive: RFC 4475 allows handling it or refusing it (RFC 2543
	// syntax, odd Date, unusual schemes in headers, Max-Forwards 0); only
	// no success-or-crash is checked: the daemon must keep answering.
	wantSurvive
)

func (w tortureWant) String() string {
	return [...]string{"answer (not 400/500)", "400, 401, 407 or silence", "error (>=400) or silence", "silence", "anything"}[w]
}

// tortureCases classifies every message of sipgo's RFC 4475 collection
// (valid/ and invalid/ are sipgo's split; RFC 4475 sections in comments).
var tortureCases = map[string]tortureWant{
	// valid (RFC 4475 3.1.1)
	"valid/wsinv.dat":      wantAnswer,  // 3.1.1.1 short tortuous INVITE
	"valid/intmeth.dat":    wantAnswer,  // 3.1.1.2 wide range of valid characters
	"valid/esc01.dat":      wantAnswer,  // 3.1.1.3 valid use of % escaping
	"valid/escnull.dat":    wantAnswer,  // 3.1.1.4 escaped nulls in URIs
	"valid/esc02.dat":      wantAnswer,  // 3.1.1.5 % in unusual places
	"valid/lwsdisp.dat":    wantAnswer,  // 3.1.1.6 LWS in display name
	"valid/longreq.dat":    wantAnswer,  // 3.1.1.7 long values in header fields
	"valid/dblreq.dat":     wantAnswer,  // 3.1.1.8 extra trailing octets
	"valid/semiuri.dat":    wantAnswer,  // 3.1.1.9 semicolon-separated user part
	"valid/transports.dat": wantAnswer,  // 3.1.1.10 varied and unknown transports
	"valid/mpart01.dat":    wantAnswer,  // 3.1.1.11 multipart body
	"valid/unreason.dat":   wantSilence, // 3.1.1.12 unusual reason phrase (a response)
	"valid/noreason.dat":   wantSilence, // 3.1.1.13 empty reason phrase (a response)

	// invalid (RFC 4475 3.1.2)
	"invalid/badinv01.dat":   wantReject,  // 3.1.2.1 extraneous header separators
	"invalid/clerr.dat":      wantReject,  // 3.1.2.2 Content-Length larger than message
	"invalid/ncl.dat":        wantReject,  // 3.1.2.3 negative Content-Length
	"invalid/scalar02.dat":   wantReject,  // 3.1.2.4 overlarge scalar fields
	"invalid/scalarlg.dat":   wantSilence, // 3.1.2.5 overlarge scalars in a response
	"invalid/quotbal.dat":    wantReject,  // 3.1.2.6 unterminated quoted string
	"invalid/ltgtruri.dat":   wantReject,  // 3.1.2.7 <> around Request-URI
	"invalid/lwsruri.dat":    wantReject,  // 3.1.2.8 LWS in Request-URI
	"invalid/lwsstart.dat":   wantReject,  // 3.1.2.9 multiple SP in Request-Line
	"invalid/trws.dat":       wantReject,  // 3.1.2.10 SP at end of Request-Line
	"invalid/escruri.dat":    wantReject,  // 3.1.2.11 escaped headers in Request-URI
	"invalid/baddate.dat":    wantSurvive, // 3.1.2.12 invalid time zone in Date
	"invalid/regbadct.dat":   wantReject,  // 3.1.2.13 name-addr URI not in <>
	"invalid/badaspec.dat":   wantReject,  // 3.1.2.14 spaces within addr-spec
	"invalid/baddn.dat":      wantReject,  // 3.1.2.15 non-token display name
	"invalid/badvers.dat":    wantRefuse,  // 3.1.2.16 SIP/7.0 (505)
	"invalid/mismatch01.dat": wantReject,  // 3.1.2.17 Request-Line / CSeq method mismatch
	"invalid/mismatch02.dat": wantReject,  // 3.1.2.18 same, unknown method
	"invalid/bigcode.dat":    wantSilence, // 3.1.2.19 overlarge response code
	// transaction and application layer (RFC 4475 3.2, 3.3, 3.4)
	"invalid/badbranch.dat": wantAnswer,  // 3.2.1 missing transaction identifier
	"invalid/insuf.dat":     wantReject,  // 3.3.1 missing required header fields
	"invalid/unkscm.dat":    wantRefuse,  // 3.3.2 unknown Request-URI scheme (416)
	"invalid/novelsc.dat":   wantRefuse,  // 3.3.3 atypical Request-URI scheme (416)
	"invalid/unksm2.dat":    wantSurvive, // 3.3.4 unknown schemes in header fields
	"invalid/bext01.dat":    wantRefuse,  // 3.3.5 Require of unsupported extension (420)
	"invalid/invut.dat":     wantRefuse,  // 3.3.6 unknown Content-Type (415)
	"invalid/regaut01.dat":  wantRefuse,  // 3.3.7 unknown authorization scheme (401)
	"invalid/multi01.dat":   wantReject,  // 3.3.8 several values in single-value fields
	"invalid/mcl01.dat":     wantReject,  // 3.3.9 several Content-Length values
	"invalid/bcast.dat":     wantSilence, // 3.3.10 200 OK with broadcast Via
	"invalid/zeromf.dat":    wantSurvive, // 3.3.11 Max-Forwards 0 (483 or answered)
	"invalid/cparam01.dat":  wantAnswer,  // 3.3.12 REGISTER with Contact parameter
	"invalid/cparam02.dat":  wantAnswer,  // 3.3.13 REGISTER with URL parameter
	"invalid/regescrt.dat":  wantAnswer,  // 3.3.14 REGISTER with URL-escaped header
	"invalid/sdp01.dat":     wantRefuse,  // 3.3.15 unacceptable Accept (406)
	"invalid/inv2543.dat":   wantSurvive, // 3.4.1 RFC 2543 syntax
	"invalid/test.dat":      wantReject,  // not RFC 4475: no SIP version, bare To/From
}

// tortureDir finds sipgo's torture messages in the module cache.
func tortureDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/emiago/sipgo").Output()
	if err != nil || len(bytes.TrimSpace(out)) == 0 {
		t.Fatalf("locate github.com/emiago/sipgo: %v", err)
	}
	dir := filepath.Join(string(bytes.TrimSpace(out)), "sip", "testdata", "torture")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("torture messages: %v", err)
	}
	return dir
}

// topVia returns the transport and the port responses go to, as a
// RFC 3261 18.2.2 server derives them from the first Via of a message
// (default port 5060, 5061 for TLS), and whether rport asks for the source
// port instead.
func topVia(msg []byte) (transport string, port int, rport bool, ok bool) {
	// Unfold continuation lines, then find the first Via / v header.
	s := regexp.MustCompile(`\r?\n[ \t]+`).ReplaceAllString(string(msg), " ")
	lines := strings.Split(s, "\n")
	for _, l := range lines[min(1, len(lines)):] {
		l = strings.TrimRight(l, "\r")
		if l == "" {
			break
		}
		name, value, found := strings.Cut(l, ":")
		if !found {
			continue
		}
		name = strings.ToLower(strings.TrimSpace(name))
		if name != "via" && name != "v" {
			continue
		}
		m := regexp.MustCompile(`(?i)SIP\s*/\s*[0-9.]+\s*/\s*([A-Z]+)\s+([^\s;,]+)\s*(;[^,]*)?`).FindStringSubmatch(value)
		if m == nil {
			return "", 0, false, false
		}
		transport = strings.ToUpper(m[1])
		port = 5060
		if transport == "TLS" {
			port = 5061
		}
		host := m[2]
		if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") {
			if p, err := strconv.Atoi(host[i+1:]); err == nil {
				port = p
			}
		}
		for _, param := range strings.Split(m[3], ";") {
			if strings.EqualFold(strings.TrimSpace(param), "rport") {
				rport = true
			}
		}
		return transport, port, rport, true
	}
	return "", 0, false, false
}

var statusLineRE = regexp.MustCompile(`(?m)^SIP/2\.0 ([0-9]{3})[ \r\n]`)

// statusCodes returns the status codes of the responses in data.
func statusCodes(data []byte) []int {
	var codes []int
	for _, m := range statusLineRE.FindAllSubmatch(data, -1) {
		c, _ := strconv.Atoi(string(m[1]))
		codes = append(codes, c)
	}
	return codes
}

// finalCode returns the first final (>= 200) status, or 0.
func finalCode(codes []int) int {
	for _, c := range codes {
		if c >= 200 {
			return c
		}
	}
	return 0
}

// judgeTorture returns "" when the codes received meet w, else why not.
func judgeTorture(w tortureWant, codes []int) string {
	final := finalCode(codes)
	switch w {
	case wantAnswer:
		if final == 0 {
			return "no final response"
		}
		if final == 400 || final == 500 {
			return fmt.Sprintf("final %d", final)
		}
	case wantReject:
		for _, c := range codes {
			if c != 100 && c != 400 && c != 401 && c != 407 {
				return fmt.Sprintf("responses %v", codes)
			}
		}
	case wantRefuse:
		for _, c := range codes {
			if c >= 200 && c < 400 {
				return fmt.Sprintf("success response %d", c)
			}
		}
	case wantSilence:
		if len(codes) > 0 {
			return fmt.Sprintf("answered a response with %v", codes)
		}
	case wantSurvive:
	}
	return ""
}

const tortureWait = 800 * time.Millisecond

// sendTortureUDP sends msg from 127.0.0.1:port (0: any port) to the daemon
// and collects responses until a final one or tortureWait of quiet.
func sendTortureUDP(to string, port int, msg []byte) ([]int, error) {
	c, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return nil, fmt.Errorf("bind response port: %w", err)
	}
	defer c.Close()
	raddr, err := net.ResolveUDPAddr("udp", to)
	if err != nil {
		return nil, err
	}
	if _, err := c.WriteTo(msg, raddr); err != nil {
		return nil, fmt.Errorf("send: %w", err)
	}
	var all []byte
	buf := make([]byte, 65536)
	for {
		_ = c.SetReadDeadline(time.Now().Add(tortureWait))
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			break // quiet
		}
		all = append(all, buf[:n]...)
		all = append(all, '\n')
		if finalCode(statusCodes(all)) != 0 {
			break
		}
	}
	return statusCodes(all), nil
}

// sendTortureTCP sends msg on a new TCP connection and collects what comes
// back until a final response, EOF or tortureWait of quiet.
func sendTortureTCP(to string, msg []byte) ([]int, error) {
	c, err := net.DialTimeout("tcp", to, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	defer c.Close()
	if _, err := c.Write(msg); err != nil {
		return nil, fmt.Errorf("send: %w", err)
	}
	var all []byte
	buf := make([]byte, 65536)
	for {
		_ = c.SetReadDeadline(time.Now().Add(tortureWait))
		n, err := c.Read(buf)
		all = append(all, buf[:n]...)
		if err != nil || finalCode(statusCodes(all)) != 0 {
			break
		}
	}
	return statusCodes(all), nil
}

// optionsPing sends a well-formed OPTIONS over UDP and returns the final code.
func optionsPing(to string, seq int) (int, error) {
	msg := fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-ping-%d;rport\r\n"+
		"Max-Forwards: 70\r\n"+
		"From: <sip:ping@127.0.0.1>;tag=ping%d\r\n"+
		"To: <sip:%s>\r\n"+
		"Call-ID: ping-%d@interop.test\r\n"+
		"CSeq: %d OPTIONS\r\n"+
		"Accept: application/sdp\r\n"+
		"Content-Length: 0\r\n\r\n", to, seq, seq, to, seq, seq)
	codes, err := sendTortureUDP(to, 0, []byte(msg))
	return finalCode(codes), err
}

// TestTorture sends every RFC 4475 torture message of sipgo's collection to
// the daemon, byte for byte, over UDP from the port its Via names (so the
// response comes back to the test) or over TCP when its Via says TCP, and
// checks the answer against tortureCases. The daemon must still answer
// OPTIONS afterwards and stop cleanly (checked by startPBX's cleanup).
func TestTorture(t *testing.T) {
	p := startPBX(t)
	p.addExt("101", "torture-pw-101")
	tortureAll(t, p.addr())
}

// tortureAll runs the torture messages against the SIP server at addr.
func tortureAll(t *testing.T, addr string) {
	dir := tortureDir(t)
	files, err := filepath.Glob(filepath.Join(dir, "*", "*.dat"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no torture messages in %s: %v", dir, err)
	}
	if code, err := optionsPing(addr, 0); err != nil || code != 200 {
		t.Fatalf("OPTIONS before torture: %d, %v", code, err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		name := filepath.Base(filepath.Dir(f)) + "/" + filepath.Base(f)
		seen[name] = true
		want, known := tortureCases[name]
		t.Run(name, func(t *testing.T) {
			if !known {
				t.Fatalf("%s is not classified in tortureCases", name)
			}
			msg, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			transport, port, rport, ok := topVia(msg)
			if rport {
				port = 0
			}
			var codes []int
			via := "UDP"
			if ok && transport == "TCP" {
				via = "TCP"
				codes, err = sendTortureTCP(addr, msg)
			} else {
				if !ok {
					port = 0 // no usable Via: nowhere to answer, send anyway
				}
				codes, err = sendTortureUDP(addr, port, msg)
				if err != nil && port != 0 {
					t.Logf("UDP from port %d: %v; sending over TCP instead", port, err)
					via = "TCP"
					codes, err = sendTortureTCP(addr, msg)
				}
			}
			if err != nil {
				t.Fatalf("send over %s: %v", via, err)
			}
			t.Logf("%s over %s: responses %v", name, via, codes)
			if why := judgeTorture(want, codes); why != "" {
				t.Errorf("%s over %s: %s, want %s", name, via, why, want)
			}
		})
	}
	for name := range tortureCases {
		if !seen[name] {
			t.Errorf("%s listed in tortureCases but not in %s", name, dir)
		}
	}
	code, err := optionsPing(addr, 1)
	if err != nil || code != 200 {
		t.Fatalf("OPTIONS after torture: %d, %v (want 200)", code, err)
	}
}
