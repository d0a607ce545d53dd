package daemon

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestSIPLoggerDemotesPeerNoise(t *testing.T) {
	for _, tc := range []struct {
		name  string
		level slog.Level // the daemon's --log-level
		log   func(l *slog.Logger)
		want  string // "" when nothing may be written
	}{
		{"garbage at info", slog.LevelInfo, func(l *slog.Logger) { l.Error("failed to parse", "data", "\x16\x03\x01") }, ""},
		{"garbage at debug", slog.LevelDebug, func(l *slog.Logger) { l.Error("failed to parse", "data", "x") }, "level=DEBUG msg=\"failed to parse\" component=sipgo"},
		{"ref count at info", slog.LevelInfo, func(l *slog.Logger) { l.Warn("TCP ref went negative", "ref", -1) }, ""},
		{"other warning kept", slog.LevelInfo, func(l *slog.Logger) { l.Warn("Read error", "err", "x") }, "level=WARN msg=\"Read error\" component=sipgo"},
		{"other error kept", slog.LevelError, func(l *slog.Logger) { l.Error("transaction layer closed") }, "level=ERROR"},
		{"debug hidden at info", slog.LevelInfo, func(l *slog.Logger) { l.Debug("New connection") }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			base := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: tc.level}))
			tc.log(SIPLogger(base).With("caller", "test"))
			got := buf.String()
			if tc.want == "" {
				if got != "" {
					t.Errorf("wrote %q, want nothing", got)
				}
				return
			}
			if !strings.Contains(got, tc.want) {
				t.Errorf("wrote %q, want it to contain %q", got, tc.want)
			}
		})
	}
}
