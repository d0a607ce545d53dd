// Package logbuf keeps the newest log lines in memory for the web page's
// system view: an slog.Handler that passes every record on to the real
// handler (stderr) and also writes it, as one text line, into a bounded
// ring buffer.
//
// The ring holds exactly what was logged and nothing more: attributes are
// formatted by slog's text handler, so whatever the code keeps out of its
// logs (passwords, keys) is never in the ring either. Memory is bounded by
// the line count and the per-line cap.
package logbuf

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
)

// Defaults for New.
const (
	DefaultLines   = 500
	DefaultLineCap = 2048 // bytes; longer lines are cut and marked with "…"
)

// Ring is a bounded buffer of the newest log lines. It is an io.Writer
// that takes one line per Write (as slog's handlers write); the zero
// value is not usable, see New.
type Ring struct {
	mu      sync.Mutex
	lines   []string // circular; next is the slot the next line goes to
	next    int
	full    bool
	lineCap int
}

// New returns a ring keeping the newest n lines of at most lineCap bytes
// each; n or lineCap <= 0 take the defaults.
func New(n, lineCap int) *Ring {
	if n <= 0 {
		n = DefaultLines
	}
	if lineCap <= 0 {
		lineCap = DefaultLineCap
	}
	return &Ring{lines: make([]string, n), lineCap: lineCap}
}

// Write stores p as one or more lines (split at newlines, empty ones
// dropped). It never fails.
func (r *Ring) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		line, rest, _ := bytes.Cut(p, []byte{'\n'})
		p = rest
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		r.add(r.cut(line))
	}
	return n, nil
}

// cut bounds a line to lineCap bytes without splitting a UTF-8 sequence.
func (r *Ring) cut(line []byte) string {
	if len(line) <= r.lineCap {
		return string(line)
	}
	end := r.lineCap
	for end > 0 && line[end]&0xc0 == 0x80 {
		end--
	}
	return strings.ToValidUTF8(string(line[:end]), "") + "…"
}

func (r *Ring) add(s string) {
	r.mu.Lock()
	r.lines[r.next] = s
	r.next++
	if r.next == len(r.lines) {
		r.next, r.full = 0, true
	}
	r.mu.Unlock()
}

// Lines returns the newest lines, oldest first, at most n (n <= 0: all
// kept).
func (r *Ring) Lines(n int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var all []string
	if r.full {
		all = append(append(all, r.lines[r.next:]...), r.lines[:r.next]...)
	} else {
		all = append(all, r.lines[:r.next]...)
	}
	if n > 0 && len(all) > n {
		all = all[len(all)-n:]
	}
	return all
}

// Tee returns a handler that sends every record to next and also writes
// it as a text line into r when its level is at least min.
func Tee(next slog.Handler, r *Ring, min slog.Leveler) slog.Handler {
	return &tee{next: next, ring: slog.NewTextHandler(r, &slog.HandlerOptions{Level: min})}
}

// tee is the handler Tee returns.
type tee struct {
	next slog.Handler
	ring slog.Handler
}

func (t *tee) Enabled(ctx context.Context, l slog.Level) bool {
	return t.next.Enabled(ctx, l) || t.ring.Enabled(ctx, l)
}

func (t *tee) Handle(ctx context.Context, rec slog.Record) error {
	var err error
	if t.next.Enabled(ctx, rec.Level) {
		err = t.next.Handle(ctx, rec.Clone())
	}
	if t.ring.Enabled(ctx, rec.Level) {
		_ = t.ring.Handle(ctx, rec) // the ring never fails
	}
	return err
}

func (t *tee) WithAttrs(as []slog.Attr) slog.Handler {
	return &tee{next: t.next.WithAttrs(as), ring: t.ring.WithAttrs(as)}
}

func (t *tee) WithGroup(name string) slog.Handler {
	return &tee{next: t.next.WithGroup(name), ring: t.ring.WithGroup(name)}
}
