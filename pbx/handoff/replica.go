package handoff

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"sort"
	"sync"
	"time"

	"hushbox/pbx/call"
	"hushbox/pbx/control"
	"hushbox/pbx/peer"
)

// StatePath is where the board pushes its state to the cloud.
const StatePath = "/peer/handoff/state"

// SettingReplica is the cloud's store setting holding the boards' last
// snapshots (JSON, by peer name), so a restarted cloud is warm.
const SettingReplica = "handoff.replica"

// maxSnapshot bounds a pushed snapshot.
const maxSnapshot = 4 << 20

// Snapshot is what the board replicates to the cloud: its registrations
// and the state of its live dialogs (never a voice key).
type Snapshot struct {
	Board         string                 `json:"board,omitempty"` // set by the cloud: the peer that pushed it
	Time          time.Time              `json:"time"`
	Received      time.Time              `json:"received,omitempty"`
	Registrations []control.Registration `json:"registrations"`
	Dialogs       []call.DialogState     `json:"dialogs"`
}

// same reports whether two snapshots hold the same state (times aside).
func same(a, b Snapshot) bool {
	return reflect.DeepEqual(a.Registrations, b.Registrations) && reflect.DeepEqual(a.Dialogs, b.Dialogs)
}

// RunReplication pushes snapshot() whenever it changed (looked at every
// check) and at least every every, until ctx ends. A failed push is tried
// again at the next look.
func RunReplication(ctx context.Context, snapshot func() Snapshot, push func(context.Context, Snapshot) error,
	check, every time.Duration, log *slog.Logger) {
	if log == nil {
		log = slog.Default()
	}
	t := time.NewTicker(check)
	defer t.Stop()
	var last Snapshot
	var lastPush time.Time
	pushed := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s := snapshot()
		if pushed && same(s, last) && time.Since(lastPush) < every {
			continue
		}
		s.Time = time.Now().UTC()
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := push(pctx, s)
		cancel()
		if err != nil {
			if !errors.Is(err, ErrNoCloud) && ctx.Err() == nil {
				log.Debug("replication push failed", "err", err)
			}
			pushed = false
			continue
		}
		last, lastPush, pushed = s, time.Now(), true
	}
}

// PeerPush pushes snapshots to the paired cloud over pl.
func PeerPush(pl PeerLink) func(context.Context, Snapshot) error {
	return func(ctx context.Context, s Snapshot) error {
		p, ok := pl.PeerWithRole(peer.RoleCloud)
		if !ok {
			return ErrNoCloud
		}
		return pl.Request(ctx, p, http.MethodPost, StatePath, s, nil)
	}
}

// Replicas is the cloud's copy of its boards' state.
type Replicas struct {
	st  Store
	log *slog.Logger

	mu     sync.Mutex
	byPeer map[string]Snapshot
}

// NewReplicas loads the copies kept in st (nil: memory only).
func NewReplicas(st Store, log *slog.Logger) *Replicas {
	if log == nil {
		log = slog.Default()
	}
	r := &Replicas{st: st, log: log, byPeer: map[string]Snapshot{}}
	if st == nil {
		return r
	}
	if s, ok, err := st.Setting(SettingReplica); err != nil {
		log.Error("read replicated state", "err", err)
	} else if ok {
		if err := json.Unmarshal([]byte(s), &r.byPeer); err != nil {
			log.Warn("replicated state unreadable; starting cold", "err", err)
			r.byPeer = map[string]Snapshot{}
		}
	}
	return r
}

// Put stores a board's snapshot.
func (r *Replicas) Put(board string, s Snapshot) error {
	s.Board, s.Received = board, time.Now().UTC()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.byPeer[board] = s
	if r.st == nil {
		return nil
	}
	b, err := json.Marshal(r.byPeer)
	if err != nil {
		return err
	}
	return r.st.SetSetting(SettingReplica, string(b))
}

// List is every board's last snapshot, by name.
func (r *Replicas) List() []Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Snapshot, 0, len(r.byPeer))
	for _, s := range r.byPeer {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Board < out[j].Board })
	return out
}

// ServeState adds the cloud's POST StatePath route.
func (r *Replicas) ServeState(rt Router) {
	rt.Route("POST "+StatePath, func(w http.ResponseWriter, req *http.Request, from peer.Peer) {
		var s Snapshot
		dec := json.NewDecoder(io.LimitReader(req.Body, maxSnapshot))
		if err := dec.Decode(&s); err != nil {
			writeJSON(w, http.StatusBadRequest, errorReply{"snapshot: " + err.Error()})
			return
		}
		if err := r.Put(from.Name, s); err != nil {
			r.log.Error("save replicated state", "peer", from.Name, "err", err)
			writeJSON(w, http.StatusInternalServerError, errorReply{"not saved"})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
