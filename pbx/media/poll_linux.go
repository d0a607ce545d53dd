//go:build linux && (amd64 || arm64 || arm)

package media

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The Linux poller: one goroutine per epoll set over its sessions' sockets
// collects the ready events and relays each ready datagram itself (one
// non-blocking recvmmsg per ready socket, recvbatch_linux.go; the shared
// per-packet code of forward.go; one sendto). It waits for the set in
// Go's own netpoller (an epoll descriptor is pollable), so a batch of
// packets costs one goroutine wake-up and a packet two system calls at
// most (before recvmmsg, three: a recvmsg more per socket for the EAGAIN
// that ended its loop); an earlier version locked the
// goroutine to a thread blocked in epoll_wait, which under a flood had to
// win a P back for every wake-up (docs/benchmarks.md, "The relay's
// loop"). On the goroutine path (loop.go) each packet also
// costs Go's netpoller a park and unpark of the reader goroutine, often
// with a futex wake of an idle thread: a third of the relay's CPU at 100
// calls in a profile (docs/benchmarks.md, "The relay's loop").
//
// The sockets of a polled session are raw non-blocking sockets the Go
// runtime never sees (a *net.UDPConn would also sit in the runtime's own
// epoll set and wake its idle threads per packet). Sessions are added and
// removed by the poller goroutine itself, between two epoll_wait batches
// (asked for through an eventfd), so no event of a batch can name a socket
// that has been removed, and Session.Close closes a socket only once it is
// out of the epoll set: a closed socket is never read, and a reused file
// descriptor number is never mistaken for the old socket.
//
// A relay runs one poller, or a few on more than 2 CPUs (pollerCount in
// relay.go); each session's four sockets are in one poller's set, so the
// hook never runs for one session on two threads at once.
//
// The epoll set is level-triggered and the poller reads up to
// drainPerSocket datagrams from each ready socket per batch: a backlog
// (queued while the poller waited for a CPU) is relayed in one go, and a
// socket with still more waits for the next batch, so one busy peer cannot
// starve the others.
//
// Inside its loop the poller makes no system call through the Go
// scheduler: recvmmsg, sendto, the non-blocking epoll_wait and the
// eventfd read are raw system calls (none of them can block), so the
// poller keeps its P from one batch to the next. Through syscall.Syscall,
// as the first versions did, an epoll_wait over many ready sockets lasted
// long enough for Go's sysmon to hand the P to another goroutine whenever
// others were runnable; the poller then queued behind them for every batch
// of one datagram per socket. On the test bed's flooded board (a CPU
// cgroup at 40 % of a core, the daemon's SIP goroutines always runnable)
// that cut the relay to a few batches a second: every call's audio fell up
// to 7 s behind, the sockets' receive buffers overflowed, and the phones'
// jitter buffers played seconds-old speech (docs/benchmarks.md, "The
// relay's loop"). It now waits only in Go's netpoller, when no socket is
// ready, and is preempted like any goroutine after 10 ms of running.

// havePoller is true where poll_linux.go is built.
const havePoller = true

const (
	// pollBatch is the most events one epoll_wait returns.
	pollBatch = 128
	// drainPerSocket is the most datagrams read from one ready socket
	// per batch: about a third of a second of a 20 ms call, which is what
	// queues while the poller waits its turn for a CPU under overload.
	drainPerSocket = 16
	// wakeSlot is the event data of the poller's eventfd.
	wakeSlot = -1
)

// errPollerStopped is returned when a session is added to a poller that
// has been stopped (the relay closed meanwhile).
var errPollerStopped = errors.New("media: poller stopped")

// pollSlot is what the poller knows of one socket in its epoll set.
type pollSlot struct {
	fd      int
	s       *Session
	in, out *Leg
	d       Direction
	rtcp    bool // the leg's RTCP socket (else its RTP socket)
}

// pollOp is a request to the poller goroutine: add s, remove s, or stop
// (s nil).
type pollOp struct {
	s    *Session
	add  bool
	done chan error
}

// poller is one epoll set and the goroutine reading it.
type poller struct {
	epfd, evfd int
	epf        *os.File        // epfd, registered in Go's netpoller
	rc         syscall.RawConn // epf's, for the wait
	log        *slog.Logger
	exited     chan struct{}

	mu      sync.Mutex // guards ops and stopped
	ops     []pollOp
	stopped bool

	// Owned by the poller goroutine.
	slots []pollSlot
	free  []int32
	proc  *processor
	rx    recvBatch
	wbuf  [8]byte

	// hold counts how long datagrams waited in the sockets (hold.go).
	hold holdRecorder

	// batches counts the non-empty epoll_wait batches (for tests).
	batches atomic.Uint64
}

