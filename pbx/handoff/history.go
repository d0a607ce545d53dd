package handoff

import (
	"encoding/json"
	"log/slog"
	"sync"
	"time"
)

// SettingLog is the store setting that keeps the hand-off log (JSON).
const SettingLog = "handoff.log"

// MaxLog is how many log entries are kept.
const MaxLog = 500

// Store is where the log is kept: *store.DB satisfies it.
type Store interface {
	Setting(key string) (string, bool, error)
	SetSetting(key, val string) error
}

// Entry is one leg's hand-off or hand-back.
type Entry struct {
	Time    time.Time `json:"time"`
	CallID  string    `json:"call_id"`
	Leg     string    `json:"leg"`
	To      string    `json:"to"`
	OK      bool      `json:"ok"`
	Error   string    `json:"error,omitempty"`
	MS      int64     `json:"ms"`
	Trigger string    `json:"trigger"`
	// Batch numbers the batches since the daemon started: the entries of
	// one batch (a slow party's too) share it.
	Batch uint64 `json:"batch,omitempty"`
}

// history is the log, newest first, written through to the store.
type history struct {
	st  Store
	log *slog.Logger

	mu      sync.Mutex
	entries []Entry
}

func newHistory(st Store, log *slog.Logger) *history {
	h := &history{st: st, log: log}
	if st == nil {
		return h
	}
	if s, ok, err := st.Setting(SettingLog); err != nil {
		log.Error("read hand-off log", "err", err)
	} else if ok {
		if err := json.Unmarshal([]byte(s), &h.entries); err != nil {
			log.Warn("hand-off log unreadable; starting afresh", "err", err)
			h.entries = nil
		}
	}
	return h
}

// add puts a batch in front and saves the log.
func (h *history) add(batch []Entry) {
	if len(batch) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	all := make([]Entry, 0, len(batch)+len(h.entries))
	for i := len(batch) - 1; i >= 0; i-- {
		all = append(all, batch[i])
	}
	all = append(all, h.entries...)
	if len(all) > MaxLog {
		all = all[:MaxLog]
	}
	h.entries = all
	if h.st == nil {
		return
	}
	b, err := json.Marshal(all)
	if err == nil {
		err = h.st.SetSetting(SettingLog, string(b))
	}
	if err != nil {
		h.log.Error("save hand-off log", "err", err)
	}
}

// list is a copy of the log, newest first.
func (h *history) list() []Entry {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Entry{}, h.entries...)
}
