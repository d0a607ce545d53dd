package endpoint

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"hushbox/audio"
	"hushbox/crypto/keys"
)

// Config is what an Endpoint needs.
type Config struct {
	Server   string // the PBX's SIP address, host:port (UDP)
	User     string // extension number
	Password string
	// Domain is the host part of our address of record; default: Server's host.
	Domain string
	// Listen is the local UDP address for SIP; default: the local address
	// that routes to Server, any port. RTP uses the same IP, any port.
	Listen string
	// RTPPort is the local RTP port; 0: any free port.
	RTPPort int
	// SIPConn, when set, is used for SIP instead of listening on Listen.
	SIPConn net.PacketConn
	// Audio is the sound device; nil: silence in, nothing out.
	Audio audio.Device
	// Identity signs our key shares; nil: every call is in clear.
	Identity *keys.Identity
	// Trust decides whether a peer identity may key a call; nil: any (the
	// users compare the SAS).
	Trust func(keys.PublicKey) bool
	// AutoAnswer answers incoming calls at once; otherwise Answer does.
	AutoAnswer bool
	// NoRegister skips registration (calls straight to Server, in tests).
	NoRegister bool
	// Expires is the registration lifetime asked for; default 5 minutes.
	Expires time.Duration
	// JitterFrames is the jitter buffer's initial playout delay in 20 ms
	// frames; default 1 (it grows by itself when packets come late).
	JitterFrames int
	UserAgent    string
	Logger       *slog.Logger
}

// Endpoint is one phone.
type Endpoint struct {
	cfg    Config
	log    *slog.Logger
	server string  // resolved host:port
	srvURI sip.Uri // sip:domain(:port) for REGISTER
	local  netip.Addr
	port   int // our SIP port

	sipConn net.PacketConn
	rtpConn *net.UDPConn
	dev     audio.Device

	ua  *sipgo.UserAgent
	srv *sipgo.Server
	cli *sipgo.Client

	events chan Event

	mu         sync.Mutex
	call       *call
	registered bool
	regCallID  string
	regCSeq    uint32

	closeOnce sync.Once
	closed    chan struct{}
}

// New opens the endpoint's sockets and starts answering SIP. Run
// registers; Close ends everything.
func New(cfg Config) (*Endpoint, error) {
	if cfg.Server == "" || cfg.User == "" {
		return nil, errors.New("endpoint: server and user are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Expires <= 0 {
		cfg.Expires = 5 * time.Minute
	}
	if cfg.JitterFrames <= 0 {
		cfg.JitterFrames = defaultJitterFrames
	}
	if cfg.Trust == nil {
		cfg.Trust = keys.TrustAny
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "hushbox-phone"
	}
	srvAddr, err := net.ResolveUDPAddr("udp", cfg.Server)
	if err != nil {
		return nil, fmt.Errorf("endpoint: server %q: %w", cfg.Server, err)
	}
	e := &Endpoint{cfg: cfg, log: cfg.Logger.With("ext", cfg.User), server: srvAddr.String(),
		events: make(chan Event, 256), closed: make(chan struct{}),
		regCallID: sip.GenerateTagN(20) + "@hushbox-phone", dev: cfg.Audio}
	if e.dev == nil {
		e.dev = nullDevice{}
	}
	domain := cfg.Domain
	if domain == "" {
		domain = srvAddr.IP.String()
	}
	e.srvURI = sip.Uri{Scheme: "sip", Host: domain, Port: srvAddr.Port}

	if cfg.SIPConn != nil {
		e.sipConn = cfg.SIPConn
	} else {
		listen := cfg.Listen
		if listen == "" {
			ip, err := routeTo(srvAddr)
			if err != nil {
				return nil, err
			}
			listen = net.JoinHostPort(ip.String(), "0")
		}
		if e.sipConn, err = net.ListenPacket("udp", listen); err != nil {
			return nil, fmt.Errorf("endpoint: SIP socket: %w", err)
		}
	}
	la, ok := e.sipConn.LocalAddr().(*net.UDPAddr)
	if !ok {
		e.sipConn.Close()
		return nil, errors.New("endpoint: SIP socket is not UDP")
	}
	e.local, _ = netip.AddrFromSlice(la.IP)
	e.local = e.local.Unmap()
	if e.local.IsUnspecified() {
		if ip, err := routeTo(srvAddr); err == nil {
			e.local = ip
		}
	}
	e.port = la.Port
	if e.rtpConn, err = net.ListenUDP("udp", &net.UDPAddr{IP: e.local.AsSlice(), Port: cfg.RTPPort}); err != nil {
		e.sipConn.Close()
		return nil, fmt.Errorf("endpoint: RTP socket: %w", err)
	}
	if err := e.startSIP(); err != nil {
		e.sipConn.Close()
		e.rtpConn.Close()
		return nil, err
	}
	return e, nil
}

// routeTo is the local address the system would use towards dst.
func routeTo(dst *net.UDPAddr) (netip.Addr, error) {
	c, err := net.DialUDP("udp", nil, dst)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("endpoint: no route to %v: %w", dst, err)
	}
	defer c.Close()
	a, _ := netip.AddrFromSlice(c.LocalAddr().(*net.UDPAddr).IP)
	return a.Unmap(), nil
}

