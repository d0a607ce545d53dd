package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// fakeSystem records restarts and reboots.
type fakeSystem struct {
	mu              sync.Mutex
	restart, reboot int
	canReboot       bool
	failRestart     bool
	lines           []string
}

func (f *fakeSystem) Restart() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failRestart {
		return errors.New("daemon: busy")
	}
	f.restart++
	return nil
}
func (f *fakeSystem) Reboot() error   { f.mu.Lock(); f.reboot++; f.mu.Unlock(); return nil }
func (f *fakeSystem) CanReboot() bool { return f.canReboot }
func (f *fakeSystem) Logs(n int) []string {
	if len(f.lines) > n {
		return f.lines[len(f.lines)-n:]
	}
	return f.lines
}
func (f *fakeSystem) restarts() int { f.mu.Lock(); defer f.mu.Unlock(); return f.restart }
func (f *fakeSystem) reboots() int  { f.mu.Lock(); defer f.mu.Unlock(); return f.reboot }

func TestSystemPageShowsLogs(t *testing.T) {
	e := newEnv(t)
	e.srv.cfg.System = &fakeSystem{lines: []string{`level=INFO msg="web: extension added" ext=101`, `level=WARN msg="x <b>"`}}
	c, _ := e.ready()
	r := e.get(c, "/system")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("system page = %d", r.StatusCode)
	}
	if !strings.Contains(r.body, `msg=&#34;web: extension added&#34; ext=101`) {
		t.Error("system page does not show the log line")
	}
	if strings.Contains(r.body, "<b>") {
		t.Error("log line not escaped")
	}
	if !strings.Contains(r.body, `action="/system/restart"`) {
		t.Error("no restart button")
	}
	if strings.Contains(r.body, `action="/system/reboot"`) {
		t.Error("reboot button shown where reboot is not allowed")
	}
	if !strings.Contains(e.get(c, "/").body, `href="/system"`) {
		t.Error("the nav does not link the system page")
	}
}

func TestSystemRestart(t *testing.T) {
	e := newEnv(t)
	sys := &fakeSystem{}
	e.srv.cfg.System = sys
	c, csrf := e.ready()
	// Without the confirmation box nothing happens.
	r := e.postForm(c, "/system/restart", url.Values{"csrf": {csrf}})
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, `id="restart-err">confirm the restart`) {
		t.Fatalf("unconfirmed restart = %d, want 400 with the error next to the button", r.StatusCode)
	}
	if sys.restarts() != 0 {
		t.Fatal("restarted without confirmation")
	}
	r = e.postForm(c, "/system/restart", url.Values{"csrf": {csrf}, "confirm": {"yes"}})
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, `id="stopping"`) || !strings.Contains(r.body, "hushbox is restarting") {
		t.Fatalf("restart = %d, want the restarting page", r.StatusCode)
	}
	if sys.restarts() != 1 {
		t.Fatalf("restarts = %d, want 1", sys.restarts())
	}
	if !strings.Contains(e.logs.String(), "web: restart requested") {
		t.Error("restart not logged")
	}
	// Reboot is refused where it is not allowed.
	if r := e.postForm(c, "/system/reboot", url.Values{"csrf": {csrf}, "confirm": {"yes"}}); r.StatusCode != http.StatusNotFound || sys.reboots() != 0 {
		t.Errorf("reboot on a non-appliance = %d (%d reboots), want 404 and none", r.StatusCode, sys.reboots())
	}
	sys.failRestart = true
	if r := e.postForm(c, "/system/restart", url.Values{"csrf": {csrf}, "confirm": {"yes"}}); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "not restarted: busy") {
		t.Errorf("failed restart = %d, want 400 with the reason", r.StatusCode)
	}
}

func TestSystemReboot(t *testing.T) {
	e := newEnv(t)
	sys := &fakeSystem{canReboot: true}
	e.srv.cfg.System = sys
	c, csrf := e.ready()
	if !strings.Contains(e.get(c, "/system").body, `action="/system/reboot"`) {
		t.Fatal("no reboot button on the appliance")
	}
	if r := e.postForm(c, "/system/reboot", url.Values{"csrf": {csrf}}); r.StatusCode != http.StatusBadRequest || sys.reboots() != 0 {
		t.Fatalf("unconfirmed reboot = %d (%d reboots)", r.StatusCode, sys.reboots())
	}
	if r := e.postForm(c, "/system/reboot", url.Values{"csrf": {csrf}, "confirm": {"yes"}}); r.StatusCode != http.StatusOK || sys.reboots() != 1 {
		t.Fatalf("reboot = %d (%d reboots), want 200 and 1", r.StatusCode, sys.reboots())
	}
}

func TestSystemWithoutHook(t *testing.T) {
	e := newEnv(t)
	c, csrf := e.ready()
	if r := e.get(c, "/system"); r.StatusCode != http.StatusOK || !strings.Contains(r.body, "not available") {
		t.Errorf("system page without a hook = %d", r.StatusCode)
	}
	if r := e.postForm(c, "/system/restart", url.Values{"csrf": {csrf}, "confirm": {"yes"}}); r.StatusCode != http.StatusNotFound {
		t.Errorf("restart without a hook = %d, want 404", r.StatusCode)
	}
}
