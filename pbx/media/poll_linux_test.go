//go:build linux && (amd64 || arm64 || arm)

package media

import (
	"bytes"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
	"golang.org/x/sys/unix"
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

// holdPoller latches s's legs to two phones, sends first from A's phone
// and returns once the poller is held in the hook with it: what the phones
// send next waits in the sockets until h.release is closed.
func holdPoller(t *testing.T, s *Session, first []byte) (pa, pb *peer, h *holdHook) {
	t.Helper()
	pa, pb = newPeer(t), newPeer(t)
	s.A().SetRemote(pa.addr())
	s.B().SetRemote(pb.addr())
	h = &holdHook{entered: make(chan struct{}), release: make(chan struct{})}
	s.SetHook(h)
	pa.send(s.A().Port(), first)
	<-h.entered
	return pa, pb, h
}

// TestPollerDrainsBacklog: datagrams that queued on a socket while the
// poller could not run are relayed, in order, in a few batches, not one
// batch per datagram. Under a flood the poller gets a CPU only now and
// then; relaying one datagram per socket per turn left every call seconds
// behind its sender in the test bed.
func TestPollerDrainsBacklog(t *testing.T) {
	_, s := newKindRelay(t, loopAuto, 4)
	pkt := func(seq uint16) []byte { return rtpPacket(0, false, seq, []byte("backlog")) }
	pa, pb, h := holdPoller(t, s, pkt(0))
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

// waitArrivalStamps waits until the kernel stamps datagrams when they
// arrive. It turns stamping on for the whole system when the first socket
// asks for SO_TIMESTAMP, but through deferred work: a datagram that
// arrives before that is stamped when it is read, and its hold reads as
// nothing. The relay's own sockets keep stamping on while they are open.
func waitArrivalStamps(t *testing.T) {
	t.Helper()
	rs, err := bindRaw(netip.MustParseAddr("127.0.0.1"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	sa, err := unix.Getsockname(rs.fd)
	if err != nil {
		t.Fatal(err)
	}
	dst := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: sa.(*unix.SockaddrInet4).Port}
	c, err := net.DialUDP("udp4", nil, dst)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var rb recvBatch
	rb.init()
	const wait = 20 * time.Millisecond
	for range 100 {
		if _, err := c.Write([]byte("stamp")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(wait)
		if n, err := rb.recv(rs.fd); err == nil && n == 1 {
			if _, _, rx := rb.datagram(0); rx != 0 && time.Since(time.Unix(0, rx)) >= wait*3/4 {
				return
			}
		}
	}
	t.Fatal("the kernel never stamped a datagram on arrival (SO_TIMESTAMP)")
}

// TestPollerMeasuresHolds: a datagram that waited in its socket while the
// poller could not run shows up in the relay's holds (from the kernel's
// receive timestamp) and in one warning line, as a starved relay would in
// the daemon's log; datagrams read at once do not.
func TestPollerMeasuresHolds(t *testing.T) {
	gcAt := time.Now()
	runtime.GC()
	var logs syncBuffer
	var r *Relay
	var s *Session
	for range 20 {
		base := 20000 + 2*rand.IntN(19000)
		var err error
		r, err = NewRelay(Config{BindIP: loopback, PortMin: base, PortMax: base + 3,
			Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		r.loop = loopAuto
		if s, err = r.NewSession(); err == nil {
			break
		}
		r.Close()
		if !errors.Is(err, ErrNoPorts) {
			t.Fatal(err)
		}
	}
	if s == nil {
		t.Fatal("no free port range found on 127.0.0.1")
	}
	t.Cleanup(func() { r.Close() })
	if s.polled == nil {
		t.Fatal("session not on the poller")
	}
	pkt := func(seq uint16) []byte { return rtpPacket(0, false, seq, []byte("held")) }
	waitArrivalStamps(t)
	pa, pb, h := holdPoller(t, s, pkt(0))
	sent := time.Now()
	pa.send(s.A().Port(), pkt(1))
	const held = 80 * time.Millisecond
	time.Sleep(held)
	close(h.release)
	for seq := range uint16(2) {
		if b, _ := pb.recv(); !bytes.Equal(b, pkt(seq)) {
			t.Fatalf("packet %d: got %x", seq, b)
		}
	}
	// The batch's holds are counted, and the line written, when the
	// batch ends, after the relayed datagrams went out: wait for it.
	const line = `msg="media: relay held packets"`
	waitFor(t, "the hold line", func() bool { return strings.Contains(logs.String(), line) })
	got := r.Holds()
	if got.Count != 2 {
		t.Errorf("%d datagrams measured, want 2", got.Count)
	}
	if got.Max < held || got.Max > time.Since(sent) {
		t.Errorf("longest hold %v, want between %v and %v", got.Max, held, time.Since(sent))
	}
	var over60 uint64 // buckets above HoldBounds[6] = 60 ms
	for _, n := range got.Buckets[7:] {
		over60 += n
	}
	if over60 < 1 {
		t.Errorf("no hold over 60 ms in the histogram %v", got.Buckets)
	}
	if c := strings.Count(logs.String(), line); c != 1 {
		t.Errorf("%d hold lines, want 1:\n%s", c, logs.String())
	}
	// The line says when the collector last ran (runtime.GC at the start).
	m := regexp.MustCompile(`last_gc_unix_ms=(\d+) gc_cycles=(\d+)`).FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("no last_gc_unix_ms in the hold line:\n%s", logs.String())
	}
	if ms, _ := strconv.ParseInt(m[1], 10, 64); ms < gcAt.UnixMilli() || ms > time.Now().UnixMilli() {
		t.Errorf("last GC at %d ms, want between the test's runtime.GC (%d) and now", ms, gcAt.UnixMilli())
	}
	// And what else went on since the poller's baseline (holdcause.go):
	// the hold was the hook's, so no stop of the world took 80 ms, and the
	// baseline is older than the hold.
	m = regexp.MustCompile(`sched_wait_max_ms=([\d.]+) stw_max_ms=([\d.]+) throttled_ms=(-?[\d.]+) runnable=(\d+) os_wait_max_ms=(-?[\d.]+) cpu_ms=(-?[\d.]+) since_ms=(\d+)`).FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("no scheduling figures in the hold line:\n%s", logs.String())
	}
	if stw, _ := strconv.ParseFloat(m[2], 64); stw >= float64(held/time.Millisecond) {
		t.Errorf("stw_max_ms %v: no stop of the world held the poller", stw)
	}
	if cpu, _ := strconv.ParseFloat(m[6], 64); cpu <= 0 {
		t.Errorf("cpu_ms %v: the process used no CPU since the baseline", cpu)
	}
	if since, _ := strconv.ParseInt(m[7], 10, 64); since < held.Milliseconds() {
		t.Errorf("since_ms %d: the baseline is newer than the %v hold", since, held)
	}
}
