package interop

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// TestBaresipTLSAndTCPCall: 101 registers over TLS (the daemon's --sip-tls
// port, trusting DATA/sip.crt), 102 over TCP. `hushbox registrations
// --json` must show the two transports; 101 calls 102 and speech flows both
// ways (the cross-correlation check of TestBaresipCallAudio); 101 hangs up
// over TLS and 102 sees the call end over TCP; the CDR says ANSWERED.
func TestBaresipTLSAndTCPCall(t *testing.T) {
	requireTool(t, "baresip")
	p := startPBX(t, md5Only...)
	baresipAudioCall(t, p, "tls", "tcp", func() {
		regs := p.bindings()
		for ext, want := range map[string]string{"101": "TLS", "102": "TCP"} {
			got := regs.transports(ext)
			if len(got) != 1 || !strings.EqualFold(got[0], want) {
				t.Errorf("registrations of %s: transports %v, want [%s]; all: %+v", ext, got, want, regs)
			}
		}
	})
}

// TestBaresipCallToTLSPhone: the daemon must reach a phone registered over
// TLS (a call from the TCP phone 102 to the TLS phone 101 goes out on the
// TLS connection 101 opened), and 102's hangup must reach 101 over TLS.
func TestBaresipCallToTLSPhone(t *testing.T) {
	requireTool(t, "baresip")
	p := startPBX(t, md5Only...)
	p.addExt("101", "baresip-101-pw")
	p.addExt("102", "baresip-102-pw")
	work := t.TempDir()
	_, src := speechWAV(t, work, "tone", "Hello from the TCP side. Hello again.")

	ctrlA, ctrlB := freePort(t), freePort(t)
	dirA := baresipConfigAccount(t, baresipAccount(p, "tls", "101", "baresip-101-pw"), baresipTLSConfig(p, "tls"),
		src, freeSIPPort(t), ctrlA, freeUDPRange(t, 10))
	dirB := baresipConfigAccount(t, baresipAccount(p, "tcp", "102", "baresip-102-pw"), "",
		src, freeSIPPort(t), ctrlB, freeUDPRange(t, 10))
	a := startBaresip(t, "101", dirA, ctrlA)
	b := startBaresip(t, "102", dirB, ctrlB)
	a.waitRegistered(15 * time.Second)
	b.waitRegistered(15 * time.Second)

	if err := b.command("dial", p.dialURI("tcp", "101")); err != nil {
		t.Fatalf("dial: %v", err)
	}
	b.waitEvent("CALL_ESTABLISHED", 15*time.Second)
	a.waitEvent("CALL_ESTABLISHED", 15*time.Second)
	if err := b.command("hangup", ""); err != nil {
		t.Fatalf("hangup: %v", err)
	}
	b.waitEvent("CALL_CLOSED", 10*time.Second)
	a.waitEvent("CALL_CLOSED", 10*time.Second)
	p.waitCDR("102", "101", "ANSWERED")
}

// registration is one row of `hushbox registrations --json`.
type registration struct {
	Extension string `json:"extension"`
	Contact   string `json:"contact"`
	Source    string `json:"source"`
	Transport string `json:"transport"`
	UserAgent string `json:"user_agent"`
}

// registrationList is the whole output of `hushbox registrations --json`.
type registrationList []registration

// bindings asks the running daemon for its registrations.
func (p *pbx) bindings() registrationList {
	p.t.Helper()
	out := p.run("registrations", "--json")
	regs, err := parseRegistrations(out)
	if err != nil {
		p.t.Fatalf("hushbox registrations --json: %v\n%s", err, out)
	}
	return regs
}

// parseRegistrations decodes `hushbox registrations --json` ("null" or an
// empty output mean no bindings).
func parseRegistrations(s string) (registrationList, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var regs registrationList
	if err := json.Unmarshal([]byte(s), &regs); err != nil {
		return nil, fmt.Errorf("parse registrations: %w", err)
	}
	return regs, nil
}

// transports lists the transport of every binding of ext.
func (l registrationList) transports(ext string) []string {
	var out []string
	for _, r := range l {
		if r.Extension == ext {
			out = append(out, r.Transport)
		}
	}
	return out
}

// freeSIPPort returns a port P free for UDP and TCP with P+1 free for TCP:
// baresip listens for SIP on P (UDP, TCP) and P+1 (TLS).
func freeSIPPort(t testing.TB) int {
	t.Helper()
	for range 100 {
		p := freePort(t)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+1))
		if err != nil {
			continue
		}
		l.Close()
		return p
	}
	t.Fatal("no SIP port with a free successor")
	return 0
}
