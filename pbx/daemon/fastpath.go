package daemon

import (
	"bytes"
	"log/slog"
	"net"

	"github.com/emiago/sipgo/sip"

	"hushbox/pbx/registrar"
	"hushbox/pbx/sipmsg"
)

// fastRegister answers REGISTERs that arrive over UDP right in the
// transport's read loop, before the SIP stack's transaction layer: every
// answer of the registrar is stateless, so the goroutine and server
// transaction the stack would create per request (most of a REGISTER's
// cost under load) buy nothing. Everything else goes the normal way.
type fastRegister struct {
	reg    *registrar.Registrar
	signer sipmsg.Signer
	conn   net.PacketConn
	log    *slog.Logger
}

var registerPrefix = []byte("REGISTER ")

// handle answers data if it is a REGISTER and reports whether it did.
// Unparseable messages are left to the stack, which answers 400.
func (f *fastRegister) handle(data []byte, raddr net.Addr) (done bool) {
	if !bytes.HasPrefix(data, registerPrefix) {
		return false
	}
	defer func() {
		if r := recover(); r != nil {
			f.log.Error("REGISTER fast path panic", "src", raddr, "panic", r)
			done = true // drop it: the sender retransmits or gives up
		}
	}()
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
	if _, err := f.conn.WriteTo([]byte(res.String()), raddr); err != nil {
		f.log.Debug("REGISTER answer not sent", "dst", raddr, "err", err)
	}
	return true
}
