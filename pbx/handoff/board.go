package handoff

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"hushbox/pbx/call"
)

// Where calls are, and the targets of Move.
const (
	ToCloud = call.WhereCloud
	ToBoard = call.WhereBoard
)

// Triggers of a hand-off, as the log shows them.
const (
	TriggerAPI      = "api"
	TriggerCLI      = "cli"
	TriggerButton   = "button"
	TriggerPressure = "pressure"
)

// Errors of Move.
var (
	ErrNoCloud  = errors.New("handoff: no cloud peer paired")
	ErrRunning  = errors.New("handoff: a hand-off is already running")
	ErrBadWhere = errors.New(`handoff: "to" must be "cloud" or "board"`)
	ErrIsCloud  = errors.New("handoff: this box is the cloud peer; hand-offs start on the board")
)

// Calls is the call manager as the board's hand-off drives it:
// *call.Manager satisfies it.
type Calls interface {
	HandoffLegs() []call.LegRef
	MoveLeg(ctx context.Context, callID, side string, t call.Target) (time.Duration, error)
	ReturnLeg(ctx context.Context, callID, side string) (time.Duration, error)
}

// Cloud is the cloud peer's relay service as the board reaches it over the
// peer link (PeerCloud).
type Cloud interface {
	Allocate(ctx context.Context, req RelayRequest) (RelayGrant, error)
	Free(ctx context.Context, id string) error
}

// BoardConfig is what NewBoard needs.
type BoardConfig struct {
	Calls Calls
	// Cloud returns the paired cloud peer (ErrNoCloud when there is none).
	Cloud func() (Cloud, error)
	// IsWAN tells whether a party (its signalling source, host:port) is on
	// the WAN and so may move; nil means DefaultIsWAN.
	IsWAN func(party string) bool
	// Store keeps the log (nil: memory only).
	Store Store
	// Pressure is the guard's pressure level 0..3 (nil: no pressure trigger).
	Pressure func() int
	// HighLevel, HighFor, LowFor: hand off after the pressure stayed at or
	// above HighLevel for HighFor, back after it stayed at 0 for LowFor.
	HighLevel       int
	HighFor, LowFor time.Duration
	Log             *slog.Logger
}

// Defaults of the pressure trigger.
const (
	DefaultHighLevel = 2
	DefaultHighFor   = 5 * time.Second
	DefaultLowFor    = 30 * time.Second
)

// DefaultIsWAN: a party is on the WAN unless it is loopback, link-local or
// in a private range (RFC 1918, RFC 4193, CGNAT 100.64/10 is WAN).
func DefaultIsWAN(party string) bool {
	ap, err := netip.ParseAddrPort(party)
	if err != nil {
		return false
	}
	a := ap.Addr().Unmap()
	return !(a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsUnspecified())
}

// LegResult is the outcome of moving one leg.
type LegResult struct {
	CallID string `json:"call_id"`
	Call   string `json:"call"`
	Leg    string `json:"leg"`
	OK     bool   `json:"ok"`
	Error  string `json:"error,omitempty"`
	MS     int64  `json:"ms"`
}

// Result is the outcome of one Move.
type Result struct {
	To      string      `json:"to"`
	Moved   int         `json:"moved"`
	Failed  int         `json:"failed"`
	Skipped int         `json:"skipped"`
	MS      int64       `json:"ms"`
	Results []LegResult `json:"results"`
}

// Status is the hand-off's state for the API and the web page.
type Status struct {
	Where    string  `json:"where"`
	Forced   bool    `json:"forced"`
	Pressure int     `json:"pressure"`
	Calls    int     `json:"calls"`
	OnCloud  int     `json:"on_cloud"`
	Log      []Entry `json:"log"`
	// On the cloud: its live relays and the boards' replicated state.
	Relays   []RelayInfo `json:"relays,omitempty"`
	Replicas []Snapshot  `json:"replicas,omitempty"`
}

// Board is the board side of the hand-off.
type Board struct {
	cfg BoardConfig
	log *slog.Logger
	hl  *history

	run sync.Mutex // one Move at a time

	mu     sync.Mutex
	moved  map[string]string // leg key → cloud relay id
	cloud  Cloud             // the cloud the moved legs are on
	where  string            // ToBoard or ToCloud: where the last Move sent calls
	forced bool
	tried  map[string]bool // legs that refused while on the cloud (not retried)
}

