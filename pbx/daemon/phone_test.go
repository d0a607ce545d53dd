package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"
)

// phone is a minimal SIP phone for the end-to-end tests: a sipgo stack on
// its own 127.0.0.1 UDP port, an RTP socket, and just enough dialog state
// to register, call, answer, hold, hang up and cancel. Requests are built
// by hand so a test sees exactly what goes on the wire.

// answerMode is what a phone does with an incoming INVITE.
type answerMode int

const (
	// autoAnswer: 180 then 200 with an SDP answer.
	autoAnswer answerMode = iota
	// busy: 486 Busy Here.
	busy
	// ringOnly: 180, then wait for the test (inCall.respond) or a CANCEL.
	ringOnly
	// silent: no answer of its own (sipgo still sends 100 Trying after
	// 200 ms); waits for the test or a CANCEL.
	silent
)

type phone struct {
	t        *testing.T
	ext      string
	password string
	pbxAddr  string
	pbxPort  int
	addr     string // our SIP host:port
	port     int

	ua   *sipgo.UserAgent
	srv  *sipgo.Server
	cli  *sipgo.Client
	conn net.PacketConn
	rtp  *net.UDPConn

	mu        sync.Mutex
	mode      answerMode
	codecs    []string // G.711 laws this phone answers with, preferred first
	dialogs   map[string]*dialog
	regCallID string
	regCSeq   uint32

	// incoming receives every new INVITE.
	incoming chan *inCall
	closed   chan struct{}

	wireMu sync.Mutex
	wire   []wireMsg // SIP messages sent and received, in order

	rtpMu    sync.Mutex
	rtpRecv  []rtp.Packet
	rtpCount atomic.Int64
}

// newPhone starts a phone for extension ext (password from testPasswords,
// any other extension gets "wrong-password") talking to p.
func newPhone(t *testing.T, p *pbx, ext string) *phone {
	t.Helper()
	pw, ok := testPasswords[ext]
	if !ok {
		pw = "wrong-password"
	}
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := conn.LocalAddr().(*net.UDPAddr).Port
	ph := &phone{t: t, ext: ext, password: pw, pbxAddr: p.addr, pbxPort: p.port,
		addr: conn.LocalAddr().String(), port: port, conn: conn,
		codecs: []string{"PCMU", "PCMA"}, dialogs: map[string]*dialog{},
		regCallID: sip.GenerateTagN(20) + "@phone", regCSeq: 1,
		incoming: make(chan *inCall, 8), closed: make(chan struct{})}
	ph.rtp, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	ph.ua, err = sipgo.NewUA(sipgo.WithUserAgent("e2e-phone-"+ext), sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	ph.srv, err = sipgo.NewServer(ph.ua)
	if err != nil {
		t.Fatal(err)
	}
	ph.cli, err = sipgo.NewClient(ph.ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientPort(port),
		sipgo.WithClientConnectionAddr(ph.addr))
	if err != nil {
		t.Fatal(err)
	}
	ph.srv.OnInvite(ph.onInvite)
	ph.srv.OnAck(ph.onAck)
	ph.srv.OnBye(ph.onBye)
	ph.srv.OnInfo(ph.onInfo)
	ph.srv.OnCancel(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
	})
	ph.srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	go func() { _ = ph.srv.ServeUDP(&tapConn{PacketConn: conn, ph: ph}) }()
	go ph.readRTP()
	// Closed after the daemon stops (see startPBX), so a daemon shutting
	// down still finds the phones to say BYE to.
	p.addPhone(ph)
	// Requests leave from the listening socket (so the PBX sees the address
	// it will call back); wait until sipgo has it in its pool.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := ph.ua.TransportLayer().GetConnection("udp", ph.addr); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("phone's SIP socket never came up")
		}
		time.Sleep(time.Millisecond)
	}
	return ph
}

func (ph *phone) close() {
	select {
	case <-ph.closed:
		return
	default:
	}
	close(ph.closed)
	ph.ua.Close()
	ph.conn.Close()
	ph.rtp.Close()
}

