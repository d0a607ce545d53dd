package web

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"hushbox/pbx/backup"
	"hushbox/pbx/store"
)

const backupPass = "a long backup passphrase"

// backupEnv is a ready env whose data folder (the store's) holds an
// identity.kek and extension 301, with restore enabled.
func backupEnv(t *testing.T) (*env, *http.Client, string, string) {
	t.Helper()
	e := newEnv(t)
	dir := filepath.Dir(e.db.Path())
	e.srv.cfg.DataDir = dir
	if err := os.WriteFile(filepath.Join(dir, "identity.kek"), []byte("the-kek"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := e.db.AddExtension(store.Extension{Number: "301", Name: "Backed up", Realm: "hushbox"}); err != nil {
		t.Fatal(err)
	}
	c, csrf := e.ready()
	return e, c, csrf, dir
}

// download posts the download form and returns the response.
func (e *env) download(c *http.Client, csrf, pass, confirm string) resp {
	e.t.Helper()
	return e.postForm(c, "/backup/download", url.Values{"csrf": {csrf}, "passphrase": {pass}, "confirm": {confirm}})
}

// upload posts the restore form as a browser does (csrf, passphrase, file).
func (e *env) upload(c *http.Client, csrf, pass string, file []byte) resp {
	e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if csrf != "" {
		mw.WriteField("csrf", csrf)
	}
	mw.WriteField("passphrase", pass)
	fw, err := mw.CreateFormFile("file", "hushbox-20300102.hbk")
	if err != nil {
		e.t.Fatal(err)
	}
	fw.Write(file)
	mw.Close()
	return e.do(c, "POST", "/backup/restore", &body, map[string]string{"Content-Type": mw.FormDataContentType()})
}

// dirState is the data folder's names and contents.
func dirState(t *testing.T, dir string) map[string]string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, en := range ents {
		b, err := os.ReadFile(filepath.Join(dir, en.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[en.Name()] = string(b)
	}
	return out
}

func TestBackupPageLinked(t *testing.T) {
	e, c, _, _ := backupEnv(t)
	r := e.get(c, "/")
	if !strings.Contains(r.body, `<a href="/backup"`) {
		t.Fatal("no Backup link in the navigation")
	}
	r = e.get(c, "/backup")
	for _, want := range []string{`action="/backup/download"`, `action="/backup/restore"`, `enctype="multipart/form-data"`, `name="confirm"`} {
		if r.StatusCode != http.StatusOK || !strings.Contains(r.body, want) {
			t.Fatalf("backup page (%d) lacks %s", r.StatusCode, want)
		}
	}
}

func TestBackupDownloadRestores(t *testing.T) {
	e, c, csrf, _ := backupEnv(t)
	r := e.download(c, csrf, backupPass, backupPass)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("download: %d %s", r.StatusCode, r.body)
	}
	want := `attachment; filename="hushbox-` + e.clock.Now().Format("20060102") + `.hbk"`
	if got := r.Header.Get("Content-Disposition"); got != want {
		t.Fatalf("Content-Disposition %q, want %q", got, want)
	}
	dst := filepath.Join(t.TempDir(), "restored.db")
	files, err := backup.RestoreFiles(strings.NewReader(r.body), backupPass, dst)
	if err != nil {
		t.Fatalf("restore the download: %v", err)
	}
	if string(files["identity.kek"]) != "the-kek" {
		t.Fatalf("backup carries identity.kek %q", files["identity.kek"])
	}
	db, err := store.Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Extension("301"); err != nil {
		t.Fatalf("restored store lacks extension 301: %v", err)
	}
	if !strings.Contains(e.logs.String(), "backup downloaded") {
		t.Error("download not logged")
	}
	if strings.Contains(e.logs.String(), backupPass) {
		t.Error("the passphrase is in the log")
	}
}

func TestBackupDownloadFormErrors(t *testing.T) {
	e, c, csrf, _ := backupEnv(t)
	for _, tc := range []struct {
		name, pass, confirm, field, msg string
	}{
		{"mismatch", backupPass, backupPass + "x", "confirm-err", "does not match the passphrase"},
		{"short", "too short", "too short", "passphrase-err", "at least 12 characters"},
		{"empty", "", "", "passphrase-err", "at least 12 characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.download(c, csrf, tc.pass, tc.confirm)
			if r.StatusCode != http.StatusBadRequest || r.Header.Get("Content-Disposition") != "" {
				t.Fatalf("download: %d %q, want 400 and no file", r.StatusCode, r.Header.Get("Content-Disposition"))
			}
			if !strings.Contains(r.body, `id="`+tc.field+`">`+tc.msg) {
				t.Fatalf("no %q next to %s in the page", tc.msg, tc.field)
			}
			if tc.pass != "" && strings.Contains(r.body, tc.pass) {
				t.Fatal("the passphrase is echoed in the page")
			}
		})
	}
}

func TestRestoreStaged(t *testing.T) {
	e, c, csrf, dir := backupEnv(t)
	file := []byte(e.download(c, csrf, backupPass, backupPass).body)
	r := e.upload(c, csrf, backupPass, file)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/backup" {
		t.Fatalf("restore: %d %q %s", r.StatusCode, r.Header.Get("Location"), r.body)
	}
	if page := e.get(c, "/backup"); !strings.Contains(page.body, "restore staged: it is applied when hushbox restarts") {
		t.Fatal("no staged message after the restore")
	}
	if !backup.Pending(dir) {
		t.Fatal("nothing staged")
	}
	if !strings.Contains(e.logs.String(), "restore staged") || strings.Contains(e.logs.String(), backupPass) {
		t.Fatal("restore not logged, or the passphrase logged")
	}
}

