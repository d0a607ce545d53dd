package peer

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"hushbox/pbx/tlscert"
)

// HeartbeatPath is the heartbeat on the peer endpoint.
const HeartbeatPath = "/peer/heartbeat"

// Status is a peer with the state of the link to it.
type Status struct {
	Peer
	// LastSeen is the last heartbeat in either direction; RTT is the round
	// trip of the last one this box sent; LastError why the last one
	// failed ("" when it did not); Inbound the last one the peer sent.
	LastSeen  time.Time     `json:"last_seen"`
	RTT       time.Duration `json:"rtt"`
	LastError string        `json:"last_error,omitempty"`
	Inbound   time.Time     `json:"inbound"`
}

// RoundTrip is RTT for people: "" before the first answer, else rounded
// to what a LAN or WAN round trip needs (0.01 ms under a millisecond).
func (s Status) RoundTrip() string {
	switch {
	case s.RTT <= 0:
		return ""
	case s.RTT < time.Millisecond:
		return s.RTT.Round(10 * time.Microsecond).String()
	default:
		return s.RTT.Round(100 * time.Microsecond).String()
	}
}

// Beat is a heartbeat answer.
type Beat struct {
	Name     string    `json:"name"`
	Identity string    `json:"identity"`
	Time     time.Time `json:"time"`
}

// link is the client and state of one peer.
type link struct {
	peer     Peer
	client   *http.Client
	lastSeen time.Time
	rtt      time.Duration
	lastErr  string
	inbound  time.Time
}

// linkFor returns p's link, made anew when p's pinned certificate changed.
// The caller holds m.mu.
func (m *Manager) linkFor(p Peer) *link {
	l := m.links[p.Name]
	if l != nil && l.peer.CertFP == p.CertFP && l.peer.Address == p.Address {
		return l
	}
	if l != nil {
		l.client.CloseIdleConnections()
	}
	l = &link{peer: p, client: m.Client(p)}
	m.links[p.Name] = l
	return l
}

// Client is an HTTP client for peer p over mutual TLS: it presents this
// box's certificate and accepts only p's pinned one. Later peer traffic
// (replication, hand-off) uses it too.
//
// It speaks HTTP/2, so concurrent requests share one TLS connection. Over
// HTTP/1.1 every request beyond the idle connections at hand dialled a
// connection of its own: handing 20 calls back freed 20 cloud relays at
// once, 20 mutual-TLS handshakes, which held a board at 40 % of a core
// off its CPU for about 40 ms and its relayed media with it (on a Pi 2 a
// handshake costs far more). HTTP/2 pings an idle link (http2Ping) so a
// connection the network dropped silently is noticed and redialled
// instead of every request on it timing out.
func (m *Manager) Client(p Peer) *http.Client {
	tr := &http.Transport{
		TLSClientConfig:     ClientTLS(m.cfg.Certificate, p.CertFP),
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		TLSHandshakeTimeout: 5 * time.Second,
		ForceAttemptHTTP2:   true,
		HTTP2:               &http.HTTP2Config{SendPingTimeout: http2Ping, PingTimeout: http2Ping},
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     3 * m.cfg.HeartbeatEvery,
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// http2Ping is how long an HTTP/2 peer connection may stay silent before
// the client pings it, and how long the ping's answer may take before the
// connection is closed.
const http2Ping = 15 * time.Second

// Handler is the peer endpoint's HTTP side: GET HeartbeatPath. It expects
// to run behind ServerTLS (Serve does that) and checks the client
// certificate again, so a peer removed while connected is refused.
func (m *Manager) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+HeartbeatPath, func(w http.ResponseWriter, r *http.Request) {
		p, ok := m.peerOf(r)
		if !ok {
			writeJSON(w, http.StatusForbidden, pairError{"not a paired peer"})
			return
		}
		m.mu.Lock()
		l := m.linkFor(p)
		l.inbound, l.lastSeen = m.now(), m.now()
		m.mu.Unlock()
		writeJSON(w, http.StatusOK, Beat{Name: m.cfg.Name, Identity: m.cfg.Identity.String(), Time: m.now().UTC()})
	})
	mux.Handle("/", m.routes) // added with Route (routes.go)
	return mux
}

