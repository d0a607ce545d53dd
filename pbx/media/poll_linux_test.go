//go:build linux && (amd64 || arm64 || arm)

package media

import (
	"bytes"
	"net"
	"testing"

	"github.com/pion/rtp"
)

// fdOf is a socket's descriptor number (-1 for a *net.UDPConn).
func fdOf(c udpSock) int {
	if r, ok := c.(*rawSock); ok {
		return r.fd
	}
	_ = c.(*net.UDPConn)
	return -1
}

// holdHook blocks the first packet it sees until release is closed,
// holding the poller that runs it, as a CPU starved of the poller would.
type holdHook struct {
	entered, release chan struct{}
	seen             bool
}

func (h *holdHook) ProcessRTP(Direction, *rtp.Packet) bool {
	if !h.seen {
		h.seen = true
		close(h.entered)
		<-h.release
	}
	return true
}

// TestPollerDrainsBacklog: datagrams that queued on a socket while the
// poller could not run are relayed, in order, in a few batches, not one
// batch per datagram. Under a flood the poller gets a CPU only now and
// then; relaying one datagram per socket per turn left every call seconds
// behind its sender in the test bed.
func TestPollerDrainsBacklog(t *testing.T) {
	_, s := newKindRelay(t, loopAuto, 4)
	pa, pb := newPeer(t), newPeer(t)
	s.A().SetRemote(pa.addr())
	s.B().SetRemote(pb.addr())
	h := &holdHook{entered: make(chan struct{}), release: make(chan struct{})}
	s.SetHook(h)
	pkt := func(seq uint16) []byte { return rtpPacket(0, false, seq, []byte("backlog")) }
	pa.send(s.A().Port(), pkt(0))
	<-h.entered // the poller is held in the hook
	const backlog = 3 * drainPerSocket
	for seq := uint16(1); seq <= backlog; seq++ {
		pa.send(s.A().Port(), pkt(seq))
	}
	before := s.polled.batches.Load()
	close(h.release)
	for seq := uint16(0); seq <= backlog; seq++ {
		b, _ := pb.recv()
		if want := pkt(seq); !bytes.Equal(b, want) {
			t.Fatalf("packet %d: got %x, want %x", seq, b, want)
		}
	}
	if used := s.polled.batches.Load() - before; used > backlog/drainPerSocket+2 {
		t.Errorf("a backlog of %d datagrams took %d batches, want at most %d", backlog, used, backlog/drainPerSocket+2)
	}
}