// newPoller creates the epoll set and its eventfd and starts the poller
// goroutine.
func newPoller(log *slog.Logger) (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("media: epoll_create1: %w", err)
	}
	evfd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("media: eventfd: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: wakeSlot}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, evfd, &ev); err != nil {
		unix.Close(evfd)
		unix.Close(epfd)
		return nil, fmt.Errorf("media: epoll_ctl eventfd: %w", err)
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(evfd)
		unix.Close(epfd)
		return nil, fmt.Errorf("media: epoll set non-blocking: %w", err)
	}
	epf := os.NewFile(uintptr(epfd), "epoll")
	rc, err := epf.SyscallConn()
	if err != nil {
		unix.Close(evfd)
		epf.Close()
		return nil, fmt.Errorf("media: epoll in the netpoller: %w", err)
	}
	p := &poller{
		epfd: epfd, evfd: evfd, epf: epf, rc: rc, log: log,
		exited: make(chan struct{}),
		proc:   newProcessor(),
	}
	p.rx.init()
	p.hold.log = log
	p.hold.causes = newHoldCauses()
	p.hold.causes.refresh(time.Now().UnixNano())
	go p.hold.causes.run(p.exited)
	go p.run()
	return p, nil
}

// holds returns the poller's hold counters.
func (p *poller) holds() HoldStats { return p.hold.snapshot() }

// add puts s's four sockets into the epoll set; relaying starts when it
// returns nil.
func (p *poller) add(s *Session) error { return p.do(pollOp{s: s, add: true}) }

// remove takes s's sockets out of the epoll set. When it returns, the
// poller is not reading them and never will: they may be closed.
func (p *poller) remove(s *Session) { _ = p.do(pollOp{s: s}) }

// stop ends the poller goroutine and closes the epoll set. Sessions still
// in it are dropped from it (their sockets are not closed).
func (p *poller) stop() {
	_ = p.do(pollOp{})
	<-p.exited
}

// do hands op to the poller goroutine and waits for it to be applied.
func (p *poller) do(op pollOp) error {
	op.done = make(chan error, 1)
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return errPollerStopped
	}
	if op.s == nil {
		p.stopped = true
	}
	p.ops = append(p.ops, op)
	p.mu.Unlock()
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	for {
		_, err := unix.Write(p.evfd, one[:])
		if err != unix.EINTR {
			// EAGAIN: the counter is saturated, the poller is
			// awake already.
			break
		}
	}
	return <-op.done
}

// run is the poller goroutine. It waits for the epoll set in Go's own
// netpoller (the epoll descriptor is itself pollable) and then collects
// the ready events with a non-blocking epoll_wait, so it holds no thread
// and no P while the relay is idle, and a wake-up is an ordinary
// goroutine wake-up that any thread can serve.
func (p *poller) run() {
	defer close(p.exited)
	events := make([]unix.EpollEvent, pollBatch)
	var n int
	var werr error
	collect := func(fd uintptr) bool {
		n, werr = epollWaitNow(int(fd), events)
		return werr != nil || n > 0 // none ready: wait in the netpoller
	}
	for {
		if err := p.rc.Read(collect); err != nil {
			p.log.Error("media: poller wait", "err", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if werr != nil {
			if werr != unix.EINTR {
				p.log.Error("media: epoll_wait", "err", werr)
				time.Sleep(10 * time.Millisecond) // not a spin on a persistent error
			}
			continue
		}
		p.batches.Add(1)
		wake := false
		for i := range n {
			if slot := events[i].Fd; slot != wakeSlot {
				p.serve(&p.slots[slot])
			} else {
				wake = true
			}
		}
		p.hold.endBatch()
		// Between batches: no event in hand names a socket.
		if wake && p.apply() {
			return
		}
	}
}

// serve relays what a ready socket holds, up to drainPerSocket datagrams,
// read with one recvmmsg.
func (p *poller) serve(sl *pollSlot) {
	n, err := p.rx.recv(sl.fd)
	if err != nil {
		if err == unix.EAGAIN {
			return // the readiness was taken back (a datagram dropped meanwhile)
		}
		what := "rtp"
		if sl.rtcp {
			what = "rtcp"
		}
		sl.s.readErr(sl.in, what, err)
		return
	}
	for i := range n {
		b, src, rxNs := p.rx.datagram(i)
		if rxNs != 0 {
			p.hold.record(rxNs, time.Now().UnixNano())
		}
		if sl.rtcp {
			sl.s.relayRTCP(sl.in, sl.out, b, src)
		} else {
			sl.s.relayRTP(p.proc, sl.in, sl.out, sl.d, b, src)
		}
	}
}

// epollWaitNow collects the ready events of epfd without waiting
// (epoll_pwait with a zero timeout and no signal mask: it never blocks).
// It is a raw system call, so the poller keeps its P (see the top of this
// file).
func epollWaitNow(epfd int, events []unix.EpollEvent) (int, error) {
	for {
		n, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd),
			uintptr(unsafe.Pointer(unsafe.SliceData(events))), uintptr(len(events)), 0, 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		return int(n), nil
	}
}

// sockaddrToAddrPort reads an AF_INET or AF_INET6 address as the net
// package's ReadFromUDPAddrPort would return it.
func sockaddrToAddrPort(rsa *unix.RawSockaddrInet6) netip.AddrPort {
	port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&rsa.Port))[:])
	switch rsa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(rsa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), port)
	case unix.AF_INET6:
		a := netip.AddrFrom16(rsa.Addr)
		if rsa.Scope_id != 0 {
			a = a.WithZone(zoneName(int(rsa.Scope_id)))
		}
		return netip.AddrPortFrom(a, port)
	}
	return netip.AddrPort{}
}

