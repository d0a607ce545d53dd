package control

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"hushbox/pbx/accounts"
	"hushbox/pbx/backup"
	"hushbox/pbx/call"
	"hushbox/pbx/store"
)

// File names in the data folder.
const (
	SocketName = "hushbox.sock"
	TokenName  = "control.token"
)

// Live is what the running daemon adds to the store's view: registrations
// and what must happen when an extension disappears.
type Live interface {
	Registrations() []Registration
	RegistrationCount(ext string) int
	ExtensionRemoved(ext string)
	Calls() []call.Info
	Identity() string
	// TrunkStatus is a SIP trunk's registration state; TrunksChanged tells
	// the daemon to pick up added or removed trunks.
	TrunkStatus(name string) string
	TrunksChanged()
}

// Server serves the Admin API on a unix socket, for the CLI.
type Server struct {
	local *Local
	live  Live
	token string
	log   *slog.Logger
	srv   *http.Server
	ln    net.Listener
	path  string
}

// Listen creates the socket (0600) and a fresh token file (0600) in dir.
func Listen(dir string, local *Local, live Live, log *slog.Logger) (*Server, error) {
	path := filepath.Join(dir, SocketName)
	// A socket left by a crashed daemon blocks bind; a live daemon holds
	// the store lock, so reaching here means it is stale.
	_ = os.Remove(path)
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, fmt.Errorf("control token: %w", err)
	}
	token := hex.EncodeToString(raw[:])
	if err := os.WriteFile(filepath.Join(dir, TokenName), []byte(token+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write control token: %w", err)
	}
	old := umask(0o177)
	ln, err := net.Listen("unix", path)
	umask(old)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	s := &Server{local: local, live: live, token: token, log: log, ln: ln, path: path}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /extensions", s.listExtensions)
	mux.HandleFunc("POST /extensions", s.addExtension)
	mux.HandleFunc("DELETE /extensions/{num}", s.removeExtension)
	mux.HandleFunc("POST /extensions/{num}/password", s.setPassword)
	mux.HandleFunc("POST /extensions/{num}/policy", s.setPolicy)
	mux.HandleFunc("POST /extensions/{num}/name", s.setName)
	mux.HandleFunc("GET /cdrs", s.cdrs)
	mux.HandleFunc("GET /registrations", s.registrations)
	mux.HandleFunc("GET /calls", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, s.live.Calls()) })
	mux.HandleFunc("GET /identity", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"identity": s.live.Identity()})
	})
	mux.HandleFunc("POST /backup", s.backup)
	mux.HandleFunc("GET /trunks", s.trunks)
	mux.HandleFunc("POST /trunks", s.addTrunk)
	mux.HandleFunc("DELETE /trunks/{name}", s.removeTrunk)
	s.srv = &http.Server{Handler: s.auth(mux), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("control socket", "err", err)
		}
	}()
	return s, nil
}

// Close stops serving and removes the socket and token.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	os.Remove(s.path)
	os.Remove(filepath.Join(filepath.Dir(s.path), TokenName))
	return err
}

