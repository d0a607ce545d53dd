package handoff

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// SocketName is the unix socket in the data folder on which the daemon
// serves ControlHandler for `hushbox handoff`, guarded by the control
// socket's token like `hushbox peer`.
const SocketName = "handoff.sock"

// MoveCommand is the body of POST /api/handoff and of the CLI's request.
type MoveCommand struct {
	To string `json:"to"`
}

// ControlHandler serves the CLI: POST /handoff (MoveCommand → Result) and
// GET /handoff (Status). Requests need "Authorization: Bearer token".
func ControlHandler(b *Board, token string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /handoff", func(w http.ResponseWriter, r *http.Request) {
		var cmd MoveCommand
		if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&cmd); err != nil {
			writeJSON(w, http.StatusBadRequest, errorReply{"body: " + err.Error()})
			return
		}
		res, err := b.Move(r.Context(), cmd.To, TriggerCLI)
		if err != nil {
			writeJSON(w, StatusOf(err), errorReply{err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, res)
	})
	mux.HandleFunc("GET /handoff", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, b.Status())
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			writeJSON(w, http.StatusUnauthorized, errorReply{"control token required"})
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// StatusOf is the HTTP status for an error of Move.
func StatusOf(err error) int {
	switch {
	case errors.Is(err, ErrBadWhere):
		return http.StatusBadRequest
	case errors.Is(err, ErrNoCloud), errors.Is(err, ErrRunning), errors.Is(err, ErrIsCloud):
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

// ControlClient is `hushbox handoff`'s side of ControlHandler.
type ControlClient struct {
	hc    *http.Client
	token string
}

// DialControl connects to the daemon serving dataDir; tokenFile is the
// control token's file name in it.
func DialControl(dataDir, tokenFile string) (*ControlClient, error) {
	sock := filepath.Join(dataDir, SocketName)
	tok, err := os.ReadFile(filepath.Join(dataDir, tokenFile))
	if err != nil {
		return nil, fmt.Errorf("hushbox does not seem to run with data in %s: %w", dataDir, err)
	}
	c, err := net.Dial("unix", sock)
	if err != nil {
		return nil, fmt.Errorf("hushbox does not seem to run with data in %s (or has no peer link): %w", dataDir, err)
	}
	c.Close()
	return &ControlClient{token: strings.TrimSpace(string(tok)), hc: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}}, nil
}

func (c *ControlClient) do(ctx context.Context, method string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://hushbox/handoff", body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	res, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("handoff control: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		var e errorReply
		if json.NewDecoder(io.LimitReader(res.Body, 4096)).Decode(&e) != nil || e.Error == "" {
			e.Error = res.Status
		}
		return errors.New(e.Error)
	}
	return json.NewDecoder(io.LimitReader(res.Body, 4<<20)).Decode(out)
}

// Move asks the daemon to move calls to "cloud" or "board".
func (c *ControlClient) Move(ctx context.Context, to string) (Result, error) {
	var r Result
	err := c.do(ctx, http.MethodPost, MoveCommand{To: to}, &r)
	return r, err
}

// Status is the daemon's hand-off status.
func (c *ControlClient) Status(ctx context.Context) (Status, error) {
	var s Status
	err := c.do(ctx, http.MethodGet, nil, &s)
	return s, err
}
