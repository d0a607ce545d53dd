package daemon

// The board as extension 100: with --phone (on the appliance by default)
// the daemon runs a phone endpoint (pbx/endpoint) on the board's sound
// device, registered to the daemon itself, driven by the handset's hook
// switch and showing its state on the board's LEDs and the web page.

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"hushbox/audio"
	_ "hushbox/audio/nulldev" // the fallback when the sound device is missing
	"hushbox/audio/tone"
	"hushbox/board"
	"hushbox/pbx/accounts"
	"hushbox/pbx/endpoint"
	"hushbox/pbx/store"
	"hushbox/pbx/web"
)

// Extension 100 is the board's handset.
const (
	phoneExtension  = "100"
	phoneSecretName = "phone.100.password" // in the store's secrets
	phoneIdentity   = "phone"              // folder of its identity in the data folder
)

// phoneAudio is the sound device spec the board phone uses: --phone, else
// "portaudio" on the appliance, else none.
func phoneAudio(cfg Config) string {
	if cfg.PhoneAudio != "" {
		return cfg.PhoneAudio
	}
	if cfg.Appliance && cfg.Role.Appliance() {
		return "portaudio"
	}
	return ""
}

// ensurePhoneExtension creates extension 100 when it is missing and gives
// it the password kept in the store's secrets (random, made once, never
// printed or logged), which it returns. The password is set again at every
// start, so a realm change or a password set by hand cannot lock the board
// out of its own PBX.
func ensurePhoneExtension(db *store.DB, realm string) (string, error) {
	secret, err := db.Secret(phoneSecretName, 18)
	if err != nil {
		return "", fmt.Errorf("phone password: %w", err)
	}
	pw := base64.RawURLEncoding.EncodeToString(secret)
	clear(secret)
	_, err = db.Extension(phoneExtension)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if _, err := accounts.Add(db, realm, phoneExtension, "Board phone", pw); err != nil {
			return "", err
		}
	case err != nil:
		return "", err
	default:
		if _, err := accounts.SetPassword(db, realm, phoneExtension, pw); err != nil {
			return "", err
		}
	}
	return pw, nil
}

// boardPhone is the running board phone. It implements web.Phone.
type boardPhone struct {
	ep  *endpoint.Endpoint
	dev audio.Device
	brd *board.Board
	log *slog.Logger
	ctx context.Context

	mu       sync.Mutex
	last     string // the last event, as `hushbox phone` prints it
	offHook  bool
	toneStop chan struct{} // non-nil while the dial tone plays
	toneDone chan struct{}
	// onHandoff is the hand-off button's action (handoff.go); nil: none.
	onHandoff atomic.Pointer[func()]

	done chan struct{}
}

// startBoardPhone opens the sound device (falling back to none when it is
// not there), the board's GPIO (a no-op board where there is none) and
// runs extension 100's endpoint against the daemon at sipAddr until ctx
// ends; wait for the returned phone's done channel after that.
func startBoardPhone(ctx context.Context, cfg Config, spec string, db *store.DB, realm string, sip netip.AddrPort, log *slog.Logger) (*boardPhone, error) {
	pw, err := ensurePhoneExtension(db, realm)
	if err != nil {
		return nil, err
	}
	id, err := endpoint.LoadIdentity(filepath.Join(cfg.DataDir, phoneIdentity))
	if err != nil {
		return nil, err
	}
	dev, err := audio.Open(spec)
	if err != nil {
		log.Warn("phone: sound device unusable, the board phone runs without audio", "audio", spec, "err", err)
		dev, err = audio.Open("null")
	}
	if err != nil {
		id.Destroy()
		return nil, fmt.Errorf("phone audio: %w", err)
	}
	local := sip.Addr()
	if local.IsUnspecified() {
		local = netip.MustParseAddr("127.0.0.1")
	}
	ep, err := endpoint.New(endpoint.Config{
		Server: netip.AddrPortFrom(local, sip.Port()).String(), User: phoneExtension, Password: pw,
		Listen: net.JoinHostPort(local.String(), "0"), Audio: dev, Identity: id,
		UserAgent: "hushbox-board-phone", Logger: log,
	})
	if err != nil {
		dev.Close()
		id.Destroy()
		return nil, err
	}
	kind, model := board.Detect(board.ModelPath)
	brd := board.Open(board.ProfileFor(kind), log.With("component", "board"))
	p := &boardPhone{ep: ep, dev: dev, brd: brd, log: log, ctx: ctx, last: "starting", done: make(chan struct{})}
	p.offHook = brd.OffHook()
	log.Info("phone: extension 100 on the board", "audio", spec, "board", model, "gpio", brd.Available(),
		"identity", id.Public().Fingerprint())
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); _ = ep.Run(ctx) }()
	go func() { defer wg.Done(); brd.Run(ctx) }()
	go func() { defer wg.Done(); p.loop(ctx) }()
	go func() {
		wg.Wait()
		p.stopTone()
		if err := dev.Close(); err != nil {
			log.Warn("phone: closing the sound device", "err", err)
		}
		id.Destroy()
		close(p.done)
	}()
	return p, nil
}

// loop turns endpoint and board events into LED states and actions.
func (p *boardPhone) loop(ctx context.Context) {
	p.brd.SetState(board.Unregistered)
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-p.ep.Events():
			p.onPhoneEvent(ev)
		case ev := <-p.brd.Events():
			p.onBoardEvent(ev)
		}
	}
}