// NewBoard makes the board side.
func NewBoard(cfg BoardConfig) *Board {
	if cfg.IsWAN == nil {
		cfg.IsWAN = DefaultIsWAN
	}
	if cfg.HighLevel <= 0 {
		cfg.HighLevel = DefaultHighLevel
	}
	if cfg.HighFor <= 0 {
		cfg.HighFor = DefaultHighFor
	}
	if cfg.LowFor <= 0 {
		cfg.LowFor = DefaultLowFor
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Board{cfg: cfg, log: cfg.Log, hl: newHistory(cfg.Store, cfg.Log), moved: map[string]string{}, where: ToBoard, tried: map[string]bool{}}
}

func legKey(l call.LegRef) string { return l.CallID + "\x00" + l.Leg }

// Move hands every WAN leg to the cloud (to == ToCloud) or every handed-off
// leg back (ToBoard). A leg that fails stays where it was. A manual
// trigger (not TriggerPressure) to the cloud holds the calls there until a
// move back; the pressure trigger does not override it.
func (b *Board) Move(ctx context.Context, to, trigger string) (Result, error) {
	if to != ToCloud && to != ToBoard {
		return Result{}, ErrBadWhere
	}
	if !b.run.TryLock() {
		return Result{}, ErrRunning
	}
	defer b.run.Unlock()
	var cl Cloud
	if to == ToCloud {
		var err error
		if b.cfg.Cloud == nil {
			return Result{}, ErrNoCloud
		}
		if cl, err = b.cfg.Cloud(); err != nil {
			return Result{}, err
		}
	}
	b.mu.Lock()
	if trigger != TriggerPressure {
		b.forced = to == ToCloud
	}
	if b.where != to {
		b.tried = map[string]bool{}
	}
	b.where = to
	if to == ToBoard {
		cl = b.cloud
	} else {
		b.cloud = cl
	}
	b.mu.Unlock()
	return b.moveAll(ctx, to, trigger, cl), nil
}

// moveAll moves every leg that should move, all at once. The caller holds b.run.
func (b *Board) moveAll(ctx context.Context, to, trigger string, cl Cloud) Result {
	start := time.Now()
	res := Result{To: to, Results: []LegResult{}}
	var todo []call.LegRef
	b.mu.Lock()
	for _, l := range b.cfg.Calls.HandoffLegs() {
		k := legKey(l)
		switch {
		case to == ToCloud && l.Where == call.WhereBoard && b.cfg.IsWAN(l.Party) && !b.tried[k]:
			todo = append(todo, l)
		case to == ToBoard && l.Where == call.WhereCloud:
			todo = append(todo, l)
		default:
			res.Skipped++
		}
	}
	b.mu.Unlock()
	out := make([]LegResult, len(todo))
	var wg sync.WaitGroup
	for i, l := range todo {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = b.moveOne(ctx, l, to, cl)
		}()
	}
	wg.Wait()
	var entries []Entry
	now := time.Now().UTC()
	for _, r := range out {
		if r.OK {
			res.Moved++
		} else {
			res.Failed++
		}
		entries = append(entries, Entry{Time: now, CallID: r.Call, Leg: r.Leg, To: to, OK: r.OK, Error: r.Error, MS: r.MS, Trigger: trigger})
	}
	res.Results = out
	res.MS = time.Since(start).Milliseconds()
	b.hl.add(entries)
	if len(todo) > 0 {
		b.log.Info("hand-off done", "to", to, "trigger", trigger, "moved", res.Moved, "failed", res.Failed, "ms", res.MS)
	}
	return res
}

// moveOne moves one leg; a failed hand-off frees the relay it took.
func (b *Board) moveOne(ctx context.Context, l call.LegRef, to string, cl Cloud) LegResult {
	r := LegResult{CallID: l.CallID, Call: l.Call, Leg: l.Leg}
	k := legKey(l)
	fail := func(err error) LegResult {
		r.Error = err.Error()
		return r
	}
	if to == ToBoard {
		d, err := b.cfg.Calls.ReturnLeg(ctx, l.CallID, l.Leg)
		r.MS = d.Milliseconds()
		if err != nil && !errors.Is(err, call.ErrNoLeg) && !errors.Is(err, call.ErrNotMoved) {
			return fail(err)
		}
		b.mu.Lock()
		id := b.moved[k]
		delete(b.moved, k)
		b.mu.Unlock()
		if id != "" && cl != nil {
			if ferr := cl.Free(ctx, id); ferr != nil {
				b.log.Debug("free cloud relay", "id", id, "err", ferr)
			}
		}
		if err != nil {
			return fail(err)
		}
		r.OK = true
		return r
	}
	req := RelayRequest{CallID: l.CallID, Board: l.Local.String()}
	if l.Media.IsValid() {
		req.Party = l.Media.String()
	}
	g, err := cl.Allocate(ctx, req)
	if err != nil {
		return fail(fmt.Errorf("cloud relay: %w", err))
	}
	t, err := target(g)
	if err != nil {
		_ = cl.Free(ctx, g.ID)
		return fail(err)
	}
	d, err := b.cfg.Calls.MoveLeg(ctx, l.CallID, l.Leg, t)
	r.MS = d.Milliseconds()
	if err != nil {
		_ = cl.Free(context.WithoutCancel(ctx), g.ID)
		b.mu.Lock()
		b.tried[k] = true
		b.mu.Unlock()
		return fail(err)
	}
	b.mu.Lock()
	b.moved[k] = g.ID
	b.mu.Unlock()
	r.OK = true
	return r
}