func (ph *phone) setMode(m answerMode) {
	ph.mu.Lock()
	ph.mode = m
	ph.mu.Unlock()
}

func (ph *phone) setCodecs(c ...string) {
	ph.mu.Lock()
	ph.codecs = c
	ph.mu.Unlock()
}

func (ph *phone) contactURI() sip.Uri {
	return sip.Uri{Scheme: "sip", User: ph.ext, Host: "127.0.0.1", Port: ph.port}
}

func (ph *phone) contact() *sip.ContactHeader {
	return &sip.ContactHeader{Address: ph.contactURI(), Params: sip.NewParams()}
}

func (ph *phone) rtpPort() int { return ph.rtp.LocalAddr().(*net.UDPAddr).Port }

func (ph *phone) pbxURI(user string) sip.Uri {
	return sip.Uri{Scheme: "sip", User: user, Host: "127.0.0.1", Port: ph.pbxPort}
}

// --- REGISTER ---

// register sends a REGISTER for the phone's extension with the given
// Expires header (negative: none) and contacts (none: the phone's own) and
// answers a 401 with password. It returns the challenge (nil when none
// came) and the final response.
func (ph *phone) register(ctx context.Context, password string, expires int, contacts ...sip.Uri) (*sip.Response, *sip.Response) {
	ph.t.Helper()
	if len(contacts) == 0 {
		contacts = []sip.Uri{ph.contactURI()}
	}
	aor := sip.Uri{Scheme: "sip", User: ph.ext, Host: "127.0.0.1"}
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: "127.0.0.1", Port: ph.pbxPort})
	from := &sip.FromHeader{Address: aor, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(12))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: aor, Params: sip.NewParams()})
	callID := sip.CallIDHeader(ph.regCallID)
	req.AppendHeader(&callID)
	ph.mu.Lock()
	ph.regCSeq++
	seq := ph.regCSeq
	ph.mu.Unlock()
	req.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: sip.REGISTER})
	for _, c := range contacts {
		req.AppendHeader(&sip.ContactHeader{Address: c, Params: sip.NewParams()})
	}
	if expires >= 0 {
		req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(expires)))
	}
	res, err := ph.cli.Do(ctx, req)
	if err != nil {
		ph.t.Fatalf("%s REGISTER: %v", ph.ext, err)
	}
	if res.StatusCode != 401 {
		return nil, res
	}
	final, err := ph.cli.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: ph.ext, Password: password})
	if err != nil {
		ph.t.Fatalf("%s REGISTER with credentials: %v", ph.ext, err)
	}
	ph.mu.Lock()
	ph.regCSeq = req.CSeq().SeqNo
	ph.mu.Unlock()
	return res, final
}

// mustRegister registers the phone for an hour or fails the test.
func (ph *phone) mustRegister(ctx context.Context) {
	ph.t.Helper()
	if _, res := ph.register(ctx, ph.password, 3600); res.StatusCode != 200 {
		ph.t.Fatalf("%s REGISTER: %d %s", ph.ext, res.StatusCode, res.Reason)
	}
}

// --- dialogs ---

// dialog is the phone's side of one call.
type dialog struct {
	ph           *phone
	callID       string
	localTag     string
	remoteTag    string
	localURI     sip.Uri
	remoteURI    sip.Uri
	remoteTarget sip.Uri

	mu       sync.Mutex
	cseq     uint32
	localPT  []int // payload types we use on this call
	remote   sdpInfo
	dir      string // our last direction
	byes     chan *sip.Request
	reinvite chan sdpInfo // offers received in re-INVITEs
	acks     chan *sip.Request
	infos    chan *sip.Request
}

func newDialog(ph *phone) *dialog {
	return &dialog{ph: ph, byes: make(chan *sip.Request, 4), reinvite: make(chan sdpInfo, 4),
		acks: make(chan *sip.Request, 8), infos: make(chan *sip.Request, 8), dir: "sendrecv"}
}

func (d *dialog) remoteSDP() sdpInfo {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.remote
}