// zoneName names an IPv6 scope as the net package does: the interface's
// name, else its index.
func zoneName(index int) string {
	if ifi, err := net.InterfaceByIndex(index); err == nil {
		return ifi.Name
	}
	return strconv.Itoa(index)
}

// apply runs the queued requests; it returns true when the poller is to
// stop (the epoll set is then closed).
func (p *poller) apply() (stop bool) {
	for { // a raw read: the eventfd is non-blocking
		_, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(p.evfd),
			uintptr(unsafe.Pointer(&p.wbuf[0])), uintptr(len(p.wbuf)))
		if e != unix.EINTR {
			break
		}
	}
	p.mu.Lock()
	ops := p.ops
	p.ops = nil
	p.mu.Unlock()
	for _, op := range ops {
		switch {
		case op.s == nil:
			stop = true
		case op.add:
			op.done <- p.addSession(op.s)
			continue
		default:
			p.removeSession(op.s)
		}
		op.done <- nil
	}
	if stop {
		for i := range p.slots {
			if p.slots[i].s != nil {
				_ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, p.slots[i].fd, nil)
				p.slots[i] = pollSlot{}
			}
		}
		unix.Close(p.evfd)
		p.epf.Close() // out of Go's netpoller, then closed
	}
	return stop
}

// addSession puts s's sockets into the epoll set, all or none.
func (p *poller) addSession(s *Session) error {
	a, b := s.legs[0], s.legs[1]
	want := [4]pollSlot{
		{in: a, out: b, d: AtoB},
		{in: b, out: a, d: BtoA},
		{in: a, out: b, d: AtoB, rtcp: true},
		{in: b, out: a, d: BtoA, rtcp: true},
	}
	for k, sl := range want {
		sock := sl.in.rtp
		if sl.rtcp {
			sock = sl.in.rtcp
		}
		raw, ok := sock.(*rawSock)
		if !ok {
			p.dropSlots(s, k)
			return fmt.Errorf("media: poller: leg %s is not a raw socket", sl.in.name)
		}
		sl.fd, sl.s = raw.fd, s
		idx := p.slot(sl)
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: idx}
		if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, sl.fd, &ev); err != nil {
			p.releaseSlot(idx)
			p.dropSlots(s, k)
			return fmt.Errorf("media: epoll_ctl add port %d: %w", sl.in.port, err)
		}
		s.pollSlots[k] = idx
	}
	return nil
}

// removeSession takes s's sockets out of the epoll set.
func (p *poller) removeSession(s *Session) { p.dropSlots(s, len(s.pollSlots)) }

// dropSlots removes the first n of s's slots.
func (p *poller) dropSlots(s *Session, n int) {
	for k := range n {
		idx := s.pollSlots[k]
		if idx < 0 || int(idx) >= len(p.slots) || p.slots[idx].s != s {
			continue // never added
		}
		_ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, p.slots[idx].fd, nil)
		p.releaseSlot(idx)
		s.pollSlots[k] = -1
	}
}

