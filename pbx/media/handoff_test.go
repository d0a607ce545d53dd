package media

import (
	"bytes"
	"testing"
	"time"
)

// A leg moved by hand (LatchTo) takes media from its new source only; Also
// lets a second source in while the move is under way.
func TestLatchToAndAlso(t *testing.T) {
	_, s := newTestRelay(t, 4, time.Minute)
	party, cloud, other := newPeer(t), newPeer(t), newPeer(t)
	s.A().SetRemote(party.addr())
	s.B().SetRemote(other.addr())
	pkt := func(seq uint16) []byte { return rtpPacket(0, false, seq, []byte("opaque")) }

	// Latched on the party first.
	party.send(s.A().Port(), pkt(1))
	other.recv()
	// Moved to the cloud: the party's packets are dropped, the cloud's go through.
	s.A().LatchTo(cloud.addr())
	if got := s.A().Stats().Peer; got != cloud.addr() {
		t.Fatalf("latched on %v, want the cloud %v", got, cloud.addr())
	}
	dropped := s.A().Stats().Dropped
	party.send(s.A().Port(), pkt(2))
	cloud.send(s.A().Port(), pkt(3))
	if b, _ := other.recv(); !bytes.Equal(b, pkt(3)) {
		t.Fatalf("relayed %x, want the cloud's packet", b)
	}
	if s.A().Stats().Dropped != dropped+1 {
		t.Fatal("the party's packet after the move was not dropped")
	}
	// Media towards the party side now goes to the cloud.
	other.send(s.B().Port(), pkt(4))
	if b, _ := cloud.recv(); !bytes.Equal(b, pkt(4)) {
		t.Fatalf("the cloud got %x", b)
	}
	// During a move back both sources pass.
	s.A().Also(party.addr())
	party.send(s.A().Port(), pkt(5))
	if b, _ := other.recv(); !bytes.Equal(b, pkt(5)) {
		t.Fatalf("relayed %x, want the party's packet let in by Also", b)
	}
	cloud.send(s.A().Port(), pkt(6))
	if b, _ := other.recv(); !bytes.Equal(b, pkt(6)) {
		t.Fatalf("relayed %x, want the cloud's packet", b)
	}
	s.A().NoAlso()
	dropped = s.A().Stats().Dropped
	party.send(s.A().Port(), pkt(7))
	cloud.send(s.A().Port(), pkt(8))
	if b, _ := other.recv(); !bytes.Equal(b, pkt(8)) {
		t.Fatalf("relayed %x, want only the cloud's packet after NoAlso", b)
	}
	waitFor(t, "the party's packet dropped", func() bool { return s.A().Stats().Dropped == dropped+1 })
}
