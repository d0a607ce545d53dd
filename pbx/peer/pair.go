package peer

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"hushbox/pbx/tlscert"
)

// PairPath is the pairing endpoint on the web port.
const PairPath = "/peer/pair"

// DefaultWebPort is assumed when the address typed for pairing has none.
const DefaultWebPort = 8443

// ErrRefused is a pairing the other box refused (wrong or no code, too
// many attempts) or whose answer did not prove the code.
var ErrRefused = errors.New("peer: pairing refused")

// pairTimeout bounds one outgoing pairing (the other side stretches the
// code, which takes a moment on a small board).
const pairTimeout = 30 * time.Second

type pairError struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// PairHandler serves POST PairPath on the web port, without a session:
// the code is the credential. It is rate limited per source and overall,
// costs nothing while no code is on show, and burns the code on the first
// well-formed attempt whether it proves the code or not.
func (m *Manager) PairHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		src := r.RemoteAddr
		if h, _, err := net.SplitHostPort(src); err == nil {
			src = h
		}
		if !m.limit.allow(src) {
			w.Header().Set("Retry-After", "60")
			writeJSON(w, http.StatusTooManyRequests, pairError{"too many pairing attempts; wait a minute"})
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxMessage+1))
		if err != nil {
			writeJSON(w, http.StatusBadRequest, pairError{"unreadable request"})
			return
		}
		req, err := ParseMessage(body)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, pairError{err.Error()})
			return
		}
		iss, ok := m.codes.take()
		if !ok {
			m.log.Info("pairing attempt without a live code", "src", src)
			writeJSON(w, http.StatusForbidden, pairError{"no pairing code is on show on that box"})
			return
		}
		k, err := m.derive(r.Context(), iss.code, req.Nonce)
		if err != nil {
			writeJSON(w, http.StatusServiceUnavailable, pairError{"busy"})
			return
		}
		if !hmac.Equal(req.MAC, requestMAC(k, req.Hello, m.certFP)) {
			m.codes.failed(src)
			m.log.Warn("pairing refused: wrong code (the code is now void)", "src", src, "name", req.Name)
			writeJSON(w, http.StatusForbidden, pairError{"wrong pairing code; the code is now void, show a new one"})
			return
		}
		if req.Identity == m.cfg.Identity || subtle.ConstantTimeCompare([]byte(req.CertFP), []byte(m.certFP)) == 1 {
			writeJSON(w, http.StatusBadRequest, pairError{"a box cannot pair with itself"})
			return
		}
		want := iss.opts.Name
		if want == "" {
			want = req.Name
		}
		p := Peer{Name: m.list.freeName(want, req.Identity), Address: net.JoinHostPort(src, strconv.Itoa(req.PeerPort)),
			Identity: req.Identity, CertFP: req.CertFP, Role: req.Role, Created: m.now().UTC()}
		sipAddr := ""
		if req.SIPPort > 0 {
			sipAddr = net.JoinHostPort(src, strconv.Itoa(req.SIPPort))
		}
		nonce := make([]byte, nonceSize)
		if _, err := rand.Read(nonce); err != nil {
			writeJSON(w, http.StatusInternalServerError, pairError{"no randomness"})
			return
		}
		res := Message{Hello: m.hello(nonce)}
		res.MAC = responseMAC(k, req, m.certFP, res.Hello)
		if _, err := m.remember(r.Context(), p, iss.opts, sipAddr, false); err != nil {
			m.log.Error("pairing: store peer", "err", err)
			writeJSON(w, http.StatusInternalServerError, pairError{"the peer could not be stored"})
			return
		}
		writeJSON(w, http.StatusOK, res)
	})
}

// derive stretches the code, one at a time so a burst of attempts cannot
// take all the memory of a small board.
func (m *Manager) derive(ctx context.Context, c Code, nonce []byte) (macKeys, error) {
	select {
	case m.stretch <- struct{}{}:
	case <-ctx.Done():
		return macKeys{}, ctx.Err()
	}
	defer func() { <-m.stretch }()
	return deriveKeys(c, nonce)
}

// NormalizeAddr checks the web address typed for pairing ("host" or
// "host:port") and adds DefaultWebPort when there is no port.
func NormalizeAddr(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		host, port = addr, strconv.Itoa(DefaultWebPort)
		if len(addr) > 2 && addr[0] == '[' && addr[len(addr)-1] == ']' {
			host = addr[1 : len(addr)-1]
		}
	}
	p, perr := strconv.Atoi(port)
	if host == "" || !validHost(host) || perr != nil || p < 1 || p > 65535 {
		return "", fmt.Errorf("address %q: want host or host:port of the other box's web page", addr)
	}
	return net.JoinHostPort(host, port), nil
}

