package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"

	"hushbox/pbx/call"
	"hushbox/pbx/control"
	"hushbox/pbx/guard"
	"hushbox/pbx/handoff"
	"hushbox/pbx/media"
	"hushbox/pbx/sipmsg"
	"hushbox/pbx/store"
)

// Hand-off settings a deployment (the test bed) may change through the
// environment, without a flag per knob:
//
//	HUSHBOX_HANDOFF_WAN       "all" (every non-loopback party), or CIDRs
//	                          (comma-separated) whose parties count as WAN
//	                          even when private; default: not loopback,
//	                          not private, not in the guard's allow-list
//	HUSHBOX_HANDOFF_HIGH_FOR  pressure >= high this long hands off (5s)
//	HUSHBOX_HANDOFF_LOW_FOR   pressure normal this long hands back (30s)
const (
	envHandoffWAN     = "HUSHBOX_HANDOFF_WAN"
	envHandoffHighFor = "HUSHBOX_HANDOFF_HIGH_FOR"
	envHandoffLowFor  = "HUSHBOX_HANDOFF_LOW_FOR"
)

// handoffIsWAN overrides the WAN test (tests, where every party is on
// loopback); nil: from the environment and the guard.
var handoffIsWAN func(party string) bool

// handoffPressure, handoffHighFor and handoffLowFor override the pressure
// source and the trigger's windows (tests); zero values: the guard and
// the environment.
var (
	handoffPressure               func() int
	handoffHighFor, handoffLowFor time.Duration
)

// handoffCloudHook sees the cloud's relays and replicas (tests look in).
var handoffCloudHook func(*handoff.Relays, *handoff.Replicas)

// handoffReplicateCheck is how often the board looks for a changed state
// to push to the cloud (it pushes at least every heartbeat).
var handoffReplicateCheck = time.Second

// handoffTick is the pressure trigger's poll period.
var handoffTick = 250 * time.Millisecond

// handoffSide is the running hand-off: the board side on a board, the
// relays and the SIP forwarder on the cloud.
type handoffSide struct {
	board    *handoff.Board
	relays   *handoff.Relays
	replicas *handoff.Replicas
	sock     net.Listener
	sockSv   *http.Server
	path     string
}

// sipIntercept is consulted before the B2BUA for each request (after the
// guard's checks): the board redirects new WAN callers to the cloud while
// handed off; the cloud forwards those callers' new INVITEs and the
// dialogs handed to it. Set once peering runs.
type sipIntercept struct {
	red atomic.Pointer[handoff.Redirector] // board
	inv atomic.Pointer[handoff.Inviter]    // cloud
	f   atomic.Pointer[handoff.Forwarder]  // cloud
}

func (s *sipIntercept) take(req *sip.Request, tx sip.ServerTransaction) bool {
	if r := s.red.Load(); r != nil && r.Intercept(req, tx) {
		return true
	}
	if in := s.inv.Load(); in != nil && in.Intercept(req, tx) {
		return true
	}
	f := s.f.Load()
	return f != nil && f.Intercept(req, tx)
}

