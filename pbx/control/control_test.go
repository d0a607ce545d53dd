package control

import (
	"bytes"

	"hushbox/pbx/backup"
	"strings"

	"context"
	"errors"
	"hushbox/crypto/keys"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"hushbox/pbx/call"
	"hushbox/pbx/store"
)

type fakeLive struct{ removed []string }

func (f *fakeLive) Registrations() []Registration {
	return []Registration{{Extension: "101", Contact: "sip:101@127.0.0.1:5070", Expires: time.Now().Add(time.Minute)}}
}
func (f *fakeLive) RegistrationCount(ext string) int {
	if ext == "101" {
		return 1
	}
	return 0
}
func (f *fakeLive) ExtensionRemoved(ext string) { f.removed = append(f.removed, ext) }
func (f *fakeLive) Calls() []call.Info {
	return []call.Info{{CallID: "c1", From: "101", To: "201", SAS: "ab3x"}}
}
func (f *fakeLive) Identity() string          { return "hbx1:test" }
func (f *fakeLive) TrunkStatus(string) string { return "" }
func (f *fakeLive) TrunksChanged()            {}

const dbName = "test.db"

// exercise runs the same management story against any Admin.
func exercise(t *testing.T, a Admin, live bool) {
	ctx := context.Background()
	pw, err := a.AddExtension(ctx, "101", "Alice", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(pw) < 20 {
		t.Fatalf("generated password %q too short", pw)
	}
	if _, err := a.AddExtension(ctx, "101", "Again", ""); !errors.Is(err, store.ErrExists) {
		t.Fatalf("duplicate: %v, want ErrExists", err)
	}
	if _, err := a.AddExtension(ctx, "x1", "", ""); err == nil {
		t.Fatal("bad number accepted")
	}
	if set, err := a.AddExtension(ctx, "102", "Bob", "chosen-password"); err != nil || set != "chosen-password" {
		t.Fatalf("add with password: %q %v", set, err)
	}
	exts, err := a.Extensions(ctx)
	if err != nil || len(exts) != 2 || exts[0].Number != "101" || exts[0].Name != "Alice" || exts[0].Realm != DefaultRealm {
		t.Fatalf("list: %+v %v", exts, err)
	}
	if live && exts[0].Registrations != 1 {
		t.Fatalf("registrations of 101: %d", exts[0].Registrations)
	}
	if err := a.SetRequireSRTP(ctx, "101", true); err != nil {
		t.Fatal(err)
	}
	if exts, _ := a.Extensions(ctx); !exts[0].RequireSRTP || exts[1].RequireSRTP {
		t.Fatalf("policy not stored: %+v", exts)
	}
	if err := a.SetRequireSRTP(ctx, "999", true); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("policy of a missing extension: %v", err)
	}
	if err := a.SetName(ctx, "101", "Alice Desk"); err != nil {
		t.Fatal(err)
	}
	if exts, _ := a.Extensions(ctx); exts[0].Name != "Alice Desk" {
		t.Fatalf("name not stored: %+v", exts[0])
	}
	if err := a.SetName(ctx, "101", "bad\tname"); err == nil {
		t.Fatal("unprintable name accepted")
	}
	if err := a.SetName(ctx, "999", "Nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rename of a missing extension: %v", err)
	}
	if _, err := a.SetPassword(ctx, "102", "tiny"); err == nil {
		t.Fatal("weak password accepted")
	}
	if pw2, err := a.SetPassword(ctx, "102", ""); err != nil || len(pw2) != 20 {
		t.Fatalf("passwd: %q %v", pw2, err)
	}
	if err := a.RemoveExtension(ctx, "102"); err != nil {
		t.Fatal(err)
	}
	if err := a.RemoveExtension(ctx, "102"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second remove: %v, want ErrNotFound", err)
	}
	if cdrs, err := a.CDRs(ctx, store.CDRQuery{Limit: 5}); err != nil || len(cdrs) != 0 {
		t.Fatalf("cdrs: %v %v", cdrs, err)
	}
	peer, err := keys.NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	tr := store.Trunk{Name: "office-b", Kind: store.TrunkHushbox, Address: "127.0.0.1:5061", Transport: "tls", Prefix: "2", PeerKey: peer.Public().String()}
	if err := a.AddTrunk(ctx, tr, ""); err != nil {
		t.Fatal(err)
	}
	bad := tr
	bad.Name, bad.PeerKey = "bad", "hbx1:nonsense"
	if err := a.AddTrunk(ctx, bad, ""); err == nil {
		t.Fatal("trunk with a bad key accepted")
	}
	if ts, err := a.Trunks(ctx); err != nil || len(ts) != 1 || ts[0].PeerKey != tr.PeerKey {
		t.Fatalf("trunks: %+v %v", ts, err)
	}
	if err := a.RemoveTrunk(ctx, "office-b"); err != nil {
		t.Fatal(err)
	}
	if id, err := a.Identity(ctx); err != nil || !strings.HasPrefix(id, "hbx1:") {
		t.Fatalf("identity: %q %v", id, err)
	}
	calls, err := a.Calls(ctx)
	if live && (err != nil || len(calls) != 1 || calls[0].SAS != "ab3x") {
		t.Fatalf("calls: %+v %v", calls, err)
	}
	var bk bytes.Buffer
	if err := a.Backup(ctx, &bk, "short"); err == nil {
		t.Fatal("backup with a weak passphrase")
	}
	bk.Reset()
	if err := a.Backup(ctx, &bk, "a passphrase long enough"); err != nil {
		t.Fatal(err)
	}
	if _, err := backup.RestoreFiles(bytes.NewReader(bk.Bytes()), "a passphrase long enough", filepath.Join(t.TempDir(), "r.db")); err != nil {
		t.Fatalf("backup does not restore: %v", err)
	}
	regs, err := a.Registrations(ctx)
	if live && (err != nil || len(regs) != 1) {
		t.Fatalf("registrations: %v %v", regs, err)
	}
	if !live && err == nil {
		t.Fatal("registrations without a daemon should say it is not running")
	}
}

func TestLocalWhenNoDaemon(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	a, err := Connect(dir, dbName)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := a.(*Local); !ok {
		t.Fatalf("got %T, want the store opened directly", a)
	}
	exercise(t, a, false)
	a.Close()
}

func TestRemoteThroughSocket(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, dbName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	live := &fakeLive{}
	srv, err := Listen(dir, NewLocal(db), live, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, name := range []string{SocketName, TokenName} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			t.Fatalf("%s is reachable by others: %v", name, st.Mode())
		}
	}
	a, err := Connect(dir, dbName)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := a.(*Remote); !ok {
		t.Fatalf("got %T, want the daemon's socket", a)
	}
	exercise(t, a, true)
	if len(live.removed) != 1 || live.removed[0] != "102" {
		t.Fatalf("daemon not told of removal: %v", live.removed)
	}
}

func TestSocketRefusesWithoutToken(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, dbName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	srv, err := Listen(dir, NewLocal(db), &fakeLive{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return net.Dial("unix", filepath.Join(dir, SocketName))
	}}}
	for _, tok := range []string{"", "Bearer wrong"} {
		req, _ := http.NewRequest("GET", "http://x/extensions", nil)
		if tok != "" {
			req.Header.Set("Authorization", tok)
		}
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("token %q: status %d", tok, res.StatusCode)
		}
	}
}
