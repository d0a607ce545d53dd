package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// fakePhone records what the Phone page asks of the board phone.
type fakePhone struct {
	mu     sync.Mutex
	st     PhoneStatus
	dialed []string
	keys   []string
	hangup int
}

func (f *fakePhone) Status() PhoneStatus { f.mu.Lock(); defer f.mu.Unlock(); return f.st }
func (f *fakePhone) Dial(n string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if strings.Trim(n, "0123456789*#") != "" || n == "" {
		return errors.New("a number is 1 to 32 of 0-9 * #")
	}
	f.dialed = append(f.dialed, n)
	f.st.State, f.st.Peer = "dialing", n
	return nil
}
func (f *fakePhone) Answer() error { return nil }
func (f *fakePhone) Hangup()       { f.mu.Lock(); f.hangup++; f.st.State = "idle"; f.mu.Unlock() }
func (f *fakePhone) SendDTMF(k string) error {
	f.mu.Lock()
	f.keys = append(f.keys, k)
	f.mu.Unlock()
	return nil
}

func TestPhonePage(t *testing.T) {
	e := newEnv(t)
	c, _ := e.ready()
	// Without a phone the page says so and the forms do not exist.
	if r := e.get(c, "/phone"); r.StatusCode != http.StatusOK || !strings.Contains(r.body, "runs no phone") {
		t.Fatalf("no phone: %d %q", r.StatusCode, r.body)
	}
	ph := &fakePhone{st: PhoneStatus{Extension: "100", Registered: true, State: "idle"}}
	e.srv.cfg.Phone = ph
	tok := e.formToken(c, "/phone")

	// A POST without the CSRF token is refused and dials nothing.
	if r := e.postForm(c, "/phone/dial", url.Values{"number": {"101"}}); r.StatusCode < 400 {
		t.Errorf("dial without CSRF token: %d", r.StatusCode)
	}
	if r := e.postForm(c, "/phone/dial", url.Values{"csrf": {tok}, "number": {"10x"}}); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "0-9") {
		t.Errorf("bad number: %d", r.StatusCode)
	}
	if r := e.postForm(c, "/phone/dial", url.Values{"csrf": {tok}, "number": {"101"}}); r.StatusCode != http.StatusSeeOther {
		t.Errorf("dial: %d", r.StatusCode)
	}
	if len(ph.dialed) != 1 || ph.dialed[0] != "101" {
		t.Errorf("dialed %v, want [101]", ph.dialed)
	}

	// In a scrambled call the page shows the SAS and offers keys and hang-up.
	ph.mu.Lock()
	ph.st = PhoneStatus{Extension: "100", Registered: true, State: "in call", Peer: "101", Scrambled: true, SAS: "yern"}
	ph.mu.Unlock()
	r := e.get(c, "/phone")
	if !strings.Contains(r.body, `id="phone-sas">yern<`) || !strings.Contains(r.body, `id="phone-hangup"`) || !strings.Contains(r.body, `id="phone-keys"`) {
		t.Errorf("in-call page lacks the SAS or the controls:\n%s", r.body)
	}
	if r := e.postForm(c, "/phone/dtmf", url.Values{"csrf": {tok}, "keys": {"12#"}}); r.StatusCode != http.StatusSeeOther || len(ph.keys) != 1 || ph.keys[0] != "12#" {
		t.Errorf("dtmf: %d, keys %v", r.StatusCode, ph.keys)
	}
	if r := e.postForm(c, "/phone/hangup", url.Values{"csrf": {tok}}); r.StatusCode != http.StatusSeeOther || ph.hangup != 1 {
		t.Errorf("hangup: %d, hangups %d", r.StatusCode, ph.hangup)
	}
	// A clear call says so.
	ph.mu.Lock()
	ph.st = PhoneStatus{Extension: "100", Registered: true, State: "in call", Peer: "555"}
	ph.mu.Unlock()
	if r := e.get(c, "/phone"); !strings.Contains(r.body, "not scrambled") {
		t.Error("clear call not shown as not scrambled")
	}
	if r := e.get(c, "/api/phone"); r.StatusCode != http.StatusOK || !strings.Contains(r.body, `"state":"in call"`) {
		t.Errorf("api: %d %q", r.StatusCode, r.body)
	}
}