// startHandoff starts the hand-off on a box with a peer link: the cloud
// role relays and forwards; the board role serves the forwarded SIP, runs
// the pressure trigger and the `hushbox handoff` socket.
func startHandoff(ctx context.Context, cfg Config, role Role, p *peering, calls *call.Manager, relay *media.Relay,
	adv netip.Addr, ports map[string]int, signer sipmsg.Signer, db *store.DB, grd *guard.Guard,
	icpt *sipIntercept, regs func() []control.Registration, wg *sync.WaitGroup, log *slog.Logger) (*handoffSide, error) {
	h := &handoffSide{}
	if role.Cloud() {
		uri := "sip:hushbox@" + net.JoinHostPort(adv.String(), strconv.Itoa(ports["udp"]))
		h.relays = handoff.NewRelays(relay, adv, uri, log)
		h.relays.ServeRelays(p.m)
		h.replicas = handoff.NewReplicas(db, log)
		h.replicas.ServeState(p.m)
		if handoffCloudHook != nil {
			handoffCloudHook(h.relays, h.replicas)
		}
		inv := handoff.NewInviter(handoff.PeerPost(p.m), h.relays, signer, uri, log)
		inv.Serve(p.m)
		icpt.inv.Store(inv)
		icpt.f.Store(handoff.NewForwarder(h.relays, handoff.PeerSender(p.m), signer, log))
		go func() {
			<-ctx.Done()
			h.relays.Close()
		}()
		return h, nil
	}
	handoff.ServeSIP(p.m, calls)
	isWAN := handoffIsWAN
	if isWAN == nil {
		var err error
		if isWAN, err = wanTest(os.Getenv(envHandoffWAN), grd); err != nil {
			return nil, err
		}
	}
	highFor, err := envDuration(envHandoffHighFor)
	if err != nil {
		return nil, err
	}
	lowFor, err := envDuration(envHandoffLowFor)
	if err != nil {
		return nil, err
	}
	if handoffHighFor > 0 {
		highFor, lowFor = handoffHighFor, handoffLowFor
	}
	pressure := handoffPressure
	if pressure == nil && grd != nil {
		pressure = func() int { l, _ := grd.Pressure(); return int(l) }
	}
	h.board = handoff.NewBoard(handoff.BoardConfig{Calls: calls, Cloud: handoff.PeerCloud(p.m), IsWAN: isWAN,
		Store: db, Pressure: pressure, HighFor: highFor, LowFor: lowFor, Log: log})
	h.board.ServeInvites(p.m, calls, p.m)
	icpt.red.Store(handoff.NewRedirector(h.board, signer))
	token, err := os.ReadFile(filepath.Join(cfg.DataDir, control.TokenName))
	if err != nil {
		return nil, fmt.Errorf("handoff socket: control token: %w", err)
	}
	h.path = filepath.Join(cfg.DataDir, handoff.SocketName)
	_ = os.Remove(h.path) // left by a crashed daemon
	if h.sock, err = net.Listen("unix", h.path); err != nil {
		return nil, fmt.Errorf("handoff socket: %w", err)
	}
	if err := os.Chmod(h.path, 0o600); err != nil {
		h.sock.Close()
		return nil, fmt.Errorf("handoff socket: %w", err)
	}
	h.sockSv = &http.Server{Handler: handoff.ControlHandler(h.board, strings.TrimSpace(string(token))), ReadHeaderTimeout: 5 * time.Second}
	wg.Add(3)
	go func() {
		defer wg.Done()
		h.board.Run(ctx, handoffTick)
	}()
	go func() {
		defer wg.Done()
		snap := func() handoff.Snapshot {
			return handoff.Snapshot{Registrations: regs(), Dialogs: calls.DialogStates()}
		}
		handoff.RunReplication(ctx, snap, handoff.PeerPush(p.m), handoffReplicateCheck, peerHeartbeat, log)
	}()
	go func() {
		defer wg.Done()
		if err := h.sockSv.Serve(h.sock); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("handoff socket stopped", "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = h.sockSv.Shutdown(sctx)
		os.Remove(h.path)
	}()
	return h, nil
}

// button is the board button's action: a drill, to the cloud and back.
func (h *handoffSide) button(log *slog.Logger) func() {
	return func() {
		if h == nil || h.board == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		res, err := h.board.Toggle(ctx, handoff.TriggerButton)
		if err != nil {
			log.Warn("hand-off button", "err", err)
			return
		}
		log.Info("hand-off button", "to", res.To, "moved", res.Moved, "failed", res.Failed)
	}
}

// wanTest reads HUSHBOX_HANDOFF_WAN (see above).
func wanTest(spec string, grd *guard.Guard) (func(string) bool, error) {
	spec = strings.TrimSpace(spec)
	addrOf := func(party string) (netip.Addr, bool) {
		ap, err := netip.ParseAddrPort(party)
		if err != nil {
			return netip.Addr{}, false
		}
		return ap.Addr().Unmap(), true
	}
	if strings.EqualFold(spec, "all") {
		return func(party string) bool {
			a, ok := addrOf(party)
			return ok && !a.IsLoopback()
		}, nil
	}
	var wan []netip.Prefix
	for _, f := range strings.Split(spec, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		pfx, err := guard.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", envHandoffWAN, err)
		}
		wan = append(wan, pfx)
	}
	return func(party string) bool {
		a, ok := addrOf(party)
		if !ok || a.IsLoopback() {
			return false
		}
		for _, p := range wan {
			if p.Contains(a) {
				return true
			}
		}
		if grd != nil && grd.Allowed(a) {
			return false
		}
		return handoff.DefaultIsWAN(party)
	}, nil
}

// envDuration reads a duration from the environment (0 when unset).
func envDuration(name string) (time.Duration, error) {
	s := strings.TrimSpace(os.Getenv(name))
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s=%q: want a duration such as 5s", name, s)
	}
	return d, nil
}

// handoffAdmin is the web page's Admin with the peers and the hand-off
// beside it: the web page finds web.Handoff on it.
type handoffAdmin struct {
	peerAdmin
	board *handoff.Board
}

// HandoffMove is web.Handoff's POST /api/handoff.
func (a handoffAdmin) HandoffMove(ctx context.Context, to, trigger string) (handoff.Result, error) {
	return a.board.Move(ctx, to, trigger)
}

// HandoffStatus is web.Handoff's GET /api/handoff.
func (a handoffAdmin) HandoffStatus() handoff.Status { return a.board.Status() }

// cloudHandoffAdmin is the cloud's web page Admin: the Hand-off page shows
// its relays and the boards' replicated state; moves start on the board.
type cloudHandoffAdmin struct {
	peerAdmin
	h *handoffSide
}

// HandoffMove refuses: the board decides.
func (a cloudHandoffAdmin) HandoffMove(context.Context, string, string) (handoff.Result, error) {
	return handoff.Result{}, handoff.ErrIsCloud
}

// HandoffStatus is the relays and the replicas.
func (a cloudHandoffAdmin) HandoffStatus() handoff.Status {
	return handoff.Status{Where: "cloud", Relays: a.h.relays.List(), Replicas: a.h.replicas.List(), Log: []handoff.Entry{}}
}
