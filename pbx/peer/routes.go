package peer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// PeerHandler serves a request a paired peer made over the peer link.
type PeerHandler func(w http.ResponseWriter, r *http.Request, from Peer)

// Route adds pattern (an http.ServeMux pattern such as
// "POST /peer/sip") to the peer endpoint: only paired peers reach it (the
// client certificate is checked again per request). Safe while serving.
func (m *Manager) Route(pattern string, h PeerHandler) {
	m.routes.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		p, ok := m.peerOf(r)
		if !ok {
			writeJSON(w, http.StatusForbidden, pairError{"not a paired peer"})
			return
		}
		h(w, r, p)
	})
}

// PeerWithRole is the first paired peer with role (RoleCloud, RoleBoard);
// when none says so and exactly one peer is paired, that one.
func (m *Manager) PeerWithRole(role string) (Peer, bool) {
	all := m.list.all()
	for _, p := range all {
		if p.Role == role {
			return p, true
		}
	}
	if len(all) == 1 {
		return all[0], true
	}
	return Peer{}, false
}

// MaxReply bounds a peer's answer to Request.
const MaxReply = 1 << 20

// Request sends a request to peer p over mutual TLS: in (nil, []byte sent
// as is, or a value sent as JSON) as the body; the answer's body is
// decoded into out when out is a *[]byte (raw) or another non-nil pointer
// (JSON). A status other than 2xx is an error carrying the answer's text.
func (m *Manager) Request(ctx context.Context, p Peer, method, path string, in, out any) error {
	var body io.Reader
	ctype := "application/json"
	switch v := in.(type) {
	case nil:
	case []byte:
		body, ctype = bytes.NewReader(v), "application/octet-stream"
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("peer %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "https://"+p.Address+path, body)
	if err != nil {
		return fmt.Errorf("peer %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", ctype)
	}
	m.mu.Lock()
	l := m.linkFor(p)
	m.mu.Unlock()
	res, err := l.client.Do(req)
	if err != nil {
		return fmt.Errorf("peer %s %s %s: %w", p.Name, method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, MaxReply))
	if err != nil {
		return fmt.Errorf("peer %s %s %s: %w", p.Name, method, path, err)
	}
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("peer %s %s %s: %s: %s", p.Name, method, path, res.Status, bytes.TrimSpace(b))
	}
	switch v := out.(type) {
	case nil:
	case *[]byte:
		*v = b
	default:
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("peer %s %s %s: answer: %w", p.Name, method, path, err)
		}
	}
	return nil
}
