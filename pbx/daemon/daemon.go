package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"hushbox/crypto/keys"
	"hushbox/pbx/auth"
	"hushbox/pbx/backup"
	"hushbox/pbx/buildinfo"
	"hushbox/pbx/call"
	"hushbox/pbx/control"
	"hushbox/pbx/identity"
	"hushbox/pbx/logbuf"
	"hushbox/pbx/media"
	"hushbox/pbx/registrar"
	"hushbox/pbx/sipmsg"
	"hushbox/pbx/store"
	"hushbox/pbx/tlscert"
	"hushbox/pbx/upstream"
	"hushbox/pbx/web"
)

// Run serves until ctx ends, then shuts down cleanly: calls get BYE (or
// CANCEL/503 while ringing), sockets close, the store is flushed.
func Run(ctx context.Context, cfg Config) error {
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	out := cfg.Out
	if out == nil {
		out = io.Discard
	}
	// The newest log lines are kept for the web page's system view.
	ring := logbuf.New(0, 0)
	log = slog.New(logbuf.Tee(log.Handler(), ring, slog.LevelInfo))
	// The web page's restart and reboot end this context (system.go).
	ctx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()
	role, err := ParseRole(string(cfg.Role))
	if err != nil {
		return err
	}
	cfg.Role = role
	sys := &system{cancel: cancelRun, ring: ring, canReboot: canReboot(cfg.Appliance && role.Appliance())}

	algs := auth.DefaultAlgorithms
	if cfg.Digest != "" {
		var err error
		if algs, err = auth.ParseAlgorithms(cfg.Digest); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data folder: %w", err)
	}
	// A restore staged on the web page is put in place before the store
	// opens (it was decrypted and validated when it was staged).
	if applied, err := backup.ApplyPending(cfg.DataDir, DBName); err != nil {
		return fmt.Errorf("apply staged restore: %w", err)
	} else if applied {
		log.Info("staged restore applied")
		fmt.Fprintf(out, "hushbox: restored the backup staged on the web page\n")
	}
	db, err := store.Open(filepath.Join(cfg.DataDir, DBName))
	if err != nil {
		if errors.Is(err, store.ErrLocked) {
			return fmt.Errorf("another hushbox is using %s: %w", cfg.DataDir, err)
		}
		return fmt.Errorf("open store: %w", err)
	}
	defer db.Close()
	// Settings saved on the web page apply unless a flag was given.
	flagRealm := cfg.fromFlag("realm", cfg.Realm)
	if err := applyStored(db, &cfg, log); err != nil {
		return err
	}
	lo, hi, err := ParsePortRange(cfg.RTPPorts)
	if err != nil {
		return err
	}
	if cfg.Firewall, err = ParseFirewall(cfg.Firewall); err != nil {
		return err
	}
	if role.Appliance() {
		if err := writeSystemConf(cfg.DataDir, db); err != nil {
			log.Warn("network and time settings for the appliance not written", "err", err)
		}
	}
	// The realm is a stored setting: --realm changes it, otherwise the one
	// chosen before (or the default) stays, so extensions added with the
	// daemon stopped get HA1 values for the realm it will serve.
	if cfg.Realm == "" {
		r, ok, err := db.Setting(control.SettingRealm)
		if err != nil {
			return fmt.Errorf("read realm: %w", err)
		}
		cfg.Realm = control.DefaultRealm
		if ok && r != "" {
			cfg.Realm = r
		}
	}
	if err := ValidRealm(cfg.Realm); err != nil {
		return err
	}
	if err := db.SetSetting(control.SettingRealm, cfg.Realm); err != nil {
		return fmt.Errorf("save realm: %w", err)
	}
	warnRealm(db, cfg.Realm, log)
	nonceKey, err := db.Secret("sip.nonce-key", 32)
	if err != nil {
		return fmt.Errorf("nonce key: %w", err)
	}
	// The DoS guard comes before any listener: the first datagram meets it.
	grd, err := newGuard(db, cfg.Firewall, cfg.Appliance, log.With("component", "guard"))
	if err != nil {
		return fmt.Errorf("guard: %w", err)
	}

	id, err := identity.Load(cfg.DataDir, db)
	if err != nil {
		return err
	}
	defer id.Destroy()

	adv, err := advertisedIP(cfg.MediaIP, cfg.SIPAddr)
	if err != nil {
		return err
	}
	relay, err := media.NewRelay(media.Config{BindIP: bindIP(cfg.SIPAddr, adv), PortMin: lo, PortMax: hi,
		Timeout: cfg.MediaTimeout, Logger: log.With("component", "media")})
	if err != nil {
		return fmt.Errorf("media relay: %w", err)
	}
	defer relay.Close()

	// sipgo logs through per-layer loggers; its package-wide default is a
	// global another daemon in the same process (tests) would race on.
	sipLog := SIPLogger(log)
	// Folded header lines (RFC 3261 7.3.1) are joined before parsing: the
	// parser does not handle them in every header.
	var fast *fastRegister  // set before the listeners start
	var fastInv *fastInvite // likewise; nil on the cloud (fastinvite.go)
	var sipIn atomic.Uint64 // SIP messages received, for the traffic graph
	unfold := func(p sip.TransportReadProps, data []byte) ([]byte, error) {
		sipIn.Add(1)
		// The guard looks first, before a byte is parsed (guard.go).
		if !admit(grd, p, data) {
			if p.Transport == "UDP" || p.Transport == "udp" {
				return nil, nil // silence
			}
			return nil, errRefused // a stream cannot skip a message: close it
		}
		if p.Transport == "UDP" || p.Transport == "udp" {
			data = sipmsg.Normalize(data)
			if fast != nil && fast.offer(data, p.RemoteAddr) {
				return nil, nil // queued for the REGISTER workers
			}
			if fastInv != nil && fastInv.offer(data, p.RemoteAddr) {
				return nil, nil // a challenge, answered without a transaction
			}
		}
		return data, nil
	}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("hushbox"), sipgo.WithUserAgentHostname(adv.String()),
		sipgo.WithUserAgenTLSConfig(&tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerReadFilter(unfold), sip.WithTransportLayerLogger(sipLog)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(sipLog)))
	if err != nil {
		return fmt.Errorf("sip stack: %w", err)
	}
	defer ua.Close()

	// Listen first, so a busy port fails the start before "ready".
	ports := map[string]int{}
	udpConn, err := net.ListenPacket("udp", cfg.SIPAddr)
	if err != nil {
		return fmt.Errorf("SIP UDP %s: %w", cfg.SIPAddr, err)
	}
	defer udpConn.Close()
	growReadBuffer(udpConn, log)
	ports["udp"] = udpConn.LocalAddr().(*net.UDPAddr).Port
	tcpLn, err := net.Listen("tcp", cfg.SIPAddr)
	if err != nil {
		// ":0" picks different free ports for UDP and TCP; try UDP's port.
		return fmt.Errorf("SIP TCP %s: %w", cfg.SIPAddr, err)
	}
	defer tcpLn.Close()
	ports["tcp"] = tcpLn.Addr().(*net.TCPAddr).Port
	var tlsLn net.Listener
	var fingerprint string
	if cfg.SIPTLSAddr != "" {
		cert, fp, err := tlscert.Ensure(cfg.DataDir, "sip", []string{adv.String(), "hushbox.local"})
		if err != nil {
			return fmt.Errorf("SIP TLS certificate: %w", err)
		}
		fingerprint = fp
		tlsLn, err = tls.Listen("tcp", cfg.SIPTLSAddr, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		if err != nil {
			return fmt.Errorf("SIP TLS %s: %w", cfg.SIPTLSAddr, err)
		}
		defer tlsLn.Close()
		ports["tls"] = tlsLn.Addr().(*net.TCPAddr).Port
	}

	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname(adv.String()), sipgo.WithClientPort(ports["udp"]),
		sipgo.WithClientLogger(sipLog))
	if err != nil {
		return fmt.Errorf("sip client: %w", err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(sipLog))
	if err != nil {
		return fmt.Errorf("sip server: %w", err)
	}

	signer := sipmsg.Signer{Name: cfg.UserAgent}
	trunkPassword := func(t store.Trunk) (string, error) {
		pw, err := identity.OpenSecret(cfg.DataDir, control.TrunkSecretName(t.Name), t.PasswordSealed)
		if err != nil {
			return "", fmt.Errorf("trunk %s password: %w", t.Name, err)
		}
		return string(pw), nil
	}
	authn := auth.New(cfg.Realm, nonceKey, db, log.With("component", "auth"))
	authn.SetFailureHook(authFailed(grd))
	authn.SetSuccessHook(authTrusted(grd))
	authn.SetAlgorithms(algs)
	loc := registrar.NewLocation()
	if saved, ok, err := db.Setting(settingBindings); err != nil {
		log.Error("read saved registrations", "err", err)
	} else if ok {
		n, err := loc.Load([]byte(saved), func(ext string) bool { _, err := db.Extension(ext); return err == nil })
		if err != nil {
			log.Warn("saved registrations unreadable", "err", err)
		} else if n > 0 {
			log.Info("registrations kept from the last run", "count", n,
				"trusted_sources", trustSaved(grd.Trust, loc.All(), time.Now()))
		}
	}
	reg := registrar.New(loc, authn, db, signer, log.With("component", "registrar"))
	calls := call.NewManager(call.Config{
		Client: client, Signer: signer, Auth: authn, Dir: db, Loc: loc, Relay: relay, CDR: db,
		MediaIP: adv, SIPHost: adv.String(),
		// No --media-ip and SIP on every address: each party gets the
		// address of the interface it reaches (a LAN and a WAN side).
		MediaIPPerParty: cfg.MediaIP == "" && bindIP(cfg.SIPAddr, adv).IsUnspecified(), SIPPorts: ports, RingTimeout: cfg.RingTimeout,
		Identity: id, Trunks: db, TrunkPassword: trunkPassword,
		Log: log.With("component", "call"),
	})

	icpt := &sipIntercept{} // the cloud forwards handed-off dialogs (handoff.go)
	guard := func(h sipgo.RequestHandler) sipgo.RequestHandler {
		return func(req *sip.Request, tx sip.ServerTransaction) {
			defer func() {
				if r := recover(); r != nil {
					log.Error("handler panic", "method", req.Method, "src", req.Source(), "panic", r, "stack", string(debug.Stack()))
					_ = tx.Respond(signer.Response(req, 500, "Server Internal Error", nil))
				}
			}()
			if code, reason := sipmsg.Validate(req); code != 0 {
				log.Debug("request refused", "method", req.Method, "src", req.Source(), "code", code, "reason", reason)
				if !req.IsAck() {
					_ = tx.Respond(signer.Response(req, code, reason, nil))
				}
				if st, ok := tx.(*sip.ServerTx); ok {
					st.Terminate()
				}
				return
			}
			if icpt.take(req, tx) {
				return
			}
			h(req, tx)
		}
	}
	srv.OnRegister(guard(func(req *sip.Request, tx sip.ServerTransaction) {
		reply := reg.Handle(req)
		if reply.Res == nil { // a retransmission of one still being answered
			tx.(*sip.ServerTx).Terminate()
			return
		}
		if err := tx.Respond(reply.Res); err != nil {
			log.Debug("REGISTER response failed", "err", err)
		}
		// Every REGISTER answer is stateless, as in Kamailio: keeping a
		// transaction for 32 s per REGISTER is what makes a flood of valid
		// registrations eat memory. A retransmission after a lost 200
		// carries an old nonce count and gets a fresh challenge.
		tx.(*sip.ServerTx).Terminate()
	}))
	srv.OnInvite(guard(calls.HandleInvite))
	srv.OnAck(guard(calls.HandleAck))
	srv.OnBye(guard(calls.HandleBye))
	srv.OnCancel(guard(calls.HandleCancel))
	srv.OnOptions(guard(calls.HandleOptions))
	srv.OnInfo(guard(calls.HandleInfo))
	srv.OnNoRoute(guard(func(req *sip.Request, tx sip.ServerTransaction) {
		res := signer.Response(req, 405, "Method Not Allowed", nil)
		res.AppendHeader(sip.NewHeader("Allow", sipmsg.Allow))
		_ = tx.Respond(res)
	}))

	fast = newFastRegister(reg, signer, udpConn, log.With("component", "registrar"))
	fastCtx, stopFast := context.WithCancel(context.Background())
	var fastWG sync.WaitGroup
	fast.run(fastCtx, &fastWG)
	if !role.Cloud() { // the cloud hands new INVITEs to the board: they need transactions
		fastInv = newFastInvite(calls, guard(calls.HandleInvite), udpConn, fast, log.With("component", "call"))
		fastInv.run(fastCtx, &fastWG)
	}
	defer func() { stopFast(); fastWG.Wait() }()
	// The kernel limits go in front of the SIP ports now open (guard.go).
	protectSIP(grd, ports)
	defer runGuard(grd, fast, calls, db, log.With("component", "guard"))()

	var wg sync.WaitGroup
	serve := func(name string, f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil && ctx.Err() == nil {
				log.Error("SIP listener stopped", "transport", name, "err", err)
			}
		}()
	}
	serve("udp", func() error { return srv.ServeUDP(udpConn) })
	serve("tcp", func() error { return srv.ServeTCP(guardedListener{tcpLn, grd}) })
	if tlsLn != nil {
		serve("tls", func() error { return srv.ServeTLS(guardedListener{tlsLn, grd}) })
	}

	ups := upstream.New(client, signer, func(tp string) *sip.ContactHeader {
		return &sip.ContactHeader{Address: sip.Uri{Scheme: "sip", Host: adv.String(), Port: ports[tp], UriParams: transportParam(tp)}, Params: sip.NewParams()}
	}, trunkPassword, log.With("component", "upstream"))
	defer ups.Close()
	syncTrunks := func() {
		ts, err := db.Trunks()
		if err != nil {
			log.Error("list trunks", "err", err)
			return
		}
		ups.Sync(ts)
	}
	syncTrunks()
	live := liveView{loc: loc, calls: calls, id: id.Public(), ups: ups, sync: syncTrunks}
	ctl, err := control.Listen(cfg.DataDir, control.NewLocal(db), live, log.With("component", "control"))
	if err != nil {
		return err
	}
	defer ctl.Close()

	// The board's handset as extension 100 (phone.go).
	bphone, err := startPhoneIfAsked(ctx, cfg, db, netip.AddrPortFrom(adv, uint16(ports["udp"])), log.With("component", "phone"))
	if err != nil {
		return err
	}
	var webLn net.Listener
	var webSrv *web.Server
	var webToken, webFP string
	var peers *peering
	upd := newInstaller(cfg, log.With("component", "update")) // nil: firmware updates off (update.go)
	if cfg.WebAddr != "" {
		need, err := web.NeedsSetup(db)
		if err != nil {
			return fmt.Errorf("web: %w", err)
		}
		if need {
			if webToken, err = web.NewSetupToken(); err != nil {
				return fmt.Errorf("web: %w", err)
			}
		}
		cert, fp, err := tlscert.Ensure(cfg.DataDir, "web", []string{adv.String(), "hushbox.local"})
		if err != nil {
			return fmt.Errorf("web certificate: %w", err)
		}
		webFP = fp
		admin := web.NewLiveAdmin(control.NewLocal(db), live)
		if cfg.PeerAddr != "" {
			if peers, err = startPeering(ctx, cfg, db, id.Public(), cert, ports["tls"], admin, &wg, log.With("component", "peer")); err != nil {
				return err
			}
			pa := peerAdmin{Admin: admin, Manager: peers.m}
			admin = pa
			ho, err := startHandoff(ctx, cfg, role, peers, calls, relay, adv, ports, signer, db, grd, icpt, live.Registrations, &wg, log.With("component", "handoff"))
			if err != nil {
				return err
			}
			if ho.relays != nil {
				admin = cloudHandoffAdmin{peerAdmin: pa, h: ho}
			}
			if ho.board != nil {
				admin = handoffAdmin{peerAdmin: pa, board: ho.board}
				if bphone != nil {
					f := ho.button(log.With("component", "handoff"))
					bphone.onHandoff.Store(&f)
				}
			}
		}
		webSrv, err = web.New(web.Config{Admin: admin, Store: db, DataDir: cfg.DataDir,
			Version: buildinfo.Version, Log: log.With("component", "web"), SetupToken: webToken,
			Certificate: cert, Fingerprint: fp, Started: time.Now(), Guard: webGuard{grd},
			System: sys, Settings: settingsForm(cfg, flagRealm, cfg.DataDir, db), Updater: webUpdater(upd), Role: role.String(), SIPMessages: sipIn.Load, RelayHolds: relay.Holds, Phone: phoneForWeb(bphone),
			SIP: web.SIPAccess{Server: adv.String(), Port: ports["udp"], Transport: "udp", Realm: cfg.Realm}})
		if err != nil {
			return fmt.Errorf("web: %w", err)
		}
		if webLn, err = net.Listen("tcp", cfg.WebAddr); err != nil {
			return fmt.Errorf("web %s: %w", cfg.WebAddr, err)
		}
		defer webLn.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := webSrv.Serve(ctx, webLn); err != nil && ctx.Err() == nil {
				log.Error("web page stopped", "err", err)
			}
		}()
		if cfg.WebHTTPAddr != "" {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := webSrv.ListenAndServeRedirect(ctx, cfg.WebHTTPAddr, webLn.Addr().(*net.TCPAddr).Port); err != nil && ctx.Err() == nil {
					log.Error("web redirect stopped", "err", err)
				}
			}()
		}
	}

	sweepCtx, stopSweep := context.WithCancel(context.Background())
	defer stopSweep()
	go func() {
		t := time.NewTicker(15 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-sweepCtx.Done():
				return
			case <-t.C:
				if n := loc.Sweep(); n > 0 {
					log.Info("registrations expired", "count", n)
				}
			}
		}
	}()

	host := adv.String()
	fmt.Fprintf(out, "hushbox: SIP on udp+tcp %s (udp %d, tcp %d), realm %q\n", net.JoinHostPort(host, strconv.Itoa(ports["udp"])), ports["udp"], ports["tcp"], cfg.Realm)
	if tlsLn != nil {
		fmt.Fprintf(out, "hushbox: SIP TLS on %s, certificate SHA-256 %s\n", net.JoinHostPort(host, strconv.Itoa(ports["tls"])), fingerprint)
	}
	fmt.Fprintf(out, "hushbox: media on %s ports %d-%d\n", host, lo, hi)
	fmt.Fprintf(out, "hushbox: identity %s (fingerprint %s)\n", id.Public(), id.Public().Fingerprint())
	if webLn != nil {
		fmt.Fprintf(out, "hushbox: web page on https://%s/ (certificate SHA-256 %s)\n",
			net.JoinHostPort(host, strconv.Itoa(webLn.Addr().(*net.TCPAddr).Port)), webFP)
		if webToken != "" {
			fmt.Fprintf(out, "hushbox: first start: open the web page and enter the setup token %s\n", webToken)
		}
		if peers != nil {
			fmt.Fprintf(out, "hushbox: peers (mutual TLS) on %s\n", net.JoinHostPort(host, strconv.Itoa(peers.port())))
		}
	}
	fmt.Fprintf(out, "hushbox: data in %s\n", cfg.DataDir)
	if exts, err := db.Extensions(); err == nil && len(exts) == 0 {
		self := cfg.Command
		if self == "" {
			self = "hushbox"
		}
		fmt.Fprintf(out, "hushbox: no extensions yet; add one with: %s ext add 101 --name Alice --data %s\n", self, cfg.DataDir)
	}
	fmt.Fprintf(out, "hushbox: role %s\n", role)
	fmt.Fprintf(out, "hushbox: ready\n")
	if upd != nil {
		var webAddr net.Addr
		if webLn != nil {
			webAddr = webLn.Addr()
		}
		go markGoodWhenHealthy(ctx, upd, cfg.UpdateGrace, healthCheck(ports["udp"], webAddr), log.With("component", "update"))
	}
	log.Info("serving", "role", role.String(), "sip", cfg.SIPAddr, "tls", cfg.SIPTLSAddr, "media_ip", host)

	<-ctx.Done()
	log.Info("shutting down", "calls", calls.Count())
	if bphone != nil {
		bphone.wait() // hangs up and unregisters while SIP still listens
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	calls.Shutdown(shutCtx)
	cancel()
	udpConn.Close()
	tcpLn.Close()
	if tlsLn != nil {
		tlsLn.Close()
	}
	ua.Close()
	wg.Wait()
	// Phones re-register only every so often: keep their bindings for the
	// next start (a clean stop only; after a power cut they re-register).
	if snap, err := loc.Snapshot(); err != nil {
		log.Error("save registrations", "err", err)
	} else if err := db.SetSetting(settingBindings, string(snap)); err != nil {
		log.Error("save registrations", "err", err)
	}
	fmt.Fprintf(out, "hushbox: stopped\n")
	return sys.result()
}