// request builds an in-dialog request towards the PBX.
func (d *dialog) request(method sip.RequestMethod, body []byte) *sip.Request {
	d.mu.Lock()
	if method != sip.ACK {
		d.cseq++
	}
	seq := d.cseq
	d.mu.Unlock()
	req := sip.NewRequest(method, *d.remoteTarget.Clone())
	from := &sip.FromHeader{Address: d.localURI, Params: sip.NewParams()}
	from.Params.Add("tag", d.localTag)
	to := &sip.ToHeader{Address: d.remoteURI, Params: sip.NewParams()}
	to.Params.Add("tag", d.remoteTag)
	callID := sip.CallIDHeader(d.callID)
	maxFwd := sip.MaxForwardsHeader(70)
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: method})
	req.AppendHeader(&maxFwd)
	if method != sip.BYE {
		req.AppendHeader(d.ph.contact())
	}
	if body != nil {
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		req.SetBody(body)
	}
	req.SetDestination(d.ph.pbxAddr)
	return req
}

// bye hangs up and returns the PBX's answer.
func (d *dialog) bye(ctx context.Context) *sip.Response {
	d.ph.t.Helper()
	res, err := d.ph.cli.Do(ctx, d.request(sip.BYE, nil))
	if err != nil {
		d.ph.t.Fatalf("%s BYE: %v", d.ph.ext, err)
	}
	return res
}

// reinviteDir sends a re-INVITE offering direction dir (same codecs and
// port as before), acknowledges a 2xx and returns the final answer.
func (d *dialog) reinviteDir(ctx context.Context, dir string) *sip.Response {
	d.ph.t.Helper()
	d.mu.Lock()
	pts := d.localPT
	d.mu.Unlock()
	return d.reinviteBody(ctx, buildSDP(d.ph.rtpPort(), pts, dir))
}

// reinviteBody sends a re-INVITE with body as the offer (nil: none, a
// session refresh; the ACK then carries our answer) and returns the final
// answer, acknowledged when 2xx.
func (d *dialog) reinviteBody(ctx context.Context, body []byte) *sip.Response {
	d.ph.t.Helper()
	req := d.request(sip.INVITE, body)
	res, err := d.ph.cli.Do(ctx, req)
	if err != nil {
		d.ph.t.Fatalf("%s re-INVITE: %v", d.ph.ext, err)
	}
	if res.IsSuccess() {
		var ackBody []byte
		if body == nil {
			d.mu.Lock()
			ackBody = buildSDP(d.ph.rtpPort(), d.localPT, d.dir)
			d.mu.Unlock()
		}
		ack := d.request(sip.ACK, ackBody)
		ack.CSeq().SeqNo = req.CSeq().SeqNo
		if err := d.ph.cli.WriteRequest(ack); err != nil {
			d.ph.t.Fatalf("ACK: %v", err)
		}
		if s, err := parseSDP(res.Body()); err == nil {
			d.mu.Lock()
			d.remote = s
			d.mu.Unlock()
		}
	}
	return res
}

// waitBye waits for the PBX to hang up this dialog.
func (d *dialog) waitBye(ctx context.Context) *sip.Request {
	d.ph.t.Helper()
	select {
	case r := <-d.byes:
		return r
	case <-ctx.Done():
		d.ph.t.Fatalf("%s: no BYE for call %s", d.ph.ext, d.callID)
		return nil
	}
}

// gotBye reports whether a BYE arrived (without waiting).
func (d *dialog) gotBye() bool { return len(d.byes) > 0 }

func (ph *phone) dialog(callID string) *dialog {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	return ph.dialogs[callID]
}

// --- outgoing calls ---

// outCall is an INVITE the phone sent.
type outCall struct {
	ph        *phone
	inv       *sip.Request
	challenge *sip.Response // the 407, if any
	tx        sip.ClientTransaction
	codes     []int // every response after authentication, in order
	final     *sip.Response
	d         *dialog
	pts       []int
}

func (oc *outCall) callID() string { return oc.inv.CallID().Value() }