func TestRestoreRefused(t *testing.T) {
	e, c, csrf, dir := backupEnv(t)
	file := []byte(e.download(c, csrf, backupPass, backupPass).body)
	tampered := bytes.Clone(file)
	tampered[len(tampered)-10] ^= 0x40
	before := dirState(t, dir)
	for _, tc := range []struct {
		name, pass string
		file       []byte
		field, msg string
	}{
		{"tampered", backupPass, tampered, "file-err", "the file is damaged, truncated or was altered"},
		{"truncated", backupPass, file[:len(file)/2], "file-err", "the file is damaged, truncated or was altered"},
		{"wrong passphrase", backupPass + "!", file, "restore_passphrase-err", "wrong passphrase"},
		{"not a backup", backupPass, []byte("PK\x03\x04 some zip file that is not a backup at all"), "file-err", "this is not a hushbox backup file"},
		{"no passphrase", "", file, "restore_passphrase-err", "enter the passphrase"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.upload(c, csrf, tc.pass, tc.file)
			if r.StatusCode != http.StatusBadRequest {
				t.Fatalf("restore: %d, want 400", r.StatusCode)
			}
			if !strings.Contains(r.body, `id="`+tc.field+`">`+tc.msg) {
				t.Fatalf("no %q at %s in the page:\n%s", tc.msg, tc.field, r.body)
			}
			if backup.Pending(dir) {
				t.Fatal("a refused restore was staged")
			}
			after := dirState(t, dir)
			if !slices.Equal(sortedKeys(after), sortedKeys(before)) || after["identity.kek"] != before["identity.kek"] {
				t.Fatalf("data folder changed: %v", sortedKeys(after))
			}
		})
	}
}

func sortedKeys(m map[string]string) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	slices.Sort(k)
	return k
}

func TestBackupPostsNeedCSRF(t *testing.T) {
	e, c, csrf, dir := backupEnv(t)
	file := []byte(e.download(c, csrf, backupPass, backupPass).body)
	for _, tok := range []string{"", "wrong-token"} {
		if r := e.download(c, tok, backupPass, backupPass); r.StatusCode != http.StatusForbidden || r.Header.Get("Content-Disposition") != "" {
			t.Fatalf("download with CSRF %q: %d, want 403 and no file", tok, r.StatusCode)
		}
		if r := e.upload(c, tok, backupPass, file); r.StatusCode != http.StatusForbidden {
			t.Fatalf("restore with CSRF %q: %d, want 403", tok, r.StatusCode)
		}
		if r := e.postForm(c, "/backup/discard", url.Values{"csrf": {tok}}); r.StatusCode != http.StatusForbidden {
			t.Fatalf("discard with CSRF %q: %d, want 403", tok, r.StatusCode)
		}
	}
	if backup.Pending(dir) {
		t.Fatal("a restore without CSRF token was staged")
	}
	// Without a session at all.
	anon := newClient(t, e.ts)
	if r := e.upload(anon, csrf, backupPass, file); r.StatusCode != http.StatusForbidden || backup.Pending(dir) {
		t.Fatalf("restore without a session: %d", r.StatusCode)
	}
}

func TestRestoreDiscard(t *testing.T) {
	e, c, csrf, dir := backupEnv(t)
	file := []byte(e.download(c, csrf, backupPass, backupPass).body)
	if r := e.upload(c, csrf, backupPass, file); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("restore: %d", r.StatusCode)
	}
	if r := e.postForm(c, "/backup/discard", url.Values{"csrf": {csrf}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("discard: %d", r.StatusCode)
	}
	if backup.Pending(dir) {
		t.Fatal("still staged after discard")
	}
}

func TestRestoreTooLarge(t *testing.T) {
	e, c, csrf, dir := backupEnv(t)
	r := e.upload(c, csrf, backupPass, make([]byte, maxUpload+1))
	if r.StatusCode != http.StatusRequestEntityTooLarge || backup.Pending(dir) {
		t.Fatalf("oversized restore: %d", r.StatusCode)
	}
}