func (p *boardPhone) onPhoneEvent(ev endpoint.Event) {
	p.log.Info("phone: " + ev.String())
	p.mu.Lock()
	p.last = ev.String()
	off := p.offHook
	p.mu.Unlock()
	switch ev.Kind {
	case endpoint.EventRegistered:
		if p.ep.Status().State == endpoint.StateIdle {
			p.brd.SetState(board.Registered)
		}
	case endpoint.EventRegisterFail:
		p.brd.SetState(board.Unregistered)
	case endpoint.EventIncoming:
		p.stopTone()
		p.brd.SetState(board.Ringing)
		if off {
			// The handset is already up: take the call.
			_ = p.ep.Answer()
		}
	case endpoint.EventRinging:
		p.stopTone()
	case endpoint.EventInCall, endpoint.EventClear:
		p.brd.SetState(board.InCall)
	case endpoint.EventScrambled:
		p.brd.SetState(board.ScrambledCall)
	case endpoint.EventEnded:
		if p.ep.Status().Registered {
			p.brd.SetState(board.Registered)
		} else {
			p.brd.SetState(board.Unregistered)
		}
	}
}

func (p *boardPhone) onBoardEvent(ev board.Event) {
	p.log.Info("phone: board " + ev.String())
	switch ev {
	case board.OffHook:
		p.mu.Lock()
		p.offHook = true
		p.mu.Unlock()
		switch p.ep.Status().State {
		case endpoint.StateRinging:
			_ = p.ep.Answer()
		case endpoint.StateIdle:
			p.startTone()
		}
	case board.OnHook:
		p.mu.Lock()
		p.offHook = false
		p.mu.Unlock()
		p.stopTone()
		p.ep.Hangup()
	case board.HandoffPressed:
		if f := p.onHandoff.Load(); f != nil {
			go (*f)() // a drill: to the cloud, or back when calls are there
		} else {
			p.log.Info("phone: hand-off button pressed; no cloud peer to hand off to")
		}
	}
}

// startTone plays the dial tone on the handset until stopTone.
func (p *boardPhone) startTone() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.toneStop != nil {
		return
	}
	stop, done := make(chan struct{}), make(chan struct{})
	p.toneStop, p.toneDone = stop, done
	go func() {
		defer close(done)
		g := tone.New(tone.Dial)
		f := make([]int16, audio.FrameLen)
		for {
			select {
			case <-stop:
				return
			default:
			}
			g.FillFrame(f)
			if err := p.dev.WriteFrame(f); err != nil {
				return
			}
		}
	}()
}

// stopTone stops the dial tone and waits until it no longer writes to the
// device (the call's playout is the device's only writer then).
func (p *boardPhone) stopTone() {
	p.mu.Lock()
	stop, done := p.toneStop, p.toneDone
	p.toneStop, p.toneDone = nil, nil
	p.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
}

// maxDialLen bounds a number typed on the web page.
const maxDialLen = 32

// validNumber accepts what a keypad can send: 0-9, * and #.
func validNumber(n string) bool {
	if n == "" || len(n) > maxDialLen {
		return false
	}
	for _, c := range n {
		if (c < '0' || c > '9') && c != '*' && c != '#' {
			return false
		}
	}
	return true
}

// Dial calls number from the board's handset (web.Phone).
func (p *boardPhone) Dial(number string) error {
	if !validNumber(number) {
		return errors.New("a number is 1 to 32 of 0-9 * #")
	}
	p.stopTone()
	return p.ep.Dial(p.ctx, number)
}

// Answer takes the call ringing on the board (web.Phone).
func (p *boardPhone) Answer() error {
	p.stopTone()
	return p.ep.Answer()
}

// Hangup ends the call (web.Phone).
func (p *boardPhone) Hangup() {
	p.stopTone()
	p.ep.Hangup()
}

// SendDTMF sends keys into the call (web.Phone).
func (p *boardPhone) SendDTMF(keys string) error {
	if !validNumber(keys) {
		return errors.New("keys are 1 to 32 of 0-9 * #")
	}
	for _, k := range keys {
		if err := p.ep.SendDTMF(k); err != nil {
			return err
		}
	}
	return nil
}

// Status is what the web page shows (web.Phone).
func (p *boardPhone) Status() web.PhoneStatus {
	st := p.ep.Status()
	p.mu.Lock()
	defer p.mu.Unlock()
	return web.PhoneStatus{Extension: phoneExtension, Registered: st.Registered, State: string(st.State),
		Peer: st.Peer, Scrambled: st.Scrambled, SAS: st.SAS, OffHook: p.offHook, Last: p.last,
		Frames: strconv.FormatUint(st.FramesSent, 10) + " sent, " + strconv.FormatUint(st.FramesReceived, 10) + " received"}
}

// wait waits (bounded) for the phone to stop after the daemon's context ended.
func (p *boardPhone) wait() {
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.log.Warn("phone: did not stop within 10 s")
	}
}

// startPhoneIfAsked starts the board phone when cfg asks for one (see
// phoneAudio); nil when not. A phone that cannot start is logged, not
// fatal: the PBX serves its other phones without the handset.
func startPhoneIfAsked(ctx context.Context, cfg Config, db *store.DB, sip netip.AddrPort, log *slog.Logger) (*boardPhone, error) {
	spec := phoneAudio(cfg)
	if spec == "" {
		return nil, nil
	}
	p, err := startBoardPhone(ctx, cfg, spec, db, cfg.Realm, sip, log)
	if err != nil {
		log.Error("phone: the board phone (extension 100) did not start", "err", err)
		return nil, nil
	}
	return p, nil
}

// phoneForWeb is p as the web page's optional Phone (a nil interface, not
// a nil pointer, when there is none).
func phoneForWeb(p *boardPhone) web.Phone {
	if p == nil {
		return nil
	}
	return p
}
