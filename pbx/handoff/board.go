package handoff

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
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
	// TriggerRetry: legs whose re-INVITE went unanswered (or met another
	// offer/answer in progress) tried again, towards where the last batch
	// sent calls.
	TriggerRetry = "retry"
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
	// AppendHandoffLegs is HandoffLegs appended to dst (the pressure loop
	// reuses one slice from tick to tick).
	AppendHandoffLegs(dst []call.LegRef) []call.LegRef
	MoveLeg(ctx context.Context, callID, side string, t call.Target) (time.Duration, error)
	ReturnLeg(ctx context.Context, callID, side string) (time.Duration, error)
}

// Cloud is the cloud peer's relay service as the board reaches it over the
// peer link (PeerCloud).
type Cloud interface {
	Allocate(ctx context.Context, req RelayRequest) (RelayGrant, error)
	Free(ctx context.Context, id string) error
}

// BatchCloud is a Cloud that opens the relays of a whole batch in one
// request: one round trip over the peer link instead of one per leg (and,
// on a loaded board, one TLS handshake instead of many), so every
// re-INVITE of the batch can leave at once. PeerCloud satisfies it.
type BatchCloud interface {
	Cloud
	// AllocateAll answers one RelayBatchItem per request, in order.
	AllocateAll(ctx context.Context, reqs []RelayRequest) ([]RelayBatchItem, error)
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
	// A pressure at or above CriticalLevel hands off at its first sample
	// (the box is already failing; waiting HighFor costs the calls).
	HighLevel, CriticalLevel int
	HighFor, LowFor          time.Duration
	// LegTimeout bounds one leg's re-INVITE (its retransmissions per
	// Timer A included): a party that has not answered by then keeps its
	// call where it is and is tried again in the next batch.
	LegTimeout time.Duration
	// RetryEvery spaces the batches that retry unanswered legs.
	RetryEvery time.Duration
	// FreeAfter is how long a handed-back leg's cloud relay goes on
	// relaying after the party's 2xx (DefaultFreeAfter for 0).
	FreeAfter time.Duration
	Log       *slog.Logger
}

// Defaults of the pressure trigger.
const (
	DefaultHighLevel     = 2
	DefaultCriticalLevel = 3
	DefaultHighFor       = 5 * time.Second
	DefaultLowFor        = 30 * time.Second
	// DefaultLegTimeout: a re-INVITE over UDP is sent at 0, 0.5, 1.5 and
	// 3.5 s (Timer A); an answer that has not come 4 s after the first
	// send is not worth holding the batch for (RFC 3261's 32 s Timer B
	// would keep the call on the attacked box that long).
	DefaultLegTimeout = 4 * time.Second
	DefaultRetryEvery = time.Second
	// DefaultFreeAfter: the party goes on sending to the cloud until it
	// has taken in our re-INVITE (in the test bed it switched 50-90 ms
	// after the board had its 2xx), and what it sent just before is
	// still on its way through the cloud. Freeing the cloud's relay at
	// the 2xx lost those packets: 2-3 of them, a 60-95 ms silence, at
	// every hand-back. The board takes packets from the cloud's relay
	// for a second after the 2xx (call.alsoGrace); the relay outlives
	// that.
	DefaultFreeAfter = 2 * time.Second
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
	// Pending: the party had not answered when the batch stopped waiting
	// (LegTimeout); its re-INVITE goes on (retransmitted, up to Timer B)
	// and its outcome is logged when it comes.
	Pending bool `json:"pending,omitempty"`
	// at is when the leg's re-INVITE was answered (or given up).
	at time.Time
}

// Result is the outcome of one Move.
type Result struct {
	To      string      `json:"to"`
	Moved   int         `json:"moved"`
	Failed  int         `json:"failed"`
	Pending int         `json:"pending"`
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
	moved  map[legID]string // leg → cloud relay id
	cloud  Cloud            // the cloud the moved legs are on
	where  string           // ToBoard or ToCloud: where the last Move sent calls
	forced bool
	tried  map[legID]bool // legs that refused while on the cloud (not retried)
	// retry: legs of the last batch whose re-INVITE went unanswered or
	// found the call busy; the next batch tries them again.
	retry map[legID]bool
	// inflight: legs whose re-INVITE outlived its batch (no batch sends
	// them another until it ends).
	inflight  map[legID]bool
	batches   uint64 // batches run so far (Entry.Batch)
	lastBatch time.Time
	// redirect is the cloud's URI new WAN callers are sent to with a 302
	// while the calls are there (nil: none; redirect.go).
	redirect *sip.Uri
	// early: legs of calls that came in through the cloud (invite.go),
	// with their relay in moved before the call is answered; the sweep
	// leaves them alone while they ring.
	early map[legID]time.Time
}

