package handoff

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"

	"hushbox/pbx/media"
)

// rtpPacket is a minimal RTP packet (version 2) with an opaque payload.
func rtpPacket(seq uint16, payload []byte) []byte {
	b := []byte{0x80, 0, byte(seq >> 8), byte(seq), 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef}
	return append(b, payload...)
}

func udp(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func newTestRelay(t *testing.T) *media.Relay {
	t.Helper()
	r, err := media.NewRelay(media.Config{BindIP: netip.MustParseAddr("127.0.0.1"), PortMin: 42000, PortMax: 42999})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// readFrom waits (bounded) for one datagram on c.
func readFrom(t *testing.T, c *net.UDPConn) []byte {
	t.Helper()
	buf := make([]byte, 1500)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := c.ReadFromUDP(buf)
	if err != nil {
		t.Fatalf("no packet relayed: %v", err)
	}
	return buf[:n]
}

func TestRelayForwardsBothWaysUnchanged(t *testing.T) {
	rs := NewRelays(newTestRelay(t), netip.MustParseAddr("127.0.0.1"), "sip:hushbox@127.0.0.1:5060", nil)
	defer rs.Close()
	board, party := udp(t), udp(t)
	g, err := rs.Allocate("board1", RelayRequest{CallID: "c1", Board: board.LocalAddr().String(), Party: party.LocalAddr().String()})
	if err != nil {
		t.Fatal(err)
	}
	if rs.Owner("c1") != "board1" || rs.Owner("other") != "" {
		t.Fatalf("owner of c1 = %q", rs.Owner("c1"))
	}
	wan, peerSide := net.UDPAddrFromAddrPort(netip.MustParseAddrPort(g.WAN)), net.UDPAddrFromAddrPort(netip.MustParseAddrPort(g.Peer))
	// Opaque bytes (as SRTP or scrambled audio) pass as they are.
	fromParty := rtpPacket(1, []byte("srtp-opaque-\x00\xff-party"))
	fromBoard := rtpPacket(7, []byte("srtp-opaque-\x01\xfe-board"))
	for i := 0; i < 3; i++ {
		if _, err := party.WriteToUDP(fromParty, wan); err != nil {
			t.Fatal(err)
		}
		if got := readFrom(t, board); !bytes.Equal(got, fromParty) {
			t.Fatalf("board got %x, want %x", got, fromParty)
		}
		if _, err := board.WriteToUDP(fromBoard, peerSide); err != nil {
			t.Fatal(err)
		}
		if got := readFrom(t, party); !bytes.Equal(got, fromBoard) {
			t.Fatalf("party got %x, want %x", got, fromBoard)
		}
	}
	list := rs.List()
	if len(list) != 1 || list[0].PartyToBoard != 3 || list[0].BoardToParty != 3 {
		t.Fatalf("relays = %+v", list)
	}
	if !rs.Free(g.ID) || rs.Free(g.ID) {
		t.Fatal("Free: want true once, then false")
	}
	if rs.Owner("c1") != "" {
		t.Fatal("a freed relay still owns its call")
	}
}

func TestRelayLatchesOnTheParty(t *testing.T) {
	// The party's SDP address is unknown (NAT): the board's media waits for
	// the party's first packet and then goes where it came from.
	rs := NewRelays(newTestRelay(t), netip.MustParseAddr("127.0.0.1"), "sip:x@127.0.0.1", nil)
	defer rs.Close()
	board, party, stranger := udp(t), udp(t), udp(t)
	g, err := rs.Allocate("b", RelayRequest{CallID: "c2", Board: board.LocalAddr().String()})
	if err != nil {
		t.Fatal(err)
	}
	wan := net.UDPAddrFromAddrPort(netip.MustParseAddrPort(g.WAN))
	if _, err := party.WriteToUDP(rtpPacket(1, []byte("hello")), wan); err != nil {
		t.Fatal(err)
	}
	readFrom(t, board)
	// Another source on the WAN side is not relayed once latched.
	if _, err := stranger.WriteToUDP(rtpPacket(2, []byte("intruder")), wan); err != nil {
		t.Fatal(err)
	}
	if _, err := party.WriteToUDP(rtpPacket(3, []byte("second")), wan); err != nil {
		t.Fatal(err)
	}
	if got := readFrom(t, board); !bytes.Contains(got, []byte("second")) {
		t.Fatalf("board got %q, want the party's second packet", got)
	}
	if _, err := board.WriteToUDP(rtpPacket(9, []byte("to-party")), net.UDPAddrFromAddrPort(netip.MustParseAddrPort(g.Peer))); err != nil {
		t.Fatal(err)
	}
	if got := readFrom(t, party); !bytes.Contains(got, []byte("to-party")) {
		t.Fatalf("party got %q", got)
	}
}

func TestRelayRefusesBadRequests(t *testing.T) {
	rs := NewRelays(newTestRelay(t), netip.MustParseAddr("127.0.0.1"), "sip:x@127.0.0.1", nil)
	defer rs.Close()
	for _, req := range []RelayRequest{
		{},
		{CallID: "c", Board: "not-an-address"},
		{CallID: "", Board: "127.0.0.1:4000"},
		{CallID: "c", Board: "127.0.0.1:4000", Party: "x"},
	} {
		if _, err := rs.Allocate("b", req); err == nil {
			t.Errorf("Allocate(%+v): no error", req)
		}
	}
}

func TestRelayBatch(t *testing.T) {
	rs := NewRelays(newTestRelay(t), netip.MustParseAddr("127.0.0.1"), "sip:x@127.0.0.1", nil)
	defer rs.Close()
	items, err := rs.AllocateAll("board1", []RelayRequest{
		{CallID: "c1", Board: "127.0.0.1:40000"},
		{CallID: "", Board: "127.0.0.1:40002"}, // bad: its own error, the others still served
		{CallID: "c3", Board: "127.0.0.1:40004", Party: "127.0.0.1:40006"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 3 || items[0].Grant.ID == "" || items[1].Error == "" || items[2].Grant.ID == "" {
		t.Fatalf("batch answers %+v", items)
	}
	if n := len(rs.List()); n != 2 {
		t.Fatalf("%d relays open, want 2", n)
	}
	if _, err := rs.AllocateAll("board1", make([]RelayRequest, MaxBatch+1)); err == nil {
		t.Fatal("a batch over MaxBatch was served")
	}
}
