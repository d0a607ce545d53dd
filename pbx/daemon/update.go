package daemon

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"hushbox/pbx/buildinfo"
	"hushbox/pbx/update"
	"hushbox/pbx/web"
)

// Firmware updates (docs/update.md). With Config.BootDir set (the
// appliance's /boot) and a kernel command line naming the booted slot
// (hushbox.slot=), the web page's Update page installs signed bundles into
// the inactive slot, and a test boot that comes up healthy — ready, then
// still answering SIP OPTIONS and serving the web page after the grace
// period — is marked good. A test boot that never gets there is never
// marked good: /init's `hushbox update await-healthy` times out and
// reboots, and the boot script falls back to the good slot.

// DefaultUpdateGrace is how long a test boot must stay up after "ready"
// before its health is checked and it is marked good.
const DefaultUpdateGrace = 30 * time.Second

// cmdlinePath is the kernel command line the booted slot is read from (a
// variable for tests).
var cmdlinePath = update.CmdlinePath

// healthRetry is how often a failed health check is repeated (a variable
// for tests).
var healthRetry = 10 * time.Second

// newInstaller sets up updates for cfg, or returns nil (updates off) when
// no boot folder is configured or the running system was not booted by
// the hushbox boot script. A missing release key or an unknown board do not
// stop the daemon: marking good still works, and the page says why an
// install is refused.
func newInstaller(cfg Config, log *slog.Logger) *update.Installer {
	if cfg.BootDir == "" {
		return nil
	}
	booted, err := update.BootedSlot(cmdlinePath)
	if err != nil || booted == "" {
		log.Warn("firmware updates off: the kernel command line names no slot (hushbox.slot=)", "err", err)
		return nil
	}
	in := &update.Installer{Dir: cfg.BootDir, Booted: booted, Board: cfg.Board, Log: log}
	if cfg.UpdateKey != "" {
		if in.Key, err = update.LoadPublicKey(cfg.UpdateKey); err != nil {
			log.Error("firmware updates cannot be installed: no release key", "err", err)
		}
	}
	if in.Board == "" {
		if in.Board, err = update.DetectBoard(cfg.BootDir, update.BoardFile, update.CompatiblePath); err != nil {
			log.Error("firmware updates cannot be installed: board unknown", "err", err)
		}
	}
	return in
}

// webUpdater is in as the web page's Updater (nil: the page says updates
// are not available).
func webUpdater(in *update.Installer) web.Updater {
	if in == nil {
		return nil
	}
	return update.WebUpdater{In: in, Running: buildinfo.Version}
}

// markGoodWhenHealthy waits grace after ready, then checks health until it
// holds (or ctx ends) and marks the booted slot good. On a boot of the
// known-good slot MarkGood changes nothing.
func markGoodWhenHealthy(ctx context.Context, in *update.Installer, grace time.Duration, healthy func(context.Context) error, log *slog.Logger) {
	if in == nil {
		return
	}
	st, err := in.Status()
	if err != nil {
		log.Error("firmware: read the A/B state", "err", err)
		return
	}
	if st.Good == st.Booted {
		return // not a test boot
	}
	if grace <= 0 {
		grace = DefaultUpdateGrace
	}
	log.Info("firmware: test boot; marking it good once healthy", "slot", st.Booted, "grace", grace)
	wait := grace
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := healthy(cctx)
		cancel()
		if err == nil {
			break
		}
		log.Warn("firmware: test boot not healthy yet", "err", err)
		wait = healthRetry
	}
	if _, err := in.MarkGood(); err != nil {
		log.Error("firmware: mark good", "err", err)
	}
}

// healthCheck is the test-boot health check: SIP answers an OPTIONS on
// UDP and, when the web page is on, it answers over HTTPS, both on
// loopback.
func healthCheck(sipPort int, webAddr net.Addr) func(context.Context) error {
	return func(ctx context.Context) error {
		if err := sipAnswers(ctx, sipPort); err != nil {
			return err
		}
		if webAddr == nil {
			return nil
		}
		return webAnswers(ctx, webAddr)
	}
}

// sipAnswers sends OPTIONS to 127.0.0.1:port over UDP and waits for a
// final response.
func sipAnswers(ctx context.Context, port int) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "udp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("sip health: %w", err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	var nonce [8]byte
	rand.Read(nonce[:])
	tag := hex.EncodeToString(nonce[:])
	local := c.LocalAddr().String()
	req := "OPTIONS sip:127.0.0.1:" + strconv.Itoa(port) + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + local + ";branch=z9hG4bK" + tag + ";rport\r\n" +
		"Max-Forwards: 70\r\n" +
		"From: <sip:health@127.0.0.1>;tag=" + tag + "\r\n" +
		"To: <sip:127.0.0.1:" + strconv.Itoa(port) + ">\r\n" +
		"Call-ID: health-" + tag + "@127.0.0.1\r\n" +
		"CSeq: 1 OPTIONS\r\n" +
		"Contact: <sip:health@" + local + ">\r\n" +
		"Content-Length: 0\r\n\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		return fmt.Errorf("sip health: %w", err)
	}
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return fmt.Errorf("sip health: no answer to OPTIONS: %w", err)
		}
		line, _, _ := strings.Cut(string(buf[:n]), "\r\n")
		if code, ok := strings.CutPrefix(line, "SIP/2.0 "); ok && len(code) >= 3 && code[0] >= '2' {
			return nil // any final response: the SIP stack is serving
		}
	}
}

// webAnswers fetches /login over HTTPS from the web listener (its own
// self-signed certificate on loopback: not verified).
func webAnswers(ctx context.Context, addr net.Addr) error {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return errors.New("web health: not a TCP listener")
	}
	u := "https://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(tcp.Port)) + "/login"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // own certificate on loopback
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return fmt.Errorf("web health: %w", err)
	}
	defer resp.Body.Close()
	bufio.NewReader(resp.Body).Peek(1)
	if resp.StatusCode >= 500 {
		return fmt.Errorf("web health: %s", resp.Status)
	}
	return nil
}
