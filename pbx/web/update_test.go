package web

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hushbox/pbx/update"
)

// updateEnv is a ready env whose Updater is a real update.Installer on a
// temporary boot folder (slot a running and good, both slots "v1").
func updateEnv(t *testing.T) (*env, *http.Client, string, string, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, body := range map[string]string{"initrd-a.img": "v1", "initrd-b.img": "v1",
		update.EnvFile: "slot=a\ntry=\ntries=0\nhb_board=rpi2\nhb_ver_a=v1\nhb_ver_b=v1\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e := newEnv(t)
	e.srv.cfg.Updater = update.WebUpdater{In: &update.Installer{Dir: dir, Key: pub, Board: "rpi2", Booted: "a"}, Running: "v1"}
	c, csrf := e.ready()
	return e, c, csrf, dir, priv
}

func bundleOf(t *testing.T, key ed25519.PrivateKey, version, board, payload string) []byte {
	t.Helper()
	var b bytes.Buffer
	if _, err := update.Sign(&b, version, []string{board}, []byte(payload), key); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// uploadBundle posts the update form as a browser does.
func (e *env) uploadBundle(c *http.Client, csrf string, file []byte) resp {
	e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if csrf != "" {
		mw.WriteField("csrf", csrf)
	}
	fw, err := mw.CreateFormFile("bundle", "hushbox-rpi2-v2.hbup")
	if err != nil {
		e.t.Fatal(err)
	}
	fw.Write(file)
	mw.Close()
	return e.do(c, "POST", updatePath, &body, map[string]string{"Content-Type": mw.FormDataContentType()})
}

func TestUpdatePageShowsSlots(t *testing.T) {
	e, c, _, _, _ := updateEnv(t)
	r := e.get(c, "/")
	if !strings.Contains(r.body, `href="/update"`) {
		t.Error("the nav has no link to /update")
	}
	r = e.get(c, "/update")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("GET /update: %d", r.StatusCode)
	}
	for _, want := range []string{"slot a: hushbox v1 (running)", "slot b: hushbox v1", `action="/update/install"`, `enctype="multipart/form-data"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("update page lacks %q", want)
		}
	}
}

func TestUpdatePageWithoutUpdater(t *testing.T) {
	e := newEnv(t)
	c, csrf := e.ready()
	if r := e.get(c, "/update"); !strings.Contains(r.body, "not available here") || strings.Contains(r.body, `type="file"`) {
		t.Errorf("page without an Updater: %d\n%s", r.StatusCode, r.body)
	}
	if r := e.uploadBundle(c, csrf, []byte("x")); r.StatusCode != http.StatusNotFound {
		t.Errorf("upload without an Updater: %d", r.StatusCode)
	}
}

func TestUpdateInstall(t *testing.T) {
	e, c, csrf, dir, priv := updateEnv(t)
	r := e.uploadBundle(c, csrf, bundleOf(t, priv, "v2", "rpi2", "firmware v2"))
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/update" {
		t.Fatalf("install: %d %s\n%s", r.StatusCode, r.Header.Get("Location"), r.body)
	}
	page := e.get(c, "/update")
	for _, want := range []string{"Firmware v2 installed", "slot b: hushbox v2, test boot at the next reboot"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("after install the page lacks %q", want)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "initrd-b.img")); string(b) != "firmware v2" {
		t.Errorf("slot b holds %q", b)
	}
}

func TestUpdateRefused(t *testing.T) {
	e, c, csrf, dir, priv := updateEnv(t)
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	good := bundleOf(t, priv, "v2", "rpi2", "firmware v2")
	tampered := bytes.Clone(good)
	tampered[len(tampered)-1] ^= 1
	envBefore, _ := os.ReadFile(filepath.Join(dir, update.EnvFile))
	tests := []struct {
		name string
		file []byte
		want string
	}{
		{"wrong key", bundleOf(t, other, "v2", "rpi2", "evil"), "not signed with this box&#39;s release key"},
		{"wrong board", bundleOf(t, priv, "v2", "cubietruck", "firmware v2"), "for another board"},
		{"tampered", tampered, "damaged or was altered"},
		{"truncated", good[:len(good)-3], "incomplete"},
		{"not a bundle", []byte("hello, I am a text file"), "not a hushbox update bundle"},
		{"empty file", nil, "not a hushbox update bundle"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.uploadBundle(c, csrf, tt.file)
			if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, tt.want) || !strings.Contains(r.body, "Nothing was installed") {
				t.Errorf("%d, want 400 saying %q", r.StatusCode, tt.want)
			}
			if b, _ := os.ReadFile(filepath.Join(dir, "initrd-b.img")); string(b) != "v1" {
				t.Errorf("slot b changed to %q", b)
			}
			if b, _ := os.ReadFile(filepath.Join(dir, update.EnvFile)); !bytes.Equal(b, envBefore) {
				t.Errorf("%s changed: %q", update.EnvFile, b)
			}
		})
	}
	t.Run("no CSRF token", func(t *testing.T) {
		if r := e.uploadBundle(c, "", good); r.StatusCode != http.StatusForbidden {
			t.Errorf("%d, want 403", r.StatusCode)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "initrd-b.img")); string(b) != "v1" {
			t.Errorf("slot b changed to %q", b)
		}
	})
	t.Run("no file", func(t *testing.T) {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		mw.WriteField("csrf", csrf)
		mw.Close()
		r := e.do(c, "POST", updatePath, &body, map[string]string{"Content-Type": mw.FormDataContentType()})
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "choose an update bundle") {
			t.Errorf("%d", r.StatusCode)
		}
	})
}