// validHost accepts DNS names and IP literals (IPv6 without brackets).
func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == ':') {
			return false
		}
	}
	return true
}

// Pair pairs this box with the one whose web page is at addr and shows
// code. On success both boxes hold each other's identity and pinned
// certificate (and the trunks asked for) and the new peer is returned.
func (m *Manager) Pair(ctx context.Context, addr, code string, o Options) (Peer, error) {
	c, err := ParseCode(code)
	if err != nil {
		return Peer{}, err
	}
	if addr, err = NormalizeAddr(addr); err != nil {
		return Peer{}, err
	}
	if err := m.validOptions(o); err != nil {
		return Peer{}, err
	}
	m.pairing.Lock()
	defer m.pairing.Unlock()
	ctx, cancel := context.WithTimeout(ctx, pairTimeout)
	defer cancel()

	// The TLS connection comes first: its certificate goes into the MAC.
	d := tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return Peer{}, fmt.Errorf("peer: connect %s: %w", addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	cs := conn.(*tls.Conn).ConnectionState()
	if len(cs.PeerCertificates) == 0 {
		return Peer{}, fmt.Errorf("peer: %s showed no certificate", addr)
	}
	serverFP := tlscert.Fingerprint(cs.PeerCertificates[0].Raw)

	nonce := make([]byte, nonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return Peer{}, fmt.Errorf("peer: nonce: %w", err)
	}
	k, err := m.derive(ctx, c, nonce)
	if err != nil {
		return Peer{}, err
	}
	req := Message{Hello: m.hello(nonce)}
	req.MAC = requestMAC(k, req.Hello, serverFP)
	body, err := json.Marshal(req)
	if err != nil {
		return Peer{}, fmt.Errorf("peer: encode request: %w", err)
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+addr+PairPath, bytes.NewReader(body))
	if err != nil {
		return Peer{}, fmt.Errorf("peer: request: %w", err)
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Close = true
	if err := hr.Write(conn); err != nil {
		return Peer{}, fmt.Errorf("peer: send to %s: %w", addr, err)
	}
	hres, err := http.ReadResponse(bufio.NewReader(conn), hr)
	if err != nil {
		return Peer{}, fmt.Errorf("peer: answer from %s: %w", addr, err)
	}
	defer hres.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(hres.Body, maxMessage+1))
	if err != nil {
		return Peer{}, fmt.Errorf("peer: answer from %s: %w", addr, err)
	}
	if hres.StatusCode != http.StatusOK {
		var pe pairError
		if json.Unmarshal(rb, &pe) != nil || pe.Error == "" {
			pe.Error = hres.Status
		}
		if len(pe.Error) > 200 {
			pe.Error = pe.Error[:200]
		}
		return Peer{}, fmt.Errorf("%w by %s: %s", ErrRefused, addr, pe.Error)
	}
	res, err := ParseMessage(rb)
	if err != nil {
		return Peer{}, fmt.Errorf("%w: answer from %s: %v", ErrRefused, addr, err)
	}
	// The responder must prove the code too, and be the box whose
	// certificate this connection showed.
	if !hmac.Equal(res.MAC, responseMAC(k, req, serverFP, res.Hello)) ||
		subtle.ConstantTimeCompare([]byte(res.CertFP), []byte(serverFP)) != 1 {
		m.log.Warn("pairing answer does not prove the code", "addr", addr)
		return Peer{}, fmt.Errorf("%w: %s did not prove the code", ErrRefused, addr)
	}
	if res.Identity == m.cfg.Identity {
		return Peer{}, fmt.Errorf("%w: that is this box", ErrRefused)
	}
	host, _, _ := net.SplitHostPort(addr)
	want := o.Name
	if want == "" {
		want = res.Name
	}
	p := Peer{Name: m.list.freeName(want, res.Identity), Address: net.JoinHostPort(host, strconv.Itoa(res.PeerPort)),
		Identity: res.Identity, CertFP: res.CertFP, Role: res.Role, Created: m.now().UTC()}
	sipAddr := ""
	if res.SIPPort > 0 {
		sipAddr = net.JoinHostPort(host, strconv.Itoa(res.SIPPort))
	}
	return m.remember(ctx, p, o, sipAddr, true)
}