// target reads a grant.
func target(g RelayGrant) (call.Target, error) {
	wan, err := netip.ParseAddrPort(g.WAN)
	if err != nil {
		return call.Target{}, fmt.Errorf("cloud relay WAN address %q: %w", g.WAN, err)
	}
	peerSide, err := netip.ParseAddrPort(g.Peer)
	if err != nil {
		return call.Target{}, fmt.Errorf("cloud relay peer address %q: %w", g.Peer, err)
	}
	var u sip.Uri
	if err := sip.ParseUri(g.SIP, &u); err != nil || u.Host == "" {
		return call.Target{}, fmt.Errorf("cloud SIP address %q: %v", g.SIP, err)
	}
	return call.Target{Media: wan, Relay: peerSide, Contact: u}, nil
}

// Toggle is the board button: to the cloud, or back when calls are there.
func (b *Board) Toggle(ctx context.Context, trigger string) (Result, error) {
	b.mu.Lock()
	to := ToCloud
	if b.where == ToCloud {
		to = ToBoard
	}
	b.mu.Unlock()
	return b.Move(ctx, to, trigger)
}

// Status is where calls are now.
func (b *Board) Status() Status {
	st := Status{Log: b.hl.list()}
	if b.cfg.Pressure != nil {
		st.Pressure = b.cfg.Pressure()
	}
	calls := map[string]string{}
	for _, l := range b.cfg.Calls.HandoffLegs() {
		if l.Where == call.WhereCloud {
			st.OnCloud++
			calls[l.Call] = call.WhereCloud
		} else if _, ok := calls[l.Call]; !ok {
			calls[l.Call] = call.WhereBoard
		}
	}
	st.Calls = len(calls)
	b.mu.Lock()
	st.Where, st.Forced = b.where, b.forced
	b.mu.Unlock()
	return st
}

// Run watches the pressure until ctx ends: at or above HighLevel for
// HighFor hands off (and keeps handing off new WAN calls while there), at
// 0 for LowFor hands back, unless a manual hand-off holds the calls; it
// also frees cloud relays of calls that ended. tick is the poll period (0:
// 250 ms).
func (b *Board) Run(ctx context.Context, tick time.Duration) {
	if tick <= 0 {
		tick = 250 * time.Millisecond
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	var highSince, lowSince time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		b.sweep(ctx)
		if b.cfg.Pressure == nil {
			continue
		}
		lvl := b.cfg.Pressure()
		if lvl >= b.cfg.HighLevel {
			if highSince.IsZero() {
				highSince = now
			}
		} else {
			highSince = time.Time{}
		}
		if lvl == 0 {
			if lowSince.IsZero() {
				lowSince = now
			}
		} else {
			lowSince = time.Time{}
		}
		b.mu.Lock()
		where, forced := b.where, b.forced
		b.mu.Unlock()
		switch {
		case forced:
		case !highSince.IsZero() && now.Sub(highSince) >= b.cfg.HighFor && b.pending(ToCloud):
			if _, err := b.Move(ctx, ToCloud, TriggerPressure); err != nil && !errors.Is(err, ErrRunning) {
				b.log.Warn("pressure hand-off", "err", err)
			}
		case where == ToCloud && !lowSince.IsZero() && now.Sub(lowSince) >= b.cfg.LowFor:
			if _, err := b.Move(ctx, ToBoard, TriggerPressure); err != nil && !errors.Is(err, ErrRunning) {
				b.log.Warn("pressure hand-back", "err", err)
			}
		}
	}
}

// pending reports whether a Move to `to` has legs to move.
func (b *Board) pending(to string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if to == ToCloud && b.where != ToCloud {
		return true // the first hand-off of an episode, even with no call (state)
	}
	for _, l := range b.cfg.Calls.HandoffLegs() {
		if to == ToCloud && l.Where == call.WhereBoard && b.cfg.IsWAN(l.Party) && !b.tried[legKey(l)] {
			return true
		}
	}
	return false
}

// sweep frees the cloud relays of legs whose calls ended.
func (b *Board) sweep(ctx context.Context) {
	live := map[string]bool{}
	for _, l := range b.cfg.Calls.HandoffLegs() {
		live[legKey(l)] = true
	}
	b.mu.Lock()
	var gone []string
	for k, id := range b.moved {
		if !live[k] {
			gone = append(gone, id)
			delete(b.moved, k)
		}
	}
	cl := b.cloud
	b.mu.Unlock()
	for _, id := range gone {
		if cl != nil {
			if err := cl.Free(ctx, id); err != nil {
				b.log.Debug("free cloud relay of an ended call", "id", id, "err", err)
			}
		}
	}
}
