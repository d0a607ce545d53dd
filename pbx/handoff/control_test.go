package handoff

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hushbox/pbx/call"
)

func TestControlSocket(t *testing.T) {
	dir, err := os.MkdirTemp("", "hbho") // short: unix socket paths are bounded
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.WriteFile(filepath.Join(dir, "control.token"), []byte("secret-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	calls := &fakeCalls{legs: []call.LegRef{leg("c1", "a", "203.0.113.9:5060")}}
	cl := &fakeCloud{live: map[string]RelayRequest{}}
	b := newTestBoard(calls, cl, nil)
	ln, err := net.Listen("unix", filepath.Join(dir, SocketName))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: ControlHandler(b, "secret-token")}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	c, err := DialControl(dir, "control.token")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, err := c.Move(ctx, "cloud")
	if err != nil || res.Moved != 1 {
		t.Fatalf("move: %+v %v", res, err)
	}
	st, err := c.Status(ctx)
	if err != nil || st.Where != ToCloud || st.OnCloud != 1 || len(st.Log) != 1 || st.Log[0].Trigger != TriggerCLI {
		t.Fatalf("status: %+v %v", st, err)
	}
	if _, err := c.Move(ctx, "mars"); err == nil || !strings.Contains(err.Error(), `"cloud" or "board"`) {
		t.Fatalf("bad target: %v", err)
	}
	// A wrong token is refused.
	c.token = "wrong"
	if _, err := c.Status(ctx); err == nil || !strings.Contains(err.Error(), "token") {
		t.Fatalf("wrong token: %v", err)
	}
}