// call sends INVITE to target with body (nil: no body), answering the 407
// challenge. It returns once the authenticated INVITE is sent (or the
// first answer was final and not a challenge: then oc.final is set).
func (ph *phone) call(ctx context.Context, target string, body []byte, pts []int) *outCall {
	ph.t.Helper()
	inv := sip.NewRequest(sip.INVITE, ph.pbxURI(target))
	from := &sip.FromHeader{DisplayName: "Phone " + ph.ext, Address: sip.Uri{Scheme: "sip", User: ph.ext, Host: "127.0.0.1"}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(12))
	inv.AppendHeader(from)
	inv.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: target, Host: "127.0.0.1"}, Params: sip.NewParams()})
	callID := sip.CallIDHeader(sip.GenerateTagN(20) + "@phone" + ph.ext)
	inv.AppendHeader(&callID)
	inv.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.INVITE})
	inv.AppendHeader(ph.contact())
	if body != nil {
		inv.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		inv.SetBody(body)
	}
	oc := &outCall{ph: ph, inv: inv, pts: pts}
	res, err := ph.cli.Do(ctx, inv)
	if err != nil {
		ph.t.Fatalf("%s INVITE %s: %v", ph.ext, target, err)
	}
	if res.StatusCode != 407 {
		oc.final = res
		oc.codes = append(oc.codes, res.StatusCode)
		return oc
	}
	oc.challenge = res
	oc.tx, err = ph.cli.TransactionDigestAuth(ctx, inv, res, sipgo.DigestAuth{Username: ph.ext, Password: ph.password})
	if err != nil {
		ph.t.Fatalf("%s INVITE with credentials: %v", ph.ext, err)
	}
	ph.t.Cleanup(oc.tx.Terminate)
	return oc
}

// next returns the next response to the authenticated INVITE.
func (oc *outCall) next(ctx context.Context) *sip.Response {
	oc.ph.t.Helper()
	if oc.final != nil {
		oc.ph.t.Fatalf("INVITE already answered %d", oc.final.StatusCode)
	}
	var res *sip.Response
	select {
	case res = <-oc.tx.Responses():
	case <-oc.tx.Done():
		select {
		case res = <-oc.tx.Responses():
		default:
			oc.ph.t.Fatalf("INVITE transaction ended without an answer: %v", oc.tx.Err())
		}
	case <-ctx.Done():
		oc.ph.t.Fatalf("no answer to INVITE (saw %v)", oc.codes)
	}
	oc.codes = append(oc.codes, res.StatusCode)
	if !res.IsProvisional() {
		oc.final = res
		if res.IsSuccess() {
			oc.confirm(res)
		}
	}
	return res
}

// waitCode waits for a response with the given code (provisional or final).
func (oc *outCall) waitCode(ctx context.Context, code int) *sip.Response {
	oc.ph.t.Helper()
	for {
		res := oc.next(ctx)
		if res.StatusCode == code {
			return res
		}
		if !res.IsProvisional() {
			oc.ph.t.Fatalf("INVITE answered %d %s, want %d (saw %v)", res.StatusCode, res.Reason, code, oc.codes)
		}
	}
}

// waitFinal waits for the final answer.
func (oc *outCall) waitFinal(ctx context.Context) *sip.Response {
	oc.ph.t.Helper()
	for oc.final == nil {
		oc.next(ctx)
	}
	return oc.final
}

// confirm acknowledges a 2xx and sets up the dialog.
func (oc *outCall) confirm(res *sip.Response) {
	ph := oc.ph
	d := newDialog(ph)
	d.callID = oc.callID()
	d.localTag, _ = oc.inv.From().Params.Get("tag")
	d.remoteTag, _ = res.To().Params.Get("tag")
	d.localURI = oc.inv.From().Address
	d.remoteURI = oc.inv.To().Address
	if ct := res.Contact(); ct != nil {
		d.remoteTarget = *ct.Address.Clone()
	} else {
		d.remoteTarget = ph.pbxURI("")
	}
	d.cseq = oc.inv.CSeq().SeqNo
	d.localPT = oc.pts
	if s, err := parseSDP(res.Body()); err == nil {
		d.remote = s
	}
	ph.mu.Lock()
	ph.dialogs[d.callID] = d
	ph.mu.Unlock()
	oc.d = d
	ack := d.request(sip.ACK, nil)
	ack.CSeq().SeqNo = oc.inv.CSeq().SeqNo
	if err := ph.cli.WriteRequest(ack); err != nil {
		ph.t.Errorf("ACK: %v", err)
	}
}

