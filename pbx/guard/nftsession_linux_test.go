package guard

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"os/exec"
	"testing"
)

// TestNFTCountersSession: the exec backend reads its counters through one
// long-lived nft, which sees changes between reads; when that nft cannot
// answer, the reads go back to one exec each and say what went wrong.
func TestNFTCountersSession(t *testing.T) {
	requireNetns(t)
	var rnd [3]byte
	rand.Read(rnd[:])
	ns := netns(t, "hbg-c-"+hex.EncodeToString(rnd[:]))
	prefix := []string{"ip", "netns", "exec", ns, "nft"}
	n, err := NewNFT(NFTOptions{Command: prefix})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()

	m, err := n.Counters()
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != len(kernelCounters) || m[CounterBanned] != 0 {
		t.Fatalf("fresh table counters = %v, want all %d at 0", m, len(kernelCounters))
	}
	first := n.counters.cmd
	if first == nil {
		t.Fatal("the counters were not read through the nft session")
	}
	// A count that changed between two reads shows in the second, read
	// by the same nft process. (No rule uses this counter in a table
	// with no SIP ports: it can be made again with a value.)
	script := "delete counter inet " + nftTable + " " + CounterConnUntrusts + "\nadd counter inet " + nftTable + " " + CounterConnUntrusts + " { packets 7 bytes 700 }\n"
	if err := n.run(script); err != nil {
		t.Fatal(err)
	}
	m, err = n.Counters()
	if err != nil {
		t.Fatal(err)
	}
	if m[CounterConnUntrusts] != 7 {
		t.Errorf("after setting it to 7: %s = %d", CounterConnUntrusts, m[CounterConnUntrusts])
	}
	// Packets counted between two reads (no change to the ruleset in
	// between) show in the second.
	if err := n.Program(Ruleset{UDPPorts: []int{5060}, Untrusted: 1, UntrustedBurst: 1}); err != nil {
		t.Fatal(err)
	}
	before, err := n.Counters()
	if err != nil {
		t.Fatal(err)
	}
	const sent = 5
	if err := inNetns(ns, func() error {
		exec.Command("ip", "link", "set", "lo", "up").Run()
		c, err := net.ListenPacket("udp", "127.0.0.1:0") // unconnected: no ICMP errors
		if err != nil {
			return err
		}
		defer c.Close()
		to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5060}
		for range sent {
			if _, err := c.WriteTo([]byte("OPTIONS sip:x SIP/2.0\r\n\r\n"), to); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	after, err := n.Counters()
	if err != nil {
		t.Fatal(err)
	}
	if d := after[CounterGlobalDrops] - before[CounterGlobalDrops]; d < sent-2 || d > sent {
		t.Errorf("%d datagrams over a cap of 1/s burst 1: %s went up by %d", sent, CounterGlobalDrops, d)
	}
	if n.counters.cmd != first {
		t.Error("a second nft was started for the second read")
	}

	// The table gone: the session gets no reply, is turned off, and the
	// exec read reports the error.
	if out, err := exec.Command("ip", "netns", "exec", ns, "nft", "delete", "table", "inet", nftTable).CombinedOutput(); err != nil {
		t.Fatalf("nft delete: %v %s", err, out)
	}
	if _, err := n.Counters(); err == nil {
		t.Fatal("counters of a deleted table read without an error")
	}
	if _, err := n.counters.list(prefix, "list counters table inet "+nftTable); !errors.Is(err, errSessionOff) {
		t.Errorf("after a failure the session answered %v, want errSessionOff", err)
	}
}
