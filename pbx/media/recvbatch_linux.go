package media

import (
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// recvBatch reads up to drainPerSocket datagrams from a socket with one
// recvmmsg, each with its source and the kernel's receive time: one
// system call per ready socket and batch, where a recvmsg loop took one
// per datagram and one more for the EAGAIN that ends it (on the boards and
// on paravirtualised hosts the system calls are most of the relay's cost).
// It allocates nothing after init; the datagrams stay valid until the
// next recv (the relay rewrites each in place and sends it before that).
type recvBatch struct {
	hdrs [drainPerSocket]unix.Mmsghdr
	iovs [drainPerSocket]unix.Iovec
	rsas [drainPerSocket]unix.RawSockaddrInet6
	cmsg [drainPerSocket][64]byte // the receive timestamp of each
	bufs [drainPerSocket][]byte
	used int // headers the last recv filled: only those need resetting
}

// init allocates the buffers and points the headers at them.
func (r *recvBatch) init() {
	for i := range r.hdrs {
		r.bufs[i] = newReadBuffer()
		r.iovs[i].Base = unsafe.SliceData(r.bufs[i])
		r.iovs[i].SetLen(maxPacket + 1)
		h := &r.hdrs[i].Hdr
		h.Name = (*byte)(unsafe.Pointer(&r.rsas[i]))
		h.Iov = &r.iovs[i]
		h.Iovlen = 1
		h.Control = &r.cmsg[i][0]
		r.reset(i)
	}
}

// reset makes header i ready for a receive: room for an address and a
// timestamp, no flags.
func (r *recvBatch) reset(i int) {
	h := &r.hdrs[i].Hdr
	h.Namelen = uint32(unsafe.Sizeof(r.rsas[i]))
	h.SetControllen(len(r.cmsg[i]))
	h.Flags = 0
	r.hdrs[i].Len = 0
}

// recv is a non-blocking recvmmsg of up to drainPerSocket datagrams from
// fd: how many it read, or EAGAIN when there was none. A raw system call:
// the poller keeps its P (poll_linux.go).
func (r *recvBatch) recv(fd int) (int, error) {
	// The kernel writes back the lengths and flags of the messages it
	// fills and leaves the others as they were: reset the last call's.
	for i := range r.used {
		r.reset(i)
	}
	r.used = 0
	for {
		n, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&r.hdrs[0])),
			uintptr(len(r.hdrs)), 0, 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		r.used = int(n)
		return int(n), nil
	}
}

// datagram is the i-th datagram of the last recv: its bytes (a datagram
// longer than maxPacket comes back truncated to maxPacket+1 bytes), its
// source and its receive time in unix ns (microsecond resolution; 0 when
// the socket gave none).
func (r *recvBatch) datagram(i int) ([]byte, netip.AddrPort, int64) {
	return r.bufs[i][:r.hdrs[i].Len], sockaddrToAddrPort(&r.rsas[i]), rxTime(&r.hdrs[i].Hdr, &r.cmsg[i])
}

// rxTime reads the SCM_TIMESTAMP control message a recvmsg left in cmsg
// (the only one the sockets ask for, see bindRaw), in unix ns; 0 when
// there is none.
func rxTime(h *unix.Msghdr, cmsg *[64]byte) int64 {
	if int(h.Controllen) < unix.CmsgLen(int(unsafe.Sizeof(unix.Timeval{}))) {
		return 0
	}
	c := (*unix.Cmsghdr)(unsafe.Pointer(&cmsg[0]))
	if c.Level != unix.SOL_SOCKET || c.Type != unix.SCM_TIMESTAMP {
		return 0
	}
	tv := (*unix.Timeval)(unsafe.Pointer(&cmsg[unix.CmsgLen(0)]))
	return tv.Nano()
}