// peerOf is the paired peer whose certificate the request came with.
func (m *Manager) peerOf(r *http.Request) (Peer, bool) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return Peer{}, false
	}
	return m.list.byCert(tlscert.Fingerprint(r.TLS.PeerCertificates[0].Raw))
}

// ServerTLS is the peer endpoint's TLS configuration: this box's
// certificate, and a client certificate pinned by a paired peer required.
func (m *Manager) ServerTLS() *tls.Config {
	return ServerTLS(m.cfg.Certificate, func(fp string) bool { _, ok := m.list.byCert(fp); return ok })
}

// Serve serves the peer endpoint on ln (plain TCP: Serve adds mutual TLS)
// until ctx ends.
func (m *Manager) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           m.Handler(),
		TLSConfig:         m.ServerTLS(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       3 * m.cfg.HeartbeatEvery,
		MaxHeaderBytes:    16 << 10,
		// Failed handshakes (unpaired certificates, scanners) are debug noise.
		ErrorLog: slog.NewLogLogger(m.log.Handler(), slog.LevelDebug),
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if err := srv.Shutdown(sctx); err != nil {
				srv.Close()
			}
		case <-done:
		}
	}()
	err := srv.ServeTLS(ln, "", "")
	close(done)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("peer: serve: %w", err)
}

// Heartbeat greets peer name once over mutual TLS and records the
// outcome; it returns the round-trip time.
func (m *Manager) Heartbeat(ctx context.Context, name string) (time.Duration, error) {
	p, ok := m.list.byName(name)
	if !ok {
		return 0, fmt.Errorf("%w: %s", ErrNoPeer, name)
	}
	m.mu.Lock()
	l := m.linkFor(p)
	m.mu.Unlock()
	rtt, err := beat(ctx, l.client, p)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.links[name] != l {
		return rtt, err // removed or re-paired meanwhile
	}
	if err != nil {
		l.lastErr = err.Error()
		return 0, err
	}
	l.lastErr, l.rtt, l.lastSeen = "", rtt, m.now()
	return rtt, nil
}

func beat(ctx context.Context, c *http.Client, p Peer) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+p.Address+HeartbeatPath, nil)
	if err != nil {
		return 0, fmt.Errorf("heartbeat %s: %w", p.Name, err)
	}
	start := time.Now()
	res, err := c.Do(req)
	if err != nil {
		return 0, fmt.Errorf("heartbeat %s: %w", p.Name, err)
	}
	defer res.Body.Close()
	var b Beat
	err = json.NewDecoder(io.LimitReader(res.Body, 4096)).Decode(&b)
	rtt := time.Since(start)
	if res.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("heartbeat %s: %s", p.Name, res.Status)
	}
	if err != nil {
		return 0, fmt.Errorf("heartbeat %s: %w", p.Name, err)
	}
	if b.Identity != p.Identity.String() {
		return 0, fmt.Errorf("heartbeat %s: the peer answers with another identity", p.Name)
	}
	return rtt, nil
}

// Kick asks RunHeartbeats for a round now (after a pairing).
func (m *Manager) Kick() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// RunHeartbeats greets every peer every HeartbeatEvery until ctx ends.
func (m *Manager) RunHeartbeats(ctx context.Context) {
	t := time.NewTicker(m.cfg.HeartbeatEvery)
	defer t.Stop()
	for {
		var wg sync.WaitGroup
		for _, p := range m.list.all() {
			wg.Add(1)
			go func() {
				defer wg.Done()
				bctx, cancel := context.WithTimeout(ctx, min(m.cfg.HeartbeatEvery, 5*time.Second))
				defer cancel()
				if _, err := m.Heartbeat(bctx, p.Name); err != nil && ctx.Err() == nil {
					m.log.Debug("heartbeat failed", "peer", p.Name, "err", err)
				}
			}()
		}
		wg.Wait()
		select {
		case <-ctx.Done():
			m.mu.Lock()
			for _, l := range m.links {
				l.client.CloseIdleConnections()
			}
			m.mu.Unlock()
			return
		case <-t.C:
		case <-m.kick:
		}
	}
}
