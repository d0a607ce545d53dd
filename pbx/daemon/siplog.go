package daemon

import (
	"context"
	"log/slog"
	"strings"
)

// SIPLogger returns the logger sipgo's layers (and its package default)
// log through: log with component=sipgo, where the lines sipgo writes
// about what outside peers did are lowered to DEBUG. An ERROR "failed to
// parse" carrying the raw bytes of every garbage datagram, or a WARN for
// every TCP client that hangs up before its transaction ends ("ref went
// negative", sipgo's connection reference counting), is neither the
// daemon's error nor something an operator can act on; at ERROR it also
// lets a flood of garbage write the SD card full of binary.
func SIPLogger(log *slog.Logger) *slog.Logger {
	return slog.New(demoteHandler{log.Handler()}).With("component", "sipgo")
}

// demotedMessages are sipgo messages logged at DEBUG whatever their level.
var demotedMessages = []string{
	"failed to parse",   // transport: malformed input from a peer
	"ref went negative", // TCP/UDP/WS connection reference counting
}

// demoteHandler lowers demotedMessages to DEBUG.
type demoteHandler struct{ h slog.Handler }

// Enabled lets every level through to Handle, which decides once it has
// seen the message.
func (d demoteHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return d.h.Enabled(ctx, l) || d.h.Enabled(ctx, slog.LevelDebug)
}

func (d demoteHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level > slog.LevelDebug {
		for _, m := range demotedMessages {
			if strings.Contains(r.Message, m) {
				r.Level = slog.LevelDebug
				break
			}
		}
	}
	if !d.h.Enabled(ctx, r.Level) {
		return nil
	}
	return d.h.Handle(ctx, r)
}

func (d demoteHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return demoteHandler{d.h.WithAttrs(as)}
}

func (d demoteHandler) WithGroup(name string) slog.Handler {
	return demoteHandler{d.h.WithGroup(name)}
}