func (e *Endpoint) startSIP() error {
	host := e.local.String()
	var err error
	// sipgo's layers log through e.log, not its package-wide default (a
	// global the daemon and other stacks in the process would race on).
	e.ua, err = sipgo.NewUA(sipgo.WithUserAgent(e.cfg.UserAgent), sipgo.WithUserAgentHostname(host),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(e.log)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(e.log)))
	if err != nil {
		return fmt.Errorf("endpoint: sip: %w", err)
	}
	e.srv, err = sipgo.NewServer(e.ua, sipgo.WithServerLogger(e.log))
	if err != nil {
		e.ua.Close()
		return fmt.Errorf("endpoint: sip server: %w", err)
	}
	addr := netip.AddrPortFrom(e.local, uint16(e.port)).String()
	e.cli, err = sipgo.NewClient(e.ua, sipgo.WithClientHostname(host), sipgo.WithClientPort(e.port),
		sipgo.WithClientConnectionAddr(addr), sipgo.WithClientLogger(e.log))
	if err != nil {
		e.ua.Close()
		return fmt.Errorf("endpoint: sip client: %w", err)
	}
	e.srv.OnInvite(e.onInvite)
	e.srv.OnAck(func(*sip.Request, sip.ServerTransaction) {})
	e.srv.OnBye(e.onBye)
	e.srv.OnCancel(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
	})
	e.srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	go func() { _ = e.srv.ServeUDP(e.sipConn) }()
	// Requests must leave from the listening socket (the PBX calls back
	// where they came from): wait until sipgo holds it.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := e.ua.TransportLayer().GetConnection("udp", addr); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			e.ua.Close()
			return errors.New("endpoint: SIP socket did not come up")
		}
		time.Sleep(time.Millisecond)
	}
}

// Events is the stream of state changes. Events are dropped (never
// blocking the phone) when nobody reads them.
func (e *Endpoint) Events() <-chan Event { return e.events }

func (e *Endpoint) emit(ev Event) {
	e.log.Debug("phone event", "event", ev.String())
	select {
	case e.events <- ev:
	default:
		e.log.Warn("phone event dropped: nobody reads events", "event", ev.Kind.String())
	}
}

// SIPAddr is the endpoint's SIP address host:port.
func (e *Endpoint) SIPAddr() string { return netip.AddrPortFrom(e.local, uint16(e.port)).String() }

// Status is a snapshot of the phone's state.
func (e *Endpoint) Status() Status {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := Status{Registered: e.registered, State: StateIdle}
	if c := e.call; c != nil {
		st.State, st.Peer, st.SAS, st.Scrambled = c.state, c.peer, c.sas, c.sas != ""
		if c.media != nil {
			st.FramesSent, st.FramesReceived = c.media.sent.Load(), c.media.received.Load()
		}
	}
	return st
}

