package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"hushbox/pbx/call"
	"hushbox/pbx/store"
)

// Remote manages a running daemon through its control socket.
type Remote struct {
	hc    *http.Client
	token string
}

// Connect opens the Admin API of the daemon serving dir, or the store in
// dir when no daemon runs there. dbName is the store file's name.
func Connect(dir, dbName string) (Admin, error) {
	sock := filepath.Join(dir, SocketName)
	token, terr := os.ReadFile(filepath.Join(dir, TokenName))
	conn, err := net.Dial("unix", sock)
	if err == nil {
		conn.Close()
		if terr != nil {
			return nil, fmt.Errorf("hushbox runs but its control token is unreadable: %w", terr)
		}
		return &Remote{token: strings.TrimSpace(string(token)), hc: &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", sock)
			},
		}}}, nil
	}
	if !errors.Is(err, os.ErrNotExist) && !errors.Is(err, syscall.ECONNREFUSED) {
		return nil, fmt.Errorf("control socket %s: %w", sock, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	return OpenLocal(filepath.Join(dir, dbName))
}

func (r *Remote) do(ctx context.Context, method, path string, in, out any) error {
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
	req.Header.Set("Authorization", "Bearer "+r.token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := r.hc.Do(req)
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode >= 300 {
		var ae apiError
		_ = json.NewDecoder(io.LimitReader(res.Body, 1<<16)).Decode(&ae)
		switch ae.Code {
		case "not_found":
			return fmt.Errorf("%s: %w", ae.Error, store.ErrNotFound)
		case "exists":
			return fmt.Errorf("%s: %w", ae.Error, store.ErrExists)
		}
		if ae.Error == "" {
			ae.Error = res.Status
		}
		return errors.New(ae.Error)
	}
	if out != nil {
		return json.NewDecoder(res.Body).Decode(out)
	}
	return nil
}

func (r *Remote) AddExtension(ctx context.Context, number, name, password string) (string, error) {
	var out passwordReply
	err := r.do(ctx, "POST", "/extensions", extensionRequest{Number: number, Name: name, Password: password}, &out)
	return out.Password, err
}

func (r *Remote) Extensions(ctx context.Context) ([]ExtensionInfo, error) {
	var out []ExtensionInfo
	err := r.do(ctx, "GET", "/extensions", nil, &out)
	return out, err
}

func (r *Remote) SetRequireSRTP(ctx context.Context, number string, require bool) error {
	return r.do(ctx, "POST", "/extensions/"+url.PathEscape(number)+"/policy", policyRequest{RequireSRTP: require}, nil)
}

func (r *Remote) SetName(ctx context.Context, number, name string) error {
	return r.do(ctx, "POST", "/extensions/"+url.PathEscape(number)+"/name", extensionRequest{Name: name}, nil)
}

func (r *Remote) RemoveExtension(ctx context.Context, number string) error {
	return r.do(ctx, "DELETE", "/extensions/"+url.PathEscape(number), nil, nil)
}

func (r *Remote) SetPassword(ctx context.Context, number, password string) (string, error) {
	var out passwordReply
	err := r.do(ctx, "POST", "/extensions/"+url.PathEscape(number)+"/password", extensionRequest{Password: password}, &out)
	return out.Password, err
}

func (r *Remote) CDRs(ctx context.Context, q store.CDRQuery) ([]store.CDR, error) {
	v := url.Values{}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Number != "" {
		v.Set("number", q.Number)
	}
	var out []store.CDR
	err := r.do(ctx, "GET", "/cdrs?"+v.Encode(), nil, &out)
	return out, err
}

func (r *Remote) Registrations(ctx context.Context) ([]Registration, error) {
	var out []Registration
	err := r.do(ctx, "GET", "/registrations", nil, &out)
	return out, err
}

func (r *Remote) Calls(ctx context.Context) ([]call.Info, error) {
	var out []call.Info
	err := r.do(ctx, "GET", "/calls", nil, &out)
	return out, err
}

func (r *Remote) Identity(ctx context.Context) (string, error) {
	var out map[string]string
	err := r.do(ctx, "GET", "/identity", nil, &out)
	return out["identity"], err
}

func (r *Remote) AddTrunk(ctx context.Context, t store.Trunk, password string) error {
	return r.do(ctx, "POST", "/trunks", trunkRequest{Trunk: t, Password: password}, nil)
}

func (r *Remote) Trunks(ctx context.Context) ([]TrunkInfo, error) {
	var out []TrunkInfo
	err := r.do(ctx, "GET", "/trunks", nil, &out)
	return out, err
}

func (r *Remote) RemoveTrunk(ctx context.Context, name string) error {
	return r.do(ctx, "DELETE", "/trunks/"+url.PathEscape(name), nil, nil)
}

func (r *Remote) Backup(ctx context.Context, w io.Writer, passphrase string) error {
	b, err := json.Marshal(backupRequest{Passphrase: passphrase})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, "POST", "http://hushbox/backup", bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+r.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := r.hc.Do(req)
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		var ae apiError
		_ = json.NewDecoder(io.LimitReader(res.Body, 1<<16)).Decode(&ae)
		return fmt.Errorf("backup: %s", ae.Error)
	}
	if _, err := io.Copy(w, res.Body); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

func (r *Remote) Close() error { return nil }
