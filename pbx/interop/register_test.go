package interop

import (
	"fmt"
	"net"
	"testing"
	"time"
)

// TestSippRegister: REGISTER with digest auth. The right password gets a
// binding (200 OK); a wrong password and an unknown user are refused (401
// or 403, the same answer, so users cannot be enumerated) and leave no
// binding: a call to the refused extension reaches nobody.
func TestSippRegister(t *testing.T) {
	requireTool(t, "sipp")
	p := startPBX(t, md5First...)
	p.addExt("101", "right-101-pw")
	p.addExt("102", "right-102-pw")

	tests := []struct {
		name     string
		user     string
		password string
		scenario string
	}{
		{"right password", "101", "right-101-pw", "register.xml"},
		{"wrong password", "102", "wrong-password", "register_wrong.xml"},
		{"other user's password", "102", "right-101-pw", "register_wrong.xml"},
		{"unknown user", "199", "any-password", "register_wrong.xml"},
	}
	refusedPort := freePort(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			port := 0
			if tc.user == "102" {
				port = refusedPort
			}
			s := startSipp(t, "register "+tc.user, sippOpts{
				Scenario: tc.scenario, Target: p.addr(), Port: port,
				Service: tc.user, User: tc.user, Password: tc.password,
			})
			s.wait()
		})
	}

	t.Run("bindings listed", func(t *testing.T) {
		if n := p.registrations("101"); n != 1 {
			t.Errorf("101 has %d registrations, want 1", n)
		}
		if n := p.registrations("102"); n != 0 {
			t.Errorf("102 has %d registrations after refused REGISTERs, want 0", n)
		}
	})

	t.Run("no binding after refusal", func(t *testing.T) {
		// Whatever reaches the contact that 102 tried to register is a leak.
		l, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", refusedPort))
		if err != nil {
			t.Fatalf("listen on refused contact port: %v", err)
		}
		defer l.Close()
		got := make(chan string, 1)
		go func() {
			buf := make([]byte, 4096)
			n, _, err := l.ReadFrom(buf)
			if err == nil {
				got <- string(buf[:n])
			}
		}()
		s := startSipp(t, "call 101->102", sippOpts{
			Scenario: "uac_unreachable.xml", Target: p.addr(),
			Service: "102", User: "101", Password: "right-101-pw",
			Keys: map[string]string{"caller": "101"}, MediaPort: freeUDPRange(t, 4),
		})
		s.wait()
		select {
		case msg := <-got:
			t.Errorf("the refused contact received a message:\n%s", msg)
		case <-time.After(500 * time.Millisecond):
		}
	})
}
