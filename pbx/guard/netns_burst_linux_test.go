package guard

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"strconv"
	"testing"
	"time"
)

// protectedListener opens a UDP socket on recvIP in the netns recv, puts
// g's kernel limits in front of its port and trusts trustedIP, as the
// daemon does for its SIP port and an authenticated phone. It returns the
// socket (closed when the test ends) and its port.
func protectedListener(t *testing.T, g *Guard, recv, recvIP, trustedIP string) (*net.UDPConn, int) {
	t.Helper()
	var conn *net.UDPConn
	if err := inNetns(recv, func() (err error) {
		conn, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(recvIP)})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetReadBuffer(4 << 20)
	port := conn.LocalAddr().(*net.UDPAddr).Port
	g.ProtectSIP(SIPPorts{UDP: []int{port}})
	g.applyRuleset()
	g.Trust(netip.MustParseAddr(trustedIP), time.Minute)
	g.flushTrust()
	return conn, port
}

// udpBurst sends n copies of msg to recvIP:port from each of sources
// (addresses in the sender namespace send), one source after the other as
// fast as it can, and returns how many datagrams conn received from each
// source (read until it has been quiet for a second) and how long the
// sending took. Bounded: n datagrams per source.
func udpBurst(t *testing.T, conn *net.UDPConn, send, recvIP string, port, n int, msg string, sources ...string) (map[string]int, time.Duration) {
	t.Helper()
	counts := map[string]int{}
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, 2048)
		for {
			conn.SetReadDeadline(time.Now().Add(time.Second))
			_, from, err := conn.ReadFromUDP(buf)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				done <- nil
				return
			}
			if err != nil {
				done <- err
				return
			}
			counts[from.IP.String()]++
		}
	}()
	start := time.Now()
	dst := net.JoinHostPort(recvIP, strconv.Itoa(port))
	for _, src := range sources {
		if err := inNetns(send, func() error {
			raddr, err := net.ResolveUDPAddr("udp4", dst)
			if err != nil {
				return err
			}
			s, err := net.DialUDP("udp4", &net.UDPAddr{IP: net.ParseIP(src)}, raddr)
			if err != nil {
				return err
			}
			defer s.Close()
			for range n {
				if _, err := s.Write([]byte(msg)); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatalf("send from %s: %v", src, err)
		}
	}
	elapsed := time.Since(start)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return counts, elapsed
}