// cancel sends CANCEL for the INVITE and returns the CANCEL's answer.
func (oc *outCall) cancel(ctx context.Context) *sip.Response {
	oc.ph.t.Helper()
	inv := oc.inv
	req := sip.NewRequest(sip.CANCEL, *inv.Recipient.Clone())
	req.AppendHeader(sip.HeaderClone(inv.Via()))
	req.AppendHeader(sip.HeaderClone(inv.From()))
	req.AppendHeader(sip.HeaderClone(inv.To()))
	req.AppendHeader(sip.HeaderClone(inv.CallID()))
	req.AppendHeader(&sip.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: sip.CANCEL})
	maxFwd := sip.MaxForwardsHeader(70)
	req.AppendHeader(&maxFwd)
	req.SetDestination(oc.ph.pbxAddr)
	res, err := oc.ph.cli.Do(ctx, req)
	if err != nil {
		oc.ph.t.Fatalf("CANCEL: %v", err)
	}
	return res
}

// --- incoming calls ---

// inCall is an INVITE the phone received.
type inCall struct {
	ph        *phone
	d         *dialog
	req       *sip.Request
	offer     sdpInfo
	offerErr  error
	cancelled chan struct{} // closed when a CANCEL arrives
	cmd       chan int      // status code the test wants sent (ringOnly)
	responded chan struct{} // closed when the final answer was sent
	final     atomic.Int32
}

// waitCall waits for the next incoming INVITE.
func (ph *phone) waitCall(ctx context.Context) *inCall {
	ph.t.Helper()
	select {
	case ic := <-ph.incoming:
		return ic
	case <-ctx.Done():
		ph.t.Fatalf("%s: no incoming call", ph.ext)
		return nil
	}
}

// respond makes a ringOnly phone send a final answer (200 with SDP, or a failure).
func (ic *inCall) respond(ctx context.Context, code int) {
	ic.ph.t.Helper()
	select {
	case ic.cmd <- code:
	case <-ctx.Done():
		ic.ph.t.Fatal("call handler gone")
	}
	select {
	case <-ic.responded:
	case <-ctx.Done():
		ic.ph.t.Fatal("answer not sent")
	}
}

// waitCancel waits for a CANCEL of this INVITE.
func (ic *inCall) waitCancel(ctx context.Context) {
	ic.ph.t.Helper()
	select {
	case <-ic.cancelled:
	case <-ctx.Done():
		ic.ph.t.Fatalf("%s: no CANCEL for %s", ic.ph.ext, ic.d.callID)
	}
}

func (ic *inCall) wasCancelled() bool {
	select {
	case <-ic.cancelled:
		return true
	default:
		return false
	}
}

// answerPTs picks the payload types the phone answers an offer with: the
// first offered G.711 law it accepts, and telephone-event when offered.
func (ph *phone) answerPTs(offer sdpInfo) []int {
	ph.mu.Lock()
	codecs := ph.codecs
	ph.mu.Unlock()
	var g711 = -1
	for _, want := range codecs {
		for _, pt := range offer.pts {
			if strings.EqualFold(offer.names[pt], want) {
				g711 = pt
				break
			}
		}
		if g711 >= 0 {
			break
		}
	}
	if g711 < 0 {
		return nil
	}
	out := []int{g711}
	for _, pt := range offer.pts {
		if strings.EqualFold(offer.names[pt], "telephone-event") {
			out = append(out, pt)
			break
		}
	}
	return out
}