// NewBoard makes the board side.
func NewBoard(cfg BoardConfig) *Board {
	if cfg.IsWAN == nil {
		cfg.IsWAN = DefaultIsWAN
	}
	if cfg.HighLevel <= 0 {
		cfg.HighLevel = DefaultHighLevel
	}
	if cfg.CriticalLevel <= 0 {
		cfg.CriticalLevel = DefaultCriticalLevel
	}
	if cfg.HighFor <= 0 {
		cfg.HighFor = DefaultHighFor
	}
	if cfg.LegTimeout <= 0 {
		cfg.LegTimeout = DefaultLegTimeout
	}
	if cfg.RetryEvery <= 0 {
		cfg.RetryEvery = DefaultRetryEvery
	}
	if cfg.FreeAfter <= 0 {
		cfg.FreeAfter = DefaultFreeAfter
	}
	if cfg.LowFor <= 0 {
		cfg.LowFor = DefaultLowFor
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Board{cfg: cfg, log: cfg.Log, hl: newHistory(cfg.Store, cfg.Log), moved: map[legID]string{}, where: ToBoard,
		tried: map[legID]bool{}, retry: map[legID]bool{}, inflight: map[legID]bool{}, early: map[legID]time.Time{}}
}

// legID names a leg in the board's books: its dialog's Call-ID and side.
// A struct, not a joined string, so that looking a leg up (several times a
// tick for every leg) allocates nothing.
type legID struct{ callID, leg string }

func legKey(l call.LegRef) legID { return legID{l.CallID, l.Leg} }

// Move hands every WAN leg to the cloud (to == ToCloud) or every handed-off
// leg back (ToBoard). A leg that fails stays where it was. A manual
// trigger (not TriggerPressure) to the cloud holds the calls there until a
// move back; the pressure trigger does not override it.
func (b *Board) Move(ctx context.Context, to, trigger string) (Result, error) {
	if to != ToCloud && to != ToBoard {
		return Result{}, ErrBadWhere
	}
	if !b.lockRun(ctx, trigger) {
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
	if trigger != TriggerPressure && trigger != TriggerRetry {
		b.forced = to == ToCloud
	}
	if b.where != to {
		b.tried = map[legID]bool{}
		b.retry = map[legID]bool{}
	}
	b.where = to
	if to == ToBoard {
		cl = b.cloud
	} else {
		b.cloud = cl
	}
	b.mu.Unlock()
	// New WAN callers go to the cloud while the calls are there: on
	// before the batch (the cloud learns it first), off before the
	// hand-back (no more 302s from now on).
	if cl != nil {
		b.setRedirect(ctx, cl, to == ToCloud)
	}
	return b.moveAll(ctx, to, trigger, cl), nil
}

// moveAll moves every leg that should move, all at once: the cloud relays
// of the whole batch first (one request when the cloud takes batches),
// then every re-INVITE concurrently, so the batch takes about as long as
// its slowest party. The caller holds b.run.
func (b *Board) moveAll(ctx context.Context, to, trigger string, cl Cloud) Result {
	start := time.Now()
	res := Result{To: to, Results: []LegResult{}}
	var todo []call.LegRef
	b.mu.Lock()
	for _, l := range b.cfg.Calls.HandoffLegs() {
		if b.wants(l, to) {
			todo = append(todo, l)
		} else {
			res.Skipped++
		}
	}
	b.lastBatch = start
	b.batches++
	batch := b.batches
	b.mu.Unlock()
	out := make([]LegResult, len(todo))
	var grants []grantOrErr
	if to == ToCloud && len(todo) > 0 {
		grants = b.allocate(ctx, cl, todo)
		b.log.Info("hand-off batch: cloud relays open", "legs", len(todo), "ms", time.Since(start).Milliseconds())
	}
	var wg sync.WaitGroup
	for i, l := range todo {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if to == ToCloud {
				out[i] = b.moveOne(ctx, l, cl, trigger, batch, grants[i])
			} else {
				out[i] = b.returnOne(ctx, l, cl, trigger, batch)
			}
		}()
	}
	wg.Wait()
	var entries []Entry
	for _, r := range out {
		switch {
		case r.OK:
			res.Moved++
		case r.Pending:
			res.Pending++
			continue // logged when it ends
		default:
			res.Failed++
		}
		entries = append(entries, r.entry(to, trigger, batch))
	}
	res.Results = out
	res.MS = time.Since(start).Milliseconds()
	b.hl.add(entries)
	if len(todo) > 0 {
		b.log.Info("hand-off done", "to", to, "trigger", trigger, "moved", res.Moved, "failed", res.Failed, "pending", res.Pending, "ms", res.MS)
	}
	return res
}

// wants reports whether a batch towards to should move l. b.mu is held.
func (b *Board) wants(l call.LegRef, to string) bool {
	k := legKey(l)
	if to == ToBoard {
		return l.Where == call.WhereCloud && !b.inflight[k]
	}
	return l.Where == call.WhereBoard && b.cfg.IsWAN(l.Party) && !b.tried[k] && !b.inflight[k]
}

// entry is the log entry of a leg's move.
func (r LegResult) entry(to, trigger string, batch uint64) Entry {
	at := r.at
	if at.IsZero() {
		at = time.Now()
	}
	return Entry{Time: at.UTC(), CallID: r.Call, Leg: r.Leg, To: to, OK: r.OK, Error: r.Error, MS: r.MS, Trigger: trigger, Batch: batch}
}

// legOutcome is what MoveLeg or ReturnLeg answered.
type legOutcome struct {
	d   time.Duration
	err error
}

// await runs a leg's re-INVITE (do) and waits up to LegTimeout for it.
// When it takes longer the leg is reported pending: the re-INVITE goes on
// (the party may still answer: its 2xx must find the transaction, or the
// party would move with nobody on our side knowing) and finish runs with
// its outcome then, its result logged on its own.
func (b *Board) await(ctx context.Context, l call.LegRef, to, trigger string, batch uint64, do func(context.Context) (time.Duration, error),
	finish func(legOutcome) LegResult) LegResult {
	done := make(chan legOutcome, 1)
	go func() {
		d, err := do(context.WithoutCancel(ctx))
		done <- legOutcome{d, err}
	}()
	timer := time.NewTimer(b.cfg.LegTimeout)
	defer timer.Stop()
	select {
	case o := <-done:
		return finish(o)
	case <-timer.C:
	}
	k := legKey(l)
	b.mu.Lock()
	b.inflight[k] = true
	b.mu.Unlock()
	go func() {
		r := finish(<-done)
		b.mu.Lock()
		delete(b.inflight, k)
		b.mu.Unlock()
		b.hl.add([]Entry{r.entry(to, trigger, batch)})
		b.log.Info("hand-off of a slow party done", "to", to, "call_id", l.CallID, "leg", l.Leg, "ok", r.OK, "err", r.Error, "ms", r.MS)
	}()
	return LegResult{CallID: l.CallID, Call: l.Call, Leg: l.Leg, Pending: true,
		Error: fmt.Sprintf("no answer within %v; still waiting", b.cfg.LegTimeout)}
}

// grantOrErr is the relay the cloud opened for one leg of a batch.
type grantOrErr struct {
	g   RelayGrant
	err error
}

// allocate opens a cloud relay for each leg: in one request when the
// cloud takes batches, else one request per leg, concurrently.
func (b *Board) allocate(ctx context.Context, cl Cloud, legs []call.LegRef) []grantOrErr {
	out := make([]grantOrErr, len(legs))
	reqs := make([]RelayRequest, len(legs))
	for i, l := range legs {
		reqs[i] = RelayRequest{CallID: l.CallID, Board: l.Local.String()}
		if l.Media.IsValid() {
			reqs[i].Party = l.Media.String()
		}
	}
	if bc, ok := cl.(BatchCloud); ok && len(legs) > 0 {
		items, err := bc.AllocateAll(ctx, reqs)
		if err == nil && len(items) == len(legs) {
			for i, it := range items {
				if it.Error != "" {
					out[i].err = errors.New(it.Error)
				} else {
					out[i].g = it.Grant
				}
			}
			return out
		}
		if err == nil {
			err = fmt.Errorf("%d answers for %d requests", len(items), len(legs))
		}
		if !errors.Is(err, ErrNoBatch) {
			for i := range out {
				out[i].err = err
			}
			return out
		}
		// An older cloud: one request per leg.
	}
	var wg sync.WaitGroup
	for i := range legs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i].g, out[i].err = cl.Allocate(ctx, reqs[i])
		}()
	}
	wg.Wait()
	return out
}

