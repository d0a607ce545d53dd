package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"hushbox/pbx/endpoint"
)

func TestPhoneLatencyReport(t *testing.T) {
	out, err := runCLI(t, "phone", "--latency-report")
	if err != nil {
		t.Fatal(err, out)
	}
	for _, want := range []string{"capture frame", "jitter buffer", "scrambler", "playback buffer", "total added"} {
		if !strings.Contains(out, want) {
			t.Errorf("latency report lacks %q:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`total added +60\.0 `).MatchString(out) {
		t.Errorf("default total is not 60 ms:\n%s", out)
	}
	out, err = runCLI(t, "phone", "--latency-report", "--jitter", "3")
	if err != nil || !regexp.MustCompile(`total added +100\.0 `).MatchString(out) {
		t.Errorf("with --jitter 3: %v\n%s", err, out)
	}
}

func TestPhoneUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"phone"},
		{"phone", "--server", "127.0.0.1:5060"},
		{"phone", "--server", "127.0.0.1:5060", "--user", "101", "--dial", "102", "--answer"},
	} {
		_, err := runCLI(t, args...)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
	if _, err := runCLI(t, "phone", "--server", "127.0.0.1:5060", "--user", "101", "--audio", "bogus:x", "--no-scramble"); err == nil {
		t.Error("unknown audio backend accepted")
	}
}

// TestPhoneConsole: typed commands drive the phone.
func TestPhoneConsole(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ca, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cb, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a, err := endpoint.New(endpoint.Config{Server: cb.LocalAddr().String(), User: "101", SIPConn: ca, NoRegister: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := endpoint.New(endpoint.Config{Server: ca.LocalAddr().String(), User: "102", SIPConn: cb, NoRegister: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	wait := func(e *endpoint.Endpoint, k endpoint.EventKind) {
		t.Helper()
		for {
			select {
			case ev := <-e.Events():
				if ev.Kind == k {
					return
				}
			case <-ctx.Done():
				t.Fatalf("no %v", k)
			}
		}
	}
	var errs bytes.Buffer
	phoneConsole(ctx, a, strings.NewReader("dial 102\nbogus\n"), &errs)
	wait(b, endpoint.EventIncoming)
	phoneConsole(ctx, b, strings.NewReader("\nanswer\n"), &errs)
	wait(a, endpoint.EventInCall)
	phoneConsole(ctx, b, strings.NewReader("h\n"), &errs)
	wait(a, endpoint.EventEnded)
	if !strings.Contains(errs.String(), "commands: answer") {
		t.Errorf("unknown command not explained: %q", errs.String())
	}
}
