package logbuf

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestRingKeepsNewest(t *testing.T) {
	for _, tc := range []struct {
		name    string
		size    int
		written int
		ask     int
		want    []string
	}{
		{"empty", 3, 0, 0, nil},
		{"under capacity", 3, 2, 0, []string{"l0", "l1"}},
		{"exactly full", 3, 3, 0, []string{"l0", "l1", "l2"}},
		{"wrapped", 3, 5, 0, []string{"l2", "l3", "l4"}},
		{"ask fewer", 3, 5, 2, []string{"l3", "l4"}},
		{"ask more than kept", 3, 2, 10, []string{"l0", "l1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := New(tc.size, 100)
			for i := range tc.written {
				fmt.Fprintf(r, "l%d\n", i)
			}
			got := r.Lines(tc.ask)
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("Lines(%d) = %q, want %q", tc.ask, got, tc.want)
			}
		})
	}
}

func TestRingSplitsAndCapsLines(t *testing.T) {
	r := New(10, 8)
	r.Write([]byte("one\n\n  \ntwo\n"))
	r.Write([]byte("0123456789abc\n"))
	r.Write([]byte("ééééé\n")) // 10 bytes: the cut must not split a rune
	got := r.Lines(0)
	want := []string{"one", "two", "01234567…", "éééé…"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("lines %q, want %q", got, want)
	}
	for _, l := range got {
		if !utf8.ValidString(l) {
			t.Errorf("line %q is not valid UTF-8", l)
		}
	}
}

func TestTeeSendsToBoth(t *testing.T) {
	var out bytes.Buffer
	r := New(10, 0)
	log := slog.New(Tee(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}), r, slog.LevelInfo))
	log.Debug("only on stderr")
	log.With("component", "web").Info("extension added", "ext", "101")
	log.WithGroup("g").Warn("grouped", "k", 1)
	if !strings.Contains(out.String(), "only on stderr") || !strings.Contains(out.String(), "extension added") {
		t.Errorf("next handler missed records:\n%s", out.String())
	}
	lines := r.Lines(0)
	if len(lines) != 2 {
		t.Fatalf("ring holds %d lines, want 2 (debug filtered): %q", len(lines), lines)
	}
	if !strings.Contains(lines[0], "msg=\"extension added\"") || !strings.Contains(lines[0], "component=web") || !strings.Contains(lines[0], "ext=101") {
		t.Errorf("ring line %q lacks the message or its attributes", lines[0])
	}
	if !strings.Contains(lines[1], "g.k=1") {
		t.Errorf("ring line %q lacks the grouped attribute", lines[1])
	}
}

func BenchmarkTee(b *testing.B) {
	r := New(0, 0)
	log := slog.New(Tee(slog.DiscardHandler, r, slog.LevelInfo))
	b.ReportAllocs()
	for b.Loop() {
		log.Info("request refused", "method", "INVITE", "src", "192.0.2.1:5060")
	}
}
