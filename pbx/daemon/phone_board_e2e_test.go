package daemon

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hushbox/pbx/accounts"
	"hushbox/pbx/endpoint"
	"hushbox/pbx/store"
)

// TestE2EBoardPhoneExtension100: `serve --phone null` creates extension
// 100 with a password nobody is shown, registers the board phone to the
// daemon itself, and a call to 100 rings there.
func TestE2EBoardPhoneExtension100(t *testing.T) {
	ctx := testCtx(t, 60*time.Second)
	dir, err := os.MkdirTemp("", "hbphone")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	db, err := store.Open(filepath.Join(dir, DBName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := accounts.Add(db, testRealm, "101", "Ext 101", testPasswords["101"]); err != nil {
		t.Fatal(err)
	}
	db.Close()
	logs := &syncBuffer{}
	sipAddr := fmt.Sprintf("127.0.0.1:%d", freeSIPPort(t))
	lo := freeRTPRange(t, 20)
	out, stop := runDaemon(t, Config{DataDir: dir, SIPAddr: sipAddr, RTPPorts: fmt.Sprintf("%d-%d", lo, lo+19),
		Realm: testRealm, MediaIP: "127.0.0.1", PhoneAudio: "null", MediaTimeout: 30 * time.Second, RingTimeout: 20 * time.Second,
		Log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	waitUntil(t, ctx, "the board phone registered as 100", func() bool {
		return strings.Contains(logs.String(), `msg="phone: registered"`)
	})

	ep, err := endpoint.New(endpoint.Config{Server: sipAddr, User: "101", Password: testPasswords["101"], Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = ep.Run(rctx); close(done) }()
	defer func() { cancel(); <-done }()
	next := func(k endpoint.EventKind) endpoint.Event {
		t.Helper()
		for {
			select {
			case ev := <-ep.Events():
				if ev.Kind == k {
					return ev
				}
				if ev.Kind == endpoint.EventEnded {
					t.Fatalf("call ended (%s) while waiting for %v", ev.Reason, k)
				}
			case <-ctx.Done():
				t.Fatalf("no %v", k)
			}
		}
	}
	next(endpoint.EventRegistered)
	if err := ep.Dial(ctx, "100"); err != nil {
		t.Fatal(err)
	}
	next(endpoint.EventRinging)
	waitUntil(t, ctx, "the board phone ringing", func() bool {
		return strings.Contains(logs.String(), `msg="phone: incoming call from 101"`)
	})
	ep.Hangup()
	next(endpoint.EventEnded)
	stop()

	// The password: in the store's secrets, never in the output or the log.
	db, err = store.Open(filepath.Join(dir, DBName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Extension("100"); err != nil {
		t.Fatalf("extension 100: %v", err)
	}
	secret, err := db.Secret(phoneSecretName, 18)
	if err != nil {
		t.Fatal(err)
	}
	pw := base64.RawURLEncoding.EncodeToString(secret)
	if strings.Contains(out.String(), pw) || strings.Contains(logs.String(), pw) {
		t.Error("the board phone's password was printed or logged")
	}
}