func (s *Server) auth(next http.Handler) http.Handler {
	want := []byte("Bearer " + s.token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			writeError(w, http.StatusUnauthorized, errors.New("bad control token"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

type apiError struct {
	Error string `json:"error"`
	Code  string `json:"code,omitempty"`
}

func writeError(w http.ResponseWriter, status int, err error) {
	code := ""
	switch {
	case errors.Is(err, store.ErrNotFound):
		status, code = http.StatusNotFound, "not_found"
	case errors.Is(err, store.ErrExists):
		status, code = http.StatusConflict, "exists"
	}
	writeJSON(w, status, apiError{Error: err.Error(), Code: code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

type extensionRequest struct {
	Number   string `json:"number"`
	Name     string `json:"name"`
	Password string `json:"password"`
}

// trunkRequest carries a new trunk and, for SIP trunks, its password,
// which only crosses the socket on the way in.
type trunkRequest struct {
	store.Trunk
	Password string `json:"password,omitempty"`
}

type passwordReply struct {
	Password string `json:"password"`
}

func (s *Server) listExtensions(w http.ResponseWriter, r *http.Request) {
	exts, err := s.local.Extensions(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	for i := range exts {
		exts[i].Registrations = s.live.RegistrationCount(exts[i].Number)
	}
	writeJSON(w, http.StatusOK, exts)
}

func (s *Server) addExtension(w http.ResponseWriter, r *http.Request) {
	var req extensionRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("bad request: %w", err))
		return
	}
	pw, err := s.local.AddExtension(r.Context(), req.Number, req.Name, req.Password)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	s.log.Info("extension added", "ext", req.Number, "via", "control socket")
	writeJSON(w, http.StatusCreated, passwordReply{Password: pw})
}

func (s *Server) removeExtension(w http.ResponseWriter, r *http.Request) {
	num := r.PathValue("num")
	if err := s.local.RemoveExtension(r.Context(), num); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	s.live.ExtensionRemoved(num)
	s.log.Info("extension removed", "ext", num, "via", "control socket")
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) setPassword(w http.ResponseWriter, r *http.Request) {
	var req extensionRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("bad request: %w", err))
		return
	}
	num := r.PathValue("num")
	pw, err := s.local.SetPassword(r.Context(), num, req.Password)
	if err != nil {
		if errors.Is(err, accounts.ErrWeakPassword) {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		writeError(w, http.StatusBadRequest, err)
		return
	}
	s.log.Info("extension password changed", "ext", num, "via", "control socket")
	writeJSON(w, http.StatusOK, passwordReply{Password: pw})
}

func (s *Server) cdrs(w http.ResponseWriter, r *http.Request) {
	q := store.CDRQuery{Number: r.URL.Query().Get("number")}
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, fmt.Errorf("bad limit %q", v))
			return
		}
		q.Limit = n
	}
	cdrs, err := s.local.CDRs(r.Context(), q)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	writeJSON(w, http.StatusOK, cdrs)
}

func (s *Server) registrations(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.live.Registrations())
}

func (s *Server) trunks(w http.ResponseWriter, r *http.Request) {
	ts, err := s.local.Trunks(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	for i := range ts {
		ts[i].Status = s.live.TrunkStatus(ts[i].Name)
	}
	writeJSON(w, http.StatusOK, ts)
}

func (s *Server) addTrunk(w http.ResponseWriter, r *http.Request) {
	var req trunkRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("bad request: %w", err))
		return
	}
	t := req.Trunk
	if err := s.local.AddTrunk(r.Context(), t, req.Password); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	s.live.TrunksChanged()
	s.log.Info("trunk added", "trunk", t.Name, "kind", t.Kind, "via", "control socket")
	w.WriteHeader(http.StatusCreated)
}

func (s *Server) removeTrunk(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := s.local.RemoveTrunk(r.Context(), name); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	s.live.TrunksChanged()
	s.log.Info("trunk removed", "trunk", name, "via", "control socket")
	w.WriteHeader(http.StatusNoContent)
}

type policyRequest struct {
	RequireSRTP bool `json:"require_srtp"`
}

func (s *Server) setPolicy(w http.ResponseWriter, r *http.Request) {
	var req policyRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("bad request: %w", err))
		return
	}
	num := r.PathValue("num")
	if err := s.local.SetRequireSRTP(r.Context(), num, req.RequireSRTP); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	s.log.Info("extension policy changed", "ext", num, "require_srtp", req.RequireSRTP, "via", "control socket")
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) setName(w http.ResponseWriter, r *http.Request) {
	var req extensionRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("bad request: %w", err))
		return
	}
	num := r.PathValue("num")
	if err := s.local.SetName(r.Context(), num, req.Name); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	s.log.Info("extension renamed", "ext", num, "via", "control socket")
	w.WriteHeader(http.StatusNoContent)
}

type backupRequest struct {
	Passphrase string `json:"passphrase"`
}

// backup streams an encrypted backup. A bad passphrase is refused before
// the first byte is written, so the client sees a clean error.
func (s *Server) backup(w http.ResponseWriter, r *http.Request) {
	var req backupRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("bad request: %w", err))
		return
	}
	if len(req.Passphrase) < backup.MinPassphrase {
		writeError(w, http.StatusBadRequest, backup.ErrWeakPassphrase)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	if err := s.local.Backup(r.Context(), w, req.Passphrase); err != nil {
		s.log.Error("backup failed", "err", err)
		return
	}
	s.log.Info("backup written", "via", "control socket")
}
