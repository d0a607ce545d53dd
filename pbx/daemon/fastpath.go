package daemon

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"

	"hushbox/pbx/registrar"
	"hushbox/pbx/sipmsg"
)

// fastRegister answers REGISTERs that arrive over UDP right in the
// transport's read loop, before the SIP stack's transaction layer: every
// answer of the registrar is stateless, so the goroutine and server
// transaction the stack would create per request (most of a REGISTER's
// cost under load) buy nothing. Everything else goes the normal way.
//
// The read loop only queues the datagram; a few workers (one per CPU) parse
// and answer, so registrations use every core without a goroutine per
// request. When the queue is full the datagram is dropped: the phone
// retransmits, and an overloaded box sheds REGISTERs before anything else.
type fastRegister struct {
	reg    *registrar.Registrar
	signer sipmsg.Signer
	conn   net.PacketConn
	log    *slog.Logger
	queue  chan datagram
	// Dropped counts REGISTERs shed because the queue was full.
	Dropped atomic.Uint64
	// maxDelay is the longest queue wait (ns) since the guard's sampler
	// last asked: one of the pressure inputs.
	maxDelay atomic.Int64
}

type datagram struct {
	buf  *[]byte // from datagramPool; data is (*buf)[:n]
	data []byte
	from net.Addr
	at   time.Time // when it was queued
}

// datagramPool recycles the copies of queued datagrams; outPool the
// buffers responses are written into. The parser copies what it keeps
// (header values are strings, a body is copied), so a datagram's buffer is
// free again once it is answered.
var (
	datagramPool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}
	outPool      = sync.Pool{New: func() any { return new(bytes.Buffer) }}
	fastOutPool  = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}
)

// maxPooled is the largest buffer put back in a pool, so one huge message
// does not pin its memory for ever.
const maxPooled = 8192

// queueLen bounds the REGISTERs waiting for a worker (about 1.5 MiB).
const queueLen = 1024

func newFastRegister(reg *registrar.Registrar, signer sipmsg.Signer, conn net.PacketConn, log *slog.Logger) *fastRegister {
	return &fastRegister{reg: reg, signer: signer, conn: conn, log: log, queue: make(chan datagram, queueLen)}
}

// run starts the workers; they stop when ctx ends.
func (f *fastRegister) run(ctx context.Context, wg *sync.WaitGroup) {
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case d := <-f.queue:
					f.noteDelay(time.Since(d.at))
					if !f.answer(d.data, d.from) {
						f.log.Debug("REGISTER not parseable", "src", d.from)
					}
					if cap(*d.buf) <= maxPooled {
						datagramPool.Put(d.buf)
					}
				}
			}
		}()
	}
}

// offer queues data if it is a REGISTER and reports whether it took it.
// data is the read loop's buffer: it is copied.
func (f *fastRegister) offer(data []byte, raddr net.Addr) bool {
	if !bytes.HasPrefix(data, registerPrefix) {
		return false
	}
	// With no backlog, a REGISTER pbx/sipfast reads is answered right
	// here in the read loop: the hand-off to a worker (a copy, a channel
	// send, a goroutine wake-up) cost more than the answer itself in the
	// profile under sipp. Under a backlog, or when it needs sipgo, it
	// queues as before, so the guard still sees the queue's delay.
	if len(f.queue) == 0 && f.answerFast(data, raddr) {
		return true
	}
	buf := datagramPool.Get().(*[]byte)
	*buf = append((*buf)[:0], data...)
	select {
	case f.queue <- datagram{buf: buf, data: *buf, from: raddr, at: time.Now()}:
	default:
		datagramPool.Put(buf)
		f.Dropped.Add(1)
	}
	return true
}

var registerPrefix = []byte("REGISTER ")

// answer answers one REGISTER; false when it does not parse (garbage gets
// silence, as RFC 3261 allows for messages too broken to answer).
func (f *fastRegister) answer(data []byte, raddr net.Addr) (done bool) {
	defer func() {
		if r := recover(); r != nil {
			f.log.Error("REGISTER fast path panic", "src", raddr, "panic", r)
			done = true // drop it: the sender retransmits or gives up
		}
	}()
	if f.answerFast(data, raddr) {
		return true
	}
	msg, err := sip.ParseMessage(data)
	if err != nil {
		return false
	}
	req, ok := msg.(*sip.Request)
	if !ok || req.Method != sip.REGISTER {
		return false
	}
	req.SetSource(raddr.String())
	req.SetTransport("UDP")
	var res *sip.Response
	if code, reason := sipmsg.Validate(req); code != 0 {
		res = f.signer.Response(req, code, reason, nil)
	} else {
		res = f.reg.Handle(req).Res
	}
	if res == nil {
		return true // a retransmission of a REGISTER still being answered
	}
	out := outPool.Get().(*bytes.Buffer)
	out.Reset()
	res.StringWrite(out) // the bytes of res.String(), without the string
	if _, err := f.conn.WriteTo(out.Bytes(), raddr); err != nil {
		f.log.Debug("REGISTER answer not sent", "dst", raddr, "err", err)
	}
	if out.Cap() <= maxPooled {
		outPool.Put(out)
	}
	return true
}

// answerFast answers a REGISTER through the registrar's fast path
// (pbx/sipfast: no sipgo message built, the answer written into a reused
// buffer) and reports whether it did. false: the datagram needs sipgo and
// nothing was done. It keeps no reference to data.
func (f *fastRegister) answerFast(data []byte, raddr net.Addr) (done bool) {
	ua, ok := raddr.(*net.UDPAddr)
	if !ok {
		return false
	}
	defer func() {
		if r := recover(); r != nil {
			f.log.Error("REGISTER fast path panic", "src", raddr, "panic", r)
			done = true // drop it: the sender retransmits or gives up
		}
	}()
	buf := fastOutPool.Get().(*[]byte)
	out, answered := f.reg.AnswerFast(data, ua.AddrPort(), (*buf)[:0])
	if answered && len(out) > 0 { // nothing: a retransmission to drop
		if _, err := f.conn.WriteTo(out, raddr); err != nil {
			f.log.Debug("REGISTER answer not sent", "dst", raddr, "err", err)
		}
	}
	if cap(out) <= maxPooled {
		*buf = out
		fastOutPool.Put(buf)
	}
	return answered
}
