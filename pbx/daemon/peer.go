package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"hushbox/crypto/keys"
	"hushbox/pbx/control"
	"hushbox/pbx/peer"
	"hushbox/pbx/store"
)

// peering is the running peer side of the daemon: the manager, its
// mutual-TLS listener and the CLI's peer socket.
type peering struct {
	m      *peer.Manager
	ln     net.Listener
	sock   net.Listener
	sockSv *http.Server
	path   string
}

// startPeering listens on cfg.PeerAddr with mutual TLS (cert is the web
// page's certificate, which pairing pins), starts the heartbeats and the
// `hushbox peer` socket, all until ctx ends. trunks makes the hushbox
// trunks pairing asks for.
func startPeering(ctx context.Context, cfg Config, db *store.DB, id keys.PublicKey, cert tls.Certificate, sipTLSPort int,
	trunks peer.Trunks, wg *sync.WaitGroup, log *slog.Logger) (*peering, error) {
	addr, err := peerListenAddr(cfg.PeerAddr, cfg.WebAddr)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("peer %s: %w", addr, err)
	}
	name, _ := os.Hostname()
	m, err := peer.New(peer.Config{Store: db, Identity: id, Name: name, Role: peerRole(cfg.Role), Certificate: cert,
		PeerPort: ln.Addr().(*net.TCPAddr).Port, SIPPort: sipTLSPort, Trunks: trunks, Log: log,
		HeartbeatEvery: peerHeartbeat})
	if err != nil {
		ln.Close()
		return nil, err
	}
	p := &peering{m: m, ln: ln, path: filepath.Join(cfg.DataDir, peer.SocketName)}
	token, err := os.ReadFile(filepath.Join(cfg.DataDir, control.TokenName))
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("peer socket: control token: %w", err)
	}
	_ = os.Remove(p.path) // left by a crashed daemon; the store lock says none runs
	if p.sock, err = net.Listen("unix", p.path); err != nil {
		ln.Close()
		return nil, fmt.Errorf("peer socket: %w", err)
	}
	if err := os.Chmod(p.path, 0o600); err != nil {
		ln.Close()
		p.sock.Close()
		return nil, fmt.Errorf("peer socket: %w", err)
	}
	p.sockSv = &http.Server{Handler: m.ControlHandler(strings.TrimSpace(string(token))), ReadHeaderTimeout: 5 * time.Second}
	wg.Add(3)
	go func() {
		<-ctx.Done()
		p.close()
	}()
	go func() {
		defer wg.Done()
		if err := m.Serve(ctx, ln); err != nil && ctx.Err() == nil {
			log.Error("peer endpoint stopped", "err", err)
		}
	}()
	go func() {
		defer wg.Done()
		m.RunHeartbeats(ctx)
	}()
	go func() {
		defer wg.Done()
		if err := p.sockSv.Serve(p.sock); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("peer socket stopped", "err", err)
		}
	}()
	return p, nil
}

// PeerAuto as Config.PeerAddr puts the peer endpoint next to the web page.
const PeerAuto = "auto"

// peerListenAddr resolves PeerAuto: the web page's host, its port + 1, or
// port 0 (any) when the web page's is 0, as in tests.
func peerListenAddr(peerAddr, webAddr string) (string, error) {
	if peerAddr != PeerAuto {
		return peerAddr, nil
	}
	host, port, err := net.SplitHostPort(webAddr)
	if err != nil {
		return "", fmt.Errorf("peer address auto: web address %q: %w", webAddr, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p >= 65535 {
		return "", fmt.Errorf("peer address auto: web port %q: give --peer HOST:PORT", port)
	}
	if p > 0 {
		p++
	}
	return net.JoinHostPort(host, strconv.Itoa(p)), nil
}

// peerHeartbeat is how often the daemon greets each peer.
var peerHeartbeat = peer.DefaultHeartbeat

// close stops the CLI socket; Serve and the heartbeats stop with ctx.
func (p *peering) close() {
	if p == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = p.sockSv.Shutdown(ctx)
	os.Remove(p.path)
}

// port is where the peer endpoint listens.
func (p *peering) port() int { return p.ln.Addr().(*net.TCPAddr).Port }

// peerAdmin is the web page's Admin with the peer manager beside it: the
// web page finds the Peers page's needs (web.Peers) on it.
type peerAdmin struct {
	control.Admin
	*peer.Manager
}

// peerRole is the role this box announces when pairing.
func peerRole(r Role) string {
	if r.Cloud() {
		return peer.RoleCloud
	}
	return peer.RoleBoard
}