func (ph *phone) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if tag, _ := req.To().Params.Get("tag"); tag != "" {
		ph.onReinvite(req, tx)
		return
	}
	d := newDialog(ph)
	d.callID = req.CallID().Value()
	d.localTag = sip.GenerateTagN(12)
	d.remoteTag, _ = req.From().Params.Get("tag")
	d.localURI = req.To().Address
	d.remoteURI = req.From().Address
	if ct := req.Contact(); ct != nil {
		d.remoteTarget = *ct.Address.Clone()
	}
	ic := &inCall{ph: ph, d: d, req: req, cancelled: make(chan struct{}), cmd: make(chan int, 1), responded: make(chan struct{})}
	ic.offer, ic.offerErr = parseSDP(req.Body())
	if ic.offerErr == nil {
		d.remote = ic.offer
	}
	var once sync.Once
	tx.OnCancel(func(*sip.Request) { once.Do(func() { close(ic.cancelled) }) })
	ph.mu.Lock()
	ph.dialogs[d.callID] = d
	mode := ph.mode
	ph.mu.Unlock()
	select {
	case ph.incoming <- ic:
	default:
	}

	reply := func(code int, reason string, body []byte) {
		res := sip.NewResponseFromRequest(req, code, reason, body)
		res.To().Params.Add("tag", d.localTag)
		if code >= 200 && code < 300 {
			res.AppendHeader(ph.contact())
			res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		}
		if err := tx.Respond(res); err != nil {
			ph.t.Logf("%s: respond %d: %v", ph.ext, code, err)
		}
		if code >= 200 {
			ic.final.Store(int32(code))
			close(ic.responded)
		}
	}
	answer := func(code int) {
		if code != 200 {
			reply(code, "Refused", nil)
			return
		}
		pts := ph.answerPTs(ic.offer)
		if ic.offerErr != nil || pts == nil {
			reply(488, "Not Acceptable Here", nil)
			return
		}
		d.mu.Lock()
		d.localPT = pts
		d.dir = mirror(ic.offer.dir)
		dir := d.dir
		d.mu.Unlock()
		reply(200, "OK", buildSDP(ph.rtpPort(), pts, dir))
	}

	switch mode {
	case busy:
		reply(486, "Busy Here", nil)
		return
	case autoAnswer:
		reply(180, "Ringing", nil)
		answer(200)
		return
	}
	if mode == ringOnly {
		reply(180, "Ringing", nil)
	}
	select {
	case code := <-ic.cmd:
		answer(code)
	case <-ic.cancelled:
		// The transaction layer answered 200 to the CANCEL and 487 to the INVITE.
	case <-ph.closed:
	}
}

func (ph *phone) onReinvite(req *sip.Request, tx sip.ServerTransaction) {
	d := ph.dialog(req.CallID().Value())
	if d == nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	offer, err := parseSDP(req.Body())
	if err != nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil))
		return
	}
	select {
	case d.reinvite <- offer:
	default:
	}
	pts := ph.answerPTs(offer)
	if pts == nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil))
		return
	}
	d.mu.Lock()
	d.remote = offer
	d.localPT = pts
	d.dir = mirror(offer.dir)
	dir := d.dir
	d.mu.Unlock()
	res := sip.NewResponseFromRequest(req, 200, "OK", buildSDP(ph.rtpPort(), pts, dir))
	res.AppendHeader(ph.contact())
	res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	_ = tx.Respond(res)
}

func (ph *phone) onAck(req *sip.Request, _ sip.ServerTransaction) {
	if d := ph.dialog(req.CallID().Value()); d != nil {
		select {
		case d.acks <- req:
		default:
		}
	}
}

func (ph *phone) onBye(req *sip.Request, tx sip.ServerTransaction) {
	d := ph.dialog(req.CallID().Value())
	if d == nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	select {
	case d.byes <- req:
	default:
	}
}

func (ph *phone) onInfo(req *sip.Request, tx sip.ServerTransaction) {
	d := ph.dialog(req.CallID().Value())
	if d == nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	select {
	case d.infos <- req:
	default:
	}
	_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
}

// --- wire trace ---