// slot stores sl in a free slot and returns its index.
func (p *poller) slot(sl pollSlot) int32 {
	if n := len(p.free); n > 0 {
		idx := p.free[n-1]
		p.free = p.free[:n-1]
		p.slots[idx] = sl
		return idx
	}
	p.slots = append(p.slots, sl)
	return int32(len(p.slots) - 1)
}

func (p *poller) releaseSlot(idx int32) {
	p.slots[idx] = pollSlot{}
	p.free = append(p.free, idx)
}

// rawSock is a non-blocking UDP socket outside Go's netpoller, read only
// by the poller goroutine.
type rawSock struct {
	fd     int
	v6     bool
	closed atomic.Bool
}

// bindRaw opens a non-blocking UDP socket on ip:port with the options
// net.ListenUDP would set ("udp6" is IPv6-only; SO_BROADCAST on).
func bindRaw(ip netip.Addr, port int) (*rawSock, error) {
	family := unix.AF_INET
	if ip.Is6() {
		family = unix.AF_INET6
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	var sa unix.Sockaddr
	if family == unix.AF_INET6 {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("IPV6_V6ONLY: %w", err)
		}
		sa6 := &unix.SockaddrInet6{Port: port, Addr: ip.As16()}
		if z := ip.Zone(); z != "" {
			sa6.ZoneId = uint32(zoneIndex(z))
		}
		sa = sa6
	} else {
		sa = &unix.SockaddrInet4{Port: port, Addr: ip.As4()}
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_BROADCAST, 1); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("SO_BROADCAST: %w", err)
	}
	// The kernel's receive time of every datagram, for the relay's hold
	// measure (hold.go). Without it the relay works and measures nothing.
	// Microseconds (SO_TIMESTAMP) are plenty for holds of milliseconds, and
	// qemu's user-mode emulation, which runs the ARMv7 tests, passes them
	// through (it drops SO_TIMESTAMPNS).
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMP, 1)
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind %s: %w", netip.AddrPortFrom(ip, uint16(port)), err)
	}
	return &rawSock{fd: fd, v6: family == unix.AF_INET6}, nil
}

// zoneIndex is the interface index of an IPv6 zone (a name or a number).
func zoneIndex(zone string) int {
	if ifi, err := net.InterfaceByName(zone); err == nil {
		return ifi.Index
	}
	n, _ := strconv.Atoi(zone)
	return n
}

// bindRawPair opens the RTP socket on port and the RTCP socket on port+1.
func bindRawPair(ip netip.Addr, port int) (rtp, rtcp udpSock, err error) {
	a, err := bindRaw(ip, port)
	if err != nil {
		return nil, nil, fmt.Errorf("bind rtp %d: %w", port, err)
	}
	b, err := bindRaw(ip, port+1)
	if err != nil {
		a.Close()
		return nil, nil, fmt.Errorf("bind rtcp %d: %w", port+1, err)
	}
	return a, b, nil
}

// errAddrFamily is a destination the socket's family cannot reach (an
// IPv6 peer on an IPv4 relay), as net.UDPConn refuses it.
var errAddrFamily = errors.New("media: destination address family does not match the socket")

// WriteToUDPAddrPort sends b to dst with one non-blocking sendto that
// allocates nothing. A full socket buffer (EAGAIN) is an error: the packet
// is dropped rather than the poller blocked.
func (c *rawSock) WriteToUDPAddrPort(b []byte, dst netip.AddrPort) (int, error) {
	var sa unix.RawSockaddrInet6 // large enough for either family
	var saLen uintptr
	ip := dst.Addr()
	portBytes := (*[2]byte)(unsafe.Pointer(&sa.Port))
	binary.BigEndian.PutUint16(portBytes[:], dst.Port())
	switch {
	case !c.v6:
		if !ip.Is4() && !ip.Is4In6() {
			return 0, errAddrFamily
		}
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(&sa))
		sa4.Family = unix.AF_INET
		sa4.Addr = ip.Unmap().As4()
		saLen = unsafe.Sizeof(*sa4)
	default:
		if !ip.IsValid() {
			return 0, errAddrFamily
		}
		sa.Family = unix.AF_INET6
		sa.Addr = ip.As16()
		if z := ip.Zone(); z != "" {
			sa.Scope_id = uint32(zoneIndex(z))
		}
		saLen = unsafe.Sizeof(sa)
	}
	for {
		n, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(c.fd),
			uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)), 0,
			uintptr(unsafe.Pointer(&sa)), saLen)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		return int(n), nil
	}
}

// Close closes the socket once. On a polled session it is called only
// after the socket left the epoll set.
func (c *rawSock) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	return unix.Close(c.fd)
}
