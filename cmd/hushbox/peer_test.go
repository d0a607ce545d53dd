package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"hushbox/pbx/daemon"
)

func TestPeerUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"peer"},
		{"peer", "frob"},
		{"peer", "pair", "192.0.2.1"},
		{"peer", "rm"},
		{"peer", "code", "extra"},
	} {
		_, err := runCLI(t, args...)
		var ue usageError
		if err == nil || !errors.As(err, &ue) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
	if out, err := runCLI(t, "peer", "list", "--data", t.TempDir()); err == nil || !strings.Contains(err.Error(), "does not seem to run") {
		t.Fatalf("peer list without a daemon: %v %s", err, out)
	}
}

// lockedBuffer is a daemon's Out, read while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// runBox runs a daemon with the web page and peering on 127.0.0.1 and
// returns its data folder and web address.
func runBox(t *testing.T, rtp string) (dir, web string) {
	t.Helper()
	dir, web, _ = startBox(t, rtp)
	return dir, web
}

// startBox is runBox that also returns what the daemon printed.
func startBox(t *testing.T, rtp string) (dir, web string, out *lockedBuffer) {
	t.Helper()
	dir, err := os.MkdirTemp("", "hbcli") // short: unix socket paths
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	out = &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- daemon.Run(ctx, daemon.Config{DataDir: dir, SIPAddr: "127.0.0.1:0", RTPPorts: rtp, Realm: "cli",
			MediaIP: "127.0.0.1", WebAddr: "127.0.0.1:0", PeerAddr: "127.0.0.1:0", Out: out,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("daemon did not stop")
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "hushbox: ready") {
		if time.Now().After(deadline) {
			t.Fatalf("daemon not ready:\n%s", out.String())
		}
		select {
		case err := <-done:
			t.Fatalf("daemon stopped: %v\n%s", err, out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	m := regexp.MustCompile(`web page on https://(\S+)/`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no web address:\n%s", out.String())
	}
	return dir, m[1], out
}

// `hushbox peer code` on one box, `hushbox peer pair` on the other: both
// list the peer.
func TestPeerPairCLI(t *testing.T) {
	a, aWeb := runBox(t, "41000-41019")
	b, _ := runBox(t, "41020-41039")
	out, err := runCLI(t, "peer", "code", "--name", "bee", "--data", a)
	if err != nil {
		t.Fatal(err, out)
	}
	m := regexp.MustCompile(`pairing code (\S+) `).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no code in %q", out)
	}
	if out, err := runCLI(t, "peer", "pair", aWeb, m[1], "--name", "ay", "--data", b); err != nil || !strings.Contains(out, "paired with ay") {
		t.Fatalf("peer pair: %v %s", err, out)
	}
	for dir, want := range map[string]string{a: "bee", b: "ay"} {
		out, err := runCLI(t, "peer", "list", "--data", dir)
		if err != nil || !regexp.MustCompile(`(?m)^`+want+`\s+board\s+127\.0\.0\.1:\d+`).MatchString(out) {
			t.Fatalf("peer list: %v\n%s", err, out)
		}
	}
	if out, err := runCLI(t, "peer", "rm", "ay", "--data", b); err != nil {
		t.Fatal(err, out)
	}
	if out, err := runCLI(t, "peer", "rm", "ay", "--data", b); err == nil {
		t.Fatalf("removing a peer twice: %s", out)
	}
}