// wireMsg is one SIP message as it crossed the phone's socket.
type wireMsg struct {
	out bool // sent by the phone
	raw string
}

// startLine is the request or status line.
func (m wireMsg) startLine() string {
	l, _, _ := strings.Cut(m.raw, "\r\n")
	return l
}

// header returns the first value of a header (full name, case-insensitive).
func (m wireMsg) header(name string) string {
	for _, l := range strings.Split(m.raw, "\r\n")[1:] {
		if l == "" {
			break
		}
		n, v, ok := strings.Cut(l, ":")
		if ok && strings.EqualFold(strings.TrimSpace(n), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// tapConn records every SIP message through the phone's socket.
type tapConn struct {
	net.PacketConn
	ph *phone
}

func (c *tapConn) record(out bool, b []byte) {
	c.ph.wireMu.Lock()
	if len(c.ph.wire) < 500 {
		c.ph.wire = append(c.ph.wire, wireMsg{out: out, raw: string(b)})
	}
	c.ph.wireMu.Unlock()
}

func (c *tapConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, a, err := c.PacketConn.ReadFrom(b)
	if err == nil {
		c.record(false, b[:n])
	}
	return n, a, err
}

// WriteTo records before sending, so an answer to the message can never
// be recorded ahead of it.
func (c *tapConn) WriteTo(b []byte, a net.Addr) (int, error) {
	c.record(true, b)
	return c.PacketConn.WriteTo(b, a)
}

// wireOf returns the messages of one call (by Call-ID) so far.
func (ph *phone) wireOf(callID string) []wireMsg {
	ph.wireMu.Lock()
	defer ph.wireMu.Unlock()
	var out []wireMsg
	for _, m := range ph.wire {
		if m.header("Call-ID") == callID {
			out = append(out, m)
		}
	}
	return out
}

// wireSummary lists a call's messages for failure output.
func wireSummary(ms []wireMsg) string {
	var b strings.Builder
	for _, m := range ms {
		dir := "<-"
		if m.out {
			dir = "->"
		}
		fmt.Fprintf(&b, "%s %s (CSeq %s)\n", dir, m.startLine(), m.header("CSeq"))
	}
	return b.String()
}

// --- RTP ---

func (ph *phone) readRTP() {
	buf := make([]byte, 1500)
	for {
		n, err := ph.rtp.Read(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		var p rtp.Packet
		if err := p.Unmarshal(append([]byte(nil), buf[:n]...)); err != nil {
			continue
		}
		ph.rtpCount.Add(1)
		ph.rtpMu.Lock()
		if len(ph.rtpRecv) < 2000 {
			ph.rtpRecv = append(ph.rtpRecv, p)
		}
		ph.rtpMu.Unlock()
	}
}

// received returns a copy of the RTP packets received so far.
func (ph *phone) received() []rtp.Packet {
	ph.rtpMu.Lock()
	defer ph.rtpMu.Unlock()
	return append([]rtp.Packet(nil), ph.rtpRecv...)
}

// sendRTP sends n 20 ms packets of payload type pt to dst; payload(i) is
// the i-th packet's payload (160 bytes of G.711).
func (ph *phone) sendRTP(dst netip.AddrPort, pt uint8, n int, payload func(i int) []byte) {
	ph.t.Helper()
	ssrc := uint32(0x1000 + ph.port)
	for i := range n {
		p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: uint16(1000 + i),
			Timestamp: uint32(160 * i), SSRC: ssrc, Marker: i == 0}, Payload: payload(i)}
		b, err := p.Marshal()
		if err != nil {
			ph.t.Fatal(err)
		}
		if _, err := ph.rtp.WriteToUDPAddrPort(b, dst); err != nil {
			ph.t.Fatalf("send RTP: %v", err)
		}
	}
}

// --- SDP ---

// sdpInfo is what the tests read from an SDP body.
type sdpInfo struct {
	addr  netip.Addr
	port  int
	pts   []int
	names map[int]string // encoding name by payload type
	dir   string
}

func (s sdpInfo) media() netip.AddrPort { return netip.AddrPortFrom(s.addr, uint16(s.port)) }

var staticNames = map[int]string{0: "PCMU", 8: "PCMA", 18: "G729"}

// parseSDP reads the connection address, the first audio stream, its
// formats and its direction.
func parseSDP(b []byte) (sdpInfo, error) {
	s := sdpInfo{names: map[int]string{}, dir: "sendrecv"}
	var sessAddr, mediaAddr netip.Addr
	var sessDir, mediaDir string
	inAudio, seenAudio := false, false
	for _, line := range strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "m="):
			inAudio = false
			if strings.HasPrefix(line, "m=audio ") && !seenAudio {
				f := strings.Fields(line[2:])
				if len(f) < 4 {
					return s, fmt.Errorf("bad m= line %q", line)
				}
				port, err := strconv.Atoi(f[1])
				if err != nil {
					return s, fmt.Errorf("bad port in %q", line)
				}
				s.port = port
				for _, x := range f[3:] {
					pt, err := strconv.Atoi(x)
					if err != nil {
						return s, fmt.Errorf("bad format %q", x)
					}
					s.pts = append(s.pts, pt)
					if n, ok := staticNames[pt]; ok {
						s.names[pt] = n
					}
				}
				inAudio, seenAudio = true, true
			}
		case strings.HasPrefix(line, "c="):
			f := strings.Fields(line[2:])
			if len(f) != 3 {
				return s, fmt.Errorf("bad c= line %q", line)
			}
			a, err := netip.ParseAddr(f[2])
			if err != nil {
				return s, fmt.Errorf("bad address in %q", line)
			}
			if seenAudio && inAudio {
				mediaAddr = a
			} else if !seenAudio {
				sessAddr = a
			}
		case strings.HasPrefix(line, "a=rtpmap:") && inAudio:
			pt, rest, _ := strings.Cut(strings.TrimPrefix(line, "a=rtpmap:"), " ")
			n, err := strconv.Atoi(pt)
			if err == nil {
				name, _, _ := strings.Cut(rest, "/")
				s.names[n] = name
			}
		case line == "a=sendrecv" || line == "a=sendonly" || line == "a=recvonly" || line == "a=inactive":
			if inAudio {
				mediaDir = line[2:]
			} else if !seenAudio {
				sessDir = line[2:]
			}
		}
	}
	if !seenAudio {
		return s, errors.New("no audio stream")
	}
	s.addr = sessAddr
	if mediaAddr.IsValid() {
		s.addr = mediaAddr
	}
	if sessDir != "" {
		s.dir = sessDir
	}
	if mediaDir != "" {
		s.dir = mediaDir
	}
	return s, nil
}