// moveOne hands one leg to the cloud relay it was given; a failed
// hand-off frees the relay. A party that did not answer (or a call busy
// with another offer/answer) is tried again in the next batch; one that
// refuses is not, while the calls are there.
func (b *Board) moveOne(ctx context.Context, l call.LegRef, cl Cloud, trigger string, batch uint64, ge grantOrErr) LegResult {
	r := LegResult{CallID: l.CallID, Call: l.Call, Leg: l.Leg}
	k := legKey(l)
	if ge.err != nil {
		r.Error, r.at = fmt.Errorf("cloud relay: %w", ge.err).Error(), time.Now()
		return r
	}
	t, err := target(ge.g)
	if err != nil {
		_ = cl.Free(ctx, ge.g.ID)
		r.Error, r.at = err.Error(), time.Now()
		return r
	}
	return b.await(ctx, l, ToCloud, trigger, batch, func(ctx context.Context) (time.Duration, error) {
		return b.cfg.Calls.MoveLeg(ctx, l.CallID, l.Leg, t)
	}, func(o legOutcome) LegResult {
		r.MS, r.at = o.d.Milliseconds(), time.Now()
		b.mu.Lock()
		delete(b.retry, k)
		b.mu.Unlock()
		if o.err != nil {
			_ = cl.Free(context.WithoutCancel(ctx), ge.g.ID)
			b.mu.Lock()
			if errors.Is(o.err, call.ErrBusy) || strings.Contains(o.err.Error(), "no answer") {
				b.retry[k] = true
			} else {
				b.tried[k] = true
			}
			b.mu.Unlock()
			r.Error = o.err.Error()
			return r
		}
		b.mu.Lock()
		b.moved[k] = ge.g.ID
		b.mu.Unlock()
		r.OK = true
		return r
	})
}

