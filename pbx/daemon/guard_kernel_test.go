package daemon

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"hushbox/pbx/store"
)

// The SIP UDP socket gets the larger receive buffer (forced past
// net.core.rmem_max when the process may).
func TestGrowReadBuffer(t *testing.T) {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	growReadBuffer(c, slog.New(slog.NewTextHandler(io.Discard, nil)))
	rc, err := c.(*net.UDPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var got int
	var serr error
	rc.Control(func(fd uintptr) { got, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF) })
	if serr != nil {
		t.Fatal(serr)
	}
	// Linux reports twice what was set (bookkeeping); without
	// CAP_NET_ADMIN rmem_max may cap it, so only a forced one is exact.
	if forceReadBuffer(c.(*net.UDPConn), sipReadBuffer) == nil && got < sipReadBuffer {
		t.Fatalf("SO_RCVBUF %d, want at least %d", got, sipReadBuffer)
	}
	t.Logf("SO_RCVBUF %d", got)
}

// The guard trusts the trunks' peers: an IP address as it is, a name
// once resolved (localhost: no network needed).
func TestTrunkHosts(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), DBName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tr := range []store.Trunk{
		{Name: "provider", Kind: store.TrunkSIP, Address: "203.0.113.40:5060", Transport: "udp", Prefix: "0"},
		{Name: "named", Kind: store.TrunkSIP, Address: "localhost:5060", Transport: "udp", Prefix: "9"},
	} {
		if err := db.AddTrunk(tr); err != nil {
			t.Fatal(err)
		}
	}
	th := &trunkHosts{db: db, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if got := th.list(context.Background()); len(got) != 0 {
		t.Fatalf("first list %v: want nothing before the first resolution", got)
	}
	th.refresh(context.Background()) // what the background refresh does
	got := th.list(context.Background())
	if !slices.Contains(got, netip.MustParseAddr("203.0.113.40")) {
		t.Errorf("provider address not trusted: %v", got)
	}
	if !slices.ContainsFunc(got, netip.Addr.IsLoopback) {
		t.Errorf("named trunk not resolved: %v", got)
	}
}
