package peer

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
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"hushbox/pbx/store"
)

// SocketName is the unix socket in the data folder on which the daemon
// serves ControlHandler for `hushbox peer`. It is guarded by the control
// socket's token (the daemon's control.token file).
const SocketName = "peer.sock"

// CodeReply is a code just issued.
type CodeReply struct {
	Code    string    `json:"code"`
	Expires time.Time `json:"expires"`
}

// PairCommand asks the daemon to pair with the box at Address.
type PairCommand struct {
	Address string `json:"address"`
	Code    string `json:"code"`
	Name    string `json:"name"`
	Trunk   bool   `json:"trunk"`
	Prefix  string `json:"prefix"`
}

// CodeCommand asks for a code.
type CodeCommand struct {
	Name   string `json:"name"`
	Trunk  bool   `json:"trunk"`
	Prefix string `json:"prefix"`
}

// ControlHandler is the management API `hushbox peer` uses: POST /code,
// POST /pair, GET /peers, DELETE /peers/{name}. Every request carries
// "Authorization: Bearer token".
func (m *Manager) ControlHandler(token string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /code", func(w http.ResponseWriter, r *http.Request) {
		var c CodeCommand
		if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&c); err != nil {
			writeJSON(w, http.StatusBadRequest, pairError{"bad request"})
			return
		}
		code, exp, err := m.IssueCode(Options{Name: c.Name, Trunk: c.Trunk, Prefix: c.Prefix})
		if err != nil {
			writeJSON(w, statusOf(err), pairError{err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, CodeReply{Code: code.String(), Expires: exp})
	})
	mux.HandleFunc("POST /pair", func(w http.ResponseWriter, r *http.Request) {
		var c PairCommand
		if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&c); err != nil {
			writeJSON(w, http.StatusBadRequest, pairError{"bad request"})
			return
		}
		p, err := m.Pair(r.Context(), c.Address, c.Code, Options{Name: c.Name, Trunk: c.Trunk, Prefix: c.Prefix})
		if err != nil {
			writeJSON(w, statusOf(err), pairError{err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, p)
	})
	mux.HandleFunc("GET /peers", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, m.Peers()) })
	mux.HandleFunc("DELETE /peers/{name}", func(w http.ResponseWriter, r *http.Request) {
		if err := m.RemovePeer(r.Context(), r.PathValue("name")); err != nil {
			writeJSON(w, statusOf(err), pairError{err.Error()})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token == "" || subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			writeJSON(w, http.StatusUnauthorized, pairError{"bad control token"})
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func statusOf(err error) int {
	switch {
	case errors.Is(err, ErrNoPeer), errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, store.ErrExists):
		return http.StatusConflict
	case errors.Is(err, ErrRefused):
		return http.StatusForbidden
	case errors.Is(err, ErrBadCode), errors.Is(err, store.ErrInvalid):
		return http.StatusBadRequest
	}
	return http.StatusBadGateway
}

// ControlClient talks to a running daemon's ControlHandler.
type ControlClient struct {
	hc    *http.Client
	token string
}

// DialControl connects to the daemon serving dataDir; tokenFile is the
// control socket's token file in it.
func DialControl(dataDir, tokenFile string) (*ControlClient, error) {
	sock := filepath.Join(dataDir, SocketName)
	tok, err := os.ReadFile(filepath.Join(dataDir, tokenFile))
	if err != nil {
		return nil, fmt.Errorf("hushbox does not seem to run with data in %s (peers need the running daemon): %w", dataDir, err)
	}
	c, err := net.Dial("unix", sock)
	if err != nil {
		return nil, fmt.Errorf("hushbox does not seem to run with data in %s (peers need the running daemon): %w", dataDir, err)
	}
	c.Close()
	return &ControlClient{token: strings.TrimSpace(string(tok)), hc: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}}, nil
}

func (c *ControlClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://hushbox"+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	res, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("peer control: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		var pe pairError
		if json.NewDecoder(io.LimitReader(res.Body, 4096)).Decode(&pe) != nil || pe.Error == "" {
			pe.Error = res.Status
		}
		return errors.New(pe.Error)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(res.Body).Decode(out)
}

// Code asks for a new pairing code.
func (c *ControlClient) Code(ctx context.Context, cmd CodeCommand) (CodeReply, error) {
	var r CodeReply
	return r, c.do(ctx, http.MethodPost, "/code", cmd, &r)
}

// Pair pairs with another box.
func (c *ControlClient) Pair(ctx context.Context, cmd PairCommand) (Peer, error) {
	var p Peer
	return p, c.do(ctx, http.MethodPost, "/pair", cmd, &p)
}

// Peers lists the peers with their link state.
func (c *ControlClient) Peers(ctx context.Context) ([]Status, error) {
	var s []Status
	return s, c.do(ctx, http.MethodGet, "/peers", nil, &s)
}

// Remove forgets a peer.
func (c *ControlClient) Remove(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/peers/"+url.PathEscape(name), nil, nil)
}
