package daemon

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"hushbox/pbx/update"
)

// abBootDir is a boot partition in the given A/B state, booted from slot
// booted (the kernel command line the daemon reads is a test file).
func abBootDir(t *testing.T, env, booted string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{"initrd-a.img": "a", "initrd-b.img": "b", update.EnvFile: env} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmdline := filepath.Join(t.TempDir(), "cmdline")
	if err := os.WriteFile(cmdline, []byte("console=ttyAMA0 hushbox.slot="+booted+" quiet\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := cmdlinePath
	cmdlinePath = cmdline
	t.Cleanup(func() { cmdlinePath = old })
	return dir
}

func abState(t *testing.T, dir string) update.State {
	t.Helper()
	env, err := update.ReadEnv(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := env.State()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// A test boot of new firmware whose daemon comes up and keeps answering SIP
// and the web page is marked good: slot b becomes the known-good slot.
func TestE2ETestBootMarkedGood(t *testing.T) {
	boot := abBootDir(t, "slot=a\ntry=b\ntries=0\nhb_board=rpi2\n", "b")
	runDaemon(t, Config{DataDir: filepath.Join(t.TempDir(), "d"), SIPAddr: "127.0.0.1:" + strconv.Itoa(floodPort(t)),
		RTPPorts: "43040-43059", Realm: "upd", MediaIP: "127.0.0.1", WebAddr: "127.0.0.1:0",
		BootDir: boot, UpdateGrace: time.Millisecond})
	ctx := testCtx(t, 30*time.Second)
	waitUntil(t, ctx, "slot b marked good", func() bool { return abState(t, boot) == update.State{Slot: "b"} })
}

// A test boot that is never healthy is never marked good, so the boot
// script falls back at the next boot.
func TestUnhealthyTestBootNotMarkedGood(t *testing.T) {
	env := "slot=a\ntry=b\ntries=0\n"
	boot := abBootDir(t, env, "b")
	in := &update.Installer{Dir: boot, Booted: "b"}
	oldRetry := healthRetry
	healthRetry = time.Millisecond
	t.Cleanup(func() { healthRetry = oldRetry })
	ctx, cancel := context.WithCancel(context.Background())
	checks := 0
	unhealthy := func(context.Context) error {
		checks++
		if checks == 3 {
			cancel() // the deadline: /init reboots
		}
		return errors.New("SIP not answering")
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		markGoodWhenHealthy(ctx, in, time.Millisecond, unhealthy, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("markGoodWhenHealthy did not return after its context ended")
	}
	if checks < 1 {
		t.Fatal("health never checked")
	}
	if b, _ := os.ReadFile(filepath.Join(boot, update.EnvFile)); string(b) != env {
		t.Fatalf("%s changed to %q although the boot was never healthy", update.EnvFile, b)
	}
}

// Without a boot folder, or without hushbox.slot= on the kernel command
// line (a laptop), updates are off and the page hides them.
func TestUpdatesOffOffAppliance(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if newInstaller(Config{}, log) != nil || webUpdater(nil) != nil {
		t.Fatal("updates on without a boot folder")
	}
	boot := abBootDir(t, "slot=a\n", "a")
	os.WriteFile(cmdlinePath, []byte("console=tty0\n"), 0o644)
	if newInstaller(Config{BootDir: boot}, log) != nil {
		t.Fatal("updates on without hushbox.slot= on the kernel command line")
	}
}
