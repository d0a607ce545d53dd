package interop

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"testing"
)

// inCI reports whether the run is a CI run, where missing tools are failures.
func inCI() bool { return os.Getenv("CI") == "true" }

// requireTool returns the path of an external tool. A missing tool skips the
// test on a developer machine and fails it in CI.
func requireTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if inCI() {
			t.Fatalf("%s not found (CI=true): %v", name, err)
		}
		t.Skipf("%s not found: %v", name, err)
	}
	return p
}

// requireFile is requireTool for data files shipped by a package (pcaps).
func requireFile(t testing.TB, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if inCI() {
			t.Fatalf("%s missing (CI=true): %v", path, err)
		}
		t.Skipf("%s missing: %v", path, err)
	}
}

// freePort returns a port that is free on 127.0.0.1 for both TCP and UDP
// at the time of the call (SIP listens on both with one number).
func freePort(t testing.TB) int {
	t.Helper()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("free port: %v", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		l.Close()
		if err != nil {
			continue
		}
		u.Close()
		return port
	}
	t.Fatal("no port free on both TCP and UDP")
	return 0
}

// freeUDPRange returns an even port lo such that lo..lo+n-1 are free UDP
// ports on 127.0.0.1 (an RTP range for one daemon, or RTP+RTCP pairs).
func freeUDPRange(t testing.TB, n int) int {
	t.Helper()
	for range 200 {
		lo := 20000 + 2*rand.IntN(15000)
		if lo+n > 65535 {
			continue
		}
		ok := true
		for p := lo; p < lo+n && ok; p++ {
			c, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				ok = false
				break
			}
			c.Close()
		}
		if ok {
			return lo
		}
	}
	t.Fatalf("no free UDP range of %d ports", n)
	return 0
}