// Run keeps the endpoint registered until ctx ends, then hangs up,
// unregisters and closes the endpoint.
func (e *Endpoint) Run(ctx context.Context) error {
	defer e.Close()
	if e.cfg.NoRegister {
		select {
		case <-ctx.Done():
		case <-e.closed:
		}
		e.Hangup()
		return nil
	}
	retry := 5 * time.Second
	for {
		wait := retry
		granted, err := e.register(ctx, e.cfg.Expires)
		e.mu.Lock()
		was := e.registered
		if ctx.Err() == nil {
			// A REGISTER cut short by shutdown says nothing about the
			// registration: it stays as it was, for the unregister below.
			e.registered = err == nil
		}
		e.mu.Unlock()
		switch {
		case err == nil:
			if !was {
				e.emit(Event{Kind: EventRegistered})
			}
			retry = 5 * time.Second
			// Refresh well before expiry: at half the granted time.
			wait = max(granted/2, time.Second)
		case ctx.Err() != nil:
		default:
			e.log.Warn("registration failed", "err", err)
			e.emit(Event{Kind: EventRegisterFail, Reason: err.Error()})
			retry = min(retry*2, time.Minute)
		}
		select {
		case <-ctx.Done():
			e.Hangup()
			e.mu.Lock()
			reg := e.registered
			e.mu.Unlock()
			if reg {
				uctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				_, _ = e.register(uctx, 0)
				cancel()
			}
			return nil
		case <-e.closed:
			return nil
		case <-time.After(wait):
		}
	}
}

// register sends one REGISTER (expires 0 unregisters) and answers a digest
// challenge; it returns the lifetime the registrar granted.
func (e *Endpoint) register(ctx context.Context, expires time.Duration) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	aor := sip.Uri{Scheme: "sip", User: e.cfg.User, Host: e.srvURI.Host}
	req := sip.NewRequest(sip.REGISTER, e.srvURI)
	from := &sip.FromHeader{Address: aor, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(12))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: aor, Params: sip.NewParams()})
	callID := sip.CallIDHeader(e.regCallID)
	req.AppendHeader(&callID)
	e.mu.Lock()
	e.regCSeq++
	seq := e.regCSeq
	e.mu.Unlock()
	req.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: sip.REGISTER})
	req.AppendHeader(e.contact())
	secs := int(expires / time.Second)
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(secs)))
	req.SetDestination(e.server)
	res, err := e.cli.Do(ctx, req)
	if err != nil {
		return 0, fmt.Errorf("REGISTER: %w", err)
	}
	if res.StatusCode == 401 || res.StatusCode == 407 {
		if err := answerChallenge(req, res, e.cfg.User, e.cfg.Password); err != nil {
			return 0, fmt.Errorf("REGISTER: %w", err)
		}
		e.mu.Lock()
		e.regCSeq = req.CSeq().SeqNo
		e.mu.Unlock()
		if res, err = e.cli.Do(ctx, req); err != nil {
			return 0, fmt.Errorf("REGISTER: %w", err)
		}
	}
	if res.StatusCode != 200 {
		return 0, fmt.Errorf("REGISTER: %d %s", res.StatusCode, res.Reason)
	}
	return grantedExpiry(res, expires), nil
}

// grantedExpiry reads the lifetime the registrar granted our contact
// (Contact expires parameter, else Expires header, else what we asked).
func grantedExpiry(res *sip.Response, asked time.Duration) time.Duration {
	for _, h := range res.GetHeaders("Contact") {
		if ct, ok := h.(*sip.ContactHeader); ok {
			if v, ok := ct.Params.Get("expires"); ok {
				if n, err := strconv.Atoi(v); err == nil && n >= 0 && n < 1<<20 {
					return time.Duration(n) * time.Second
				}
			}
		}
	}
	if h := res.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(h.Value()); err == nil && n >= 0 && n < 1<<20 {
			return time.Duration(n) * time.Second
		}
	}
	return asked
}

func (e *Endpoint) contactURI() sip.Uri {
	return sip.Uri{Scheme: "sip", User: e.cfg.User, Host: e.local.String(), Port: e.port}
}

func (e *Endpoint) contact() *sip.ContactHeader {
	return &sip.ContactHeader{Address: e.contactURI(), Params: sip.NewParams()}
}

// Close hangs up and releases everything. Safe to call more than once.
func (e *Endpoint) Close() error {
	e.closeOnce.Do(func() {
		e.Hangup()
		close(e.closed)
		e.ua.Close()
		e.sipConn.Close()
		e.rtpConn.Close()
	})
	return nil
}