var sdpNames = map[int]string{0: "PCMU/8000", 8: "PCMA/8000", 18: "G729/8000", 101: "telephone-event/8000"}

// buildSDP makes an audio offer or answer on 127.0.0.1:port.
func buildSDP(port int, pts []int, dir string) []byte {
	var b strings.Builder
	id := time.Now().UnixNano() % 1e9
	fmt.Fprintf(&b, "v=0\r\no=- %d %d IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n", id, id)
	fmt.Fprintf(&b, "m=audio %d RTP/AVP", port)
	for _, pt := range pts {
		fmt.Fprintf(&b, " %d", pt)
	}
	b.WriteString("\r\n")
	for _, pt := range pts {
		if n, ok := sdpNames[pt]; ok {
			fmt.Fprintf(&b, "a=rtpmap:%d %s\r\n", pt, n)
		}
		if pt == 101 {
			b.WriteString("a=fmtp:101 0-16\r\n")
		}
	}
	b.WriteString("a=ptime:20\r\na=" + dir + "\r\n")
	return []byte(b.String())
}

// mirror is the answer's direction for an offer's.
func mirror(dir string) string {
	switch dir {
	case "sendonly":
		return "recvonly"
	case "recvonly":
		return "sendonly"
	case "inactive":
		return "inactive"
	}
	return "sendrecv"
}