// settingBindings is where the registrations are kept across a clean restart.
const settingBindings = "registrar.bindings"

// warnRealm tells the owner about extensions whose HA1 values were made for
// another realm: their phones cannot authenticate until the password is reset.
func warnRealm(db *store.DB, realm string, log *slog.Logger) {
	exts, err := db.Extensions()
	if err != nil {
		log.Error("list extensions", "err", err)
		return
	}
	for _, e := range exts {
		if e.Realm != realm {
			log.Warn("extension was set up for another realm; reset its password with `hushbox ext passwd`",
				"ext", e.Number, "its_realm", e.Realm, "realm", realm)
		}
	}
}

// liveView shows the control socket what only the running daemon knows.
type liveView struct {
	loc   *registrar.Location
	calls *call.Manager
	id    keys.PublicKey
	ups   *upstream.Registrations
	sync  func()
}

func (v liveView) TrunkStatus(name string) string { return v.ups.Status(name) }

func (v liveView) TrunksChanged() { v.sync() }

// transportParam is the ;transport= of our Contact for non-UDP transports.
func transportParam(tp string) sip.HeaderParams {
	p := sip.NewParams()
	if tp != "udp" && tp != "" {
		p.Add("transport", tp)
	}
	return p
}

func (v liveView) Calls() []call.Info { return v.calls.Active() }

func (v liveView) Identity() string { return v.id.String() }

func (v liveView) Registrations() []control.Registration {
	bs := v.loc.All()
	out := make([]control.Registration, 0, len(bs))
	for _, b := range bs {
		out = append(out, control.Registration{Extension: b.Extension, Contact: b.Contact.String(), Source: b.Source,
			Transport: b.Transport, UserAgent: b.UserAgent, Expires: b.Expires})
	}
	return out
}

func (v liveView) RegistrationCount(ext string) int { return len(v.loc.Lookup(ext)) }

func (v liveView) ExtensionRemoved(ext string) { v.loc.Remove(ext) }
