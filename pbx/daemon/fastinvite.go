package daemon

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"hushbox/pbx/call"
)

// fastInvite answers, over UDP, the INVITEs whose answer keeps no state
// (call.Manager.StatelessInvite: a new call without credentials, which
// gets a 407 challenge) without the SIP stack's transaction layer: no
// server transaction, timers and goroutine per request. A SIP flood is
// made of such INVITEs; the profile of the test bed's board under one
// showed the transaction layer as most of their cost.
//
// The read loop parses the INVITE and queues it; one worker answers
// through the daemon's usual INVITE handler (the same checks, guard
// hooks, hand-off redirect and challenge) with a stateless transaction.
// The read loop thus drains the socket at once: answers to re-INVITEs
// and other in-dialog traffic no longer wait behind a socket buffer full
// of flood INVITEs. When the queue is full the INVITE is dropped and
// counted with the REGISTER fast path's drops (a pressure input): its
// sender retransmits, an attacker does not matter.
type fastInvite struct {
	calls  *call.Manager
	handle sipgo.RequestHandler // the INVITE handler, guard checks included
	conn   net.PacketConn
	fast   *fastRegister // its Dropped and queue delay are the pressure's
	log    *slog.Logger
	queue  chan queuedInvite
}

type queuedInvite struct {
	req  *sip.Request
	from net.Addr
	at   time.Time
}

// inviteQueueLen bounds the challenges waiting for the worker: at the
// test bed board's pace (a few hundred a second) a fraction of a second.
const inviteQueueLen = 128

func newFastInvite(calls *call.Manager, handle sipgo.RequestHandler, conn net.PacketConn, fast *fastRegister, log *slog.Logger) *fastInvite {
	return &fastInvite{calls: calls, handle: handle, conn: conn, fast: fast, log: log, queue: make(chan queuedInvite, inviteQueueLen)}
}

// run starts the worker; it stops when ctx ends.
func (f *fastInvite) run(ctx context.Context, wg *sync.WaitGroup) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case q := <-f.queue:
				f.fast.noteDelay(time.Since(q.at))
				f.answer(q)
			}
		}
	}()
}

var invitePrefix = []byte("INVITE ")

// offer takes data (a UDP datagram, already through the guard) when it is
// an INVITE the fast path answers, and reports whether it took it; false
// leaves it to the SIP stack. data is the read loop's buffer: the parser
// copies what it keeps.
func (f *fastInvite) offer(data []byte, raddr net.Addr) (took bool) {
	if !bytes.HasPrefix(data, invitePrefix) || mayHaveCredentials(data) {
		return false
	}
	defer func() {
		if r := recover(); r != nil {
			f.log.Error("INVITE fast path panic", "src", raddr, "panic", r)
			took = false // the stack gets it, as before the fast path
		}
	}()
	msg, err := sip.ParseMessage(data)
	if err != nil {
		return false // the stack decides what a broken message gets
	}
	req, ok := msg.(*sip.Request)
	if !ok {
		return false
	}
	req.SetSource(raddr.String())
	req.SetTransport("UDP")
	if !f.calls.StatelessInvite(req) {
		return false
	}
	select {
	case f.queue <- queuedInvite{req: req, from: raddr, at: time.Now()}:
	default:
		f.fast.Dropped.Add(1)
	}
	return true
}

// mayHaveCredentials is a quick look for an Authorization or
// Proxy-Authorization header; a match (even a false one) sends the INVITE
// the normal way, where it is parsed properly.
func mayHaveCredentials(data []byte) bool {
	head := data
	if end := bytes.Index(data, []byte("\r\n\r\n")); end >= 0 {
		head = data[:end]
	}
	const name = "authorization"
	for i := 0; i+len(name) <= len(head); i++ {
		if head[i]|0x20 == 'a' && bytes.EqualFold(head[i:i+len(name)], []byte(name)) {
			return true
		}
	}
	return false
}

// answer runs the INVITE handler on q with a stateless transaction.
func (f *fastInvite) answer(q queuedInvite) {
	f.handle(q.req, &statelessTx{conn: f.conn, from: q.from, log: f.log})
}

// statelessTx is the transaction the fast path's INVITEs are answered
// through: Respond writes the response to where the stack would send it,
// and there is nothing else (no retransmissions, no ACK, no CANCEL): the
// handler's answer to such an INVITE is final and stateless.
type statelessTx struct {
	conn net.PacketConn
	from net.Addr
	log  *slog.Logger
}

var closedDone = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (t *statelessTx) Respond(res *sip.Response) error {
	to := t.from
	// Where the stack would send it: the top Via's received/rport (RFC
	// 3261 18.2.2, RFC 3581), which NewResponseFromRequest put in the
	// destination; the source when that is not an address.
	if ap, err := netip.ParseAddrPort(res.Destination()); err == nil {
		to = net.UDPAddrFromAddrPort(ap)
	}
	out := outPool.Get().(*bytes.Buffer)
	out.Reset()
	res.StringWrite(out)
	_, err := t.conn.WriteTo(out.Bytes(), to)
	if out.Cap() <= maxPooled {
		outPool.Put(out)
	}
	if err != nil {
		t.log.Debug("INVITE answer not sent", "dst", to, "err", err)
	}
	return err
}

func (t *statelessTx) Acks() <-chan *sip.Request          { return nil }
func (t *statelessTx) OnCancel(sip.FnTxCancel) bool       { return false }
func (t *statelessTx) Terminate()                         {}
func (t *statelessTx) OnTerminate(sip.FnTxTerminate) bool { return false }
func (t *statelessTx) Done() <-chan struct{}              { return closedDone }
func (t *statelessTx) Err() error                         { return nil }