// returnOne hands one leg back to the board and frees its cloud relay;
// a leg whose party does not answer stays on the cloud (relay kept) and
// is tried again in the next batch.
func (b *Board) returnOne(ctx context.Context, l call.LegRef, cl Cloud, trigger string, batch uint64) LegResult {
	r := LegResult{CallID: l.CallID, Call: l.Call, Leg: l.Leg}
	k := legKey(l)
	return b.await(ctx, l, ToBoard, trigger, batch, func(ctx context.Context) (time.Duration, error) {
		return b.cfg.Calls.ReturnLeg(ctx, l.CallID, l.Leg)
	}, func(o legOutcome) LegResult {
		r.MS, r.at = o.d.Milliseconds(), time.Now()
		err := o.err
		if err != nil && !errors.Is(err, call.ErrNoLeg) && !errors.Is(err, call.ErrNotMoved) {
			r.Error = err.Error()
			return r
		}
		b.mu.Lock()
		id := b.moved[k]
		delete(b.moved, k)
		b.mu.Unlock()
		if id != "" && cl != nil {
			b.freeLater(cl, id)
		}
		if err != nil {
			r.Error = err.Error()
			return r
		}
		r.OK = true
		return r
	})
}

// freeLater frees a handed-back leg's cloud relay FreeAfter from now:
// until then it still relays what the party sent before it switched (see
// DefaultFreeAfter). A relay the board never frees (the board stopped
// meanwhile) the cloud frees when its call ends or the peer link drops.
func (b *Board) freeLater(cl Cloud, id string) {
	time.AfterFunc(b.cfg.FreeAfter, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := cl.Free(ctx, id); err != nil {
			b.log.Debug("free cloud relay", "id", id, "err", err)
		}
	})
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
// HighFor (CriticalLevel: at once) hands off (and keeps handing off new
// WAN calls while there), at 0 for LowFor hands back, unless a manual
// hand-off holds the calls; legs whose re-INVITE went unanswered are
// tried again every RetryEvery, towards where the calls should be. It
// also frees cloud relays of calls that ended. tick is the poll period
// (0: 250 ms).
func (b *Board) Run(ctx context.Context, tick time.Duration) {
	if tick <= 0 {
		tick = 250 * time.Millisecond
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	var highSince, lowSince time.Time
	// Reused from tick to tick: the loop runs as long as the daemon.
	var legs []call.LegRef
	live := map[legID]bool{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		// One list of the legs per tick for all the checks below (each
		// was a walk of every call, twice or three times a tick).
		legs = b.cfg.Calls.AppendHandoffLegs(legs[:0])
		clear(live)
		b.sweepLegs(ctx, legs, live)
		lvl := -1
		if b.cfg.Pressure != nil {
			lvl = b.cfg.Pressure()
		}
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
		retryDue := now.Sub(b.lastBatch) >= b.cfg.RetryEvery
		b.mu.Unlock()
		high := !highSince.IsZero() && (now.Sub(highSince) >= b.cfg.HighFor || lvl >= b.cfg.CriticalLevel)
		var to, trigger string
		switch {
		case !forced && high && b.pendingLegs(ToCloud, legs):
			to, trigger = ToCloud, TriggerPressure
		case !forced && where == ToCloud && !lowSince.IsZero() && now.Sub(lowSince) >= b.cfg.LowFor:
			to, trigger = ToBoard, TriggerPressure
		case retryDue && b.retryingLegs(where, legs):
			to, trigger = where, TriggerRetry
		default:
			continue
		}
		if _, err := b.Move(ctx, to, trigger); err != nil && !errors.Is(err, ErrRunning) {
			b.log.Warn("hand-off", "to", to, "trigger", trigger, "err", err)
		}
	}
}

// retrying reports whether legs of an earlier batch towards where still
// wait for another try: unanswered re-INVITEs to the cloud, or legs still
// on the cloud after a hand-back.
func (b *Board) retrying(where string) bool {
	return b.retryingLegs(where, b.cfg.Calls.HandoffLegs())
}

// retryingLegs is retrying with the legs already listed.
func (b *Board) retryingLegs(where string, legs []call.LegRef) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, l := range legs {
		switch {
		case b.inflight[legKey(l)]:
		case where == ToBoard && l.Where == call.WhereCloud:
			return true
		case where == ToCloud && l.Where == call.WhereBoard && b.retry[legKey(l)] && b.wants(l, ToCloud):
			return true
		}
	}
	return false
}

// pendingLegs reports whether a Move to `to` has legs to move (legs: the
// calls' legs as HandoffLegs lists them).
func (b *Board) pendingLegs(to string, legs []call.LegRef) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if to == ToCloud && b.where != ToCloud {
		return true // the first hand-off of an episode, even with no call (state)
	}
	for _, l := range legs {
		if to == ToCloud && b.wants(l, ToCloud) {
			return true
		}
	}
	return false
}

// earlyHold bounds how long the sweep leaves the relay of a call that came
// in through the cloud alone before the call is answered (a ring timeout
// is shorter; a call that failed meanwhile gets its relay freed then, if
// the cloud's idle timeout has not closed it already).
const earlyHold = 5 * time.Minute

// sweepLegs frees the cloud relays of legs whose calls ended (legs: the
// live calls' legs as HandoffLegs lists them; live: an empty map it may
// fill, the caller's to reuse).
func (b *Board) sweepLegs(ctx context.Context, legs []call.LegRef, live map[legID]bool) {
	for _, l := range legs {
		live[legKey(l)] = true
	}
	b.mu.Lock()
	var gone []string
	for k, since := range b.early {
		if live[k] || time.Since(since) > earlyHold {
			delete(b.early, k)
		}
	}
	for k, id := range b.moved {
		if _, ringing := b.early[k]; ringing {
			continue
		}
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

// lockRun takes the one-batch-at-a-time lock. The automatic triggers
// (pressure, retry) give up at once when a batch is running: they come back
// within a second. A person (API, CLI, button) waits for the running batch
// to finish, up to ctx, instead of being told to try again: the retry loop
// runs short batches often enough that a drill would otherwise often meet one.
func (b *Board) lockRun(ctx context.Context, trigger string) bool {
	if b.run.TryLock() {
		return true
	}
	if trigger == TriggerPressure || trigger == TriggerRetry {
		return false
	}
	wait := time.NewTicker(10 * time.Millisecond)
	defer wait.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-wait.C:
			if b.run.TryLock() {
				return true
			}
		}
	}
}
