// Package upstream keeps this box registered at its SIP providers: one
// loop per SIP trunk with Register set, re-registering before the binding
// lapses, backing off after failures, and unregistering when the trunk is
// removed or the daemon stops.
package upstream

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"hushbox/pbx/sipmsg"
	"hushbox/pbx/store"
)

// Expires asked of providers; they may grant less.
const Expires = 600

// Credentials returns a trunk's password (sealed in the store).
type Credentials func(t store.Trunk) (string, error)

// Registrations runs the registration loops.
type Registrations struct {
	client  *sipgo.Client
	signer  sipmsg.Signer
	contact func(transport string) *sip.ContactHeader
	creds   Credentials
	log     *slog.Logger

	mu    sync.Mutex
	loops map[string]*loop
	wg    sync.WaitGroup
}

type loop struct {
	trunk  store.Trunk
	cancel context.CancelFunc
	mu     sync.Mutex
	status string
}

func (l *loop) setStatus(s string) {
	l.mu.Lock()
	l.status = s
	l.mu.Unlock()
}

// New makes the registration manager; nothing runs until Sync.
func New(client *sipgo.Client, signer sipmsg.Signer, contact func(string) *sip.ContactHeader, creds Credentials, log *slog.Logger) *Registrations {
	return &Registrations{client: client, signer: signer, contact: contact, creds: creds, log: log, loops: map[string]*loop{}}
}

// Sync starts loops for new registering trunks and stops those of trunks
// that are gone or changed.
func (r *Registrations) Sync(trunks []store.Trunk) {
	want := map[string]store.Trunk{}
	for _, t := range trunks {
		if t.Kind == store.TrunkSIP && t.Register {
			want[t.Name] = t
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for name, l := range r.loops {
		if t, ok := want[name]; !ok || t.Address != l.trunk.Address || t.Username != l.trunk.Username {
			l.cancel()
			delete(r.loops, name)
		}
	}
	for name, t := range want {
		if _, ok := r.loops[name]; ok {
			continue
		}
		ctx, cancel := context.WithCancel(context.Background())
		l := &loop{trunk: t, cancel: cancel, status: "registering"}
		r.loops[name] = l
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.run(ctx, l)
		}()
	}
}

// Status is a trunk's registration state ("" for trunks that do not register).
func (r *Registrations) Status(name string) string {
	r.mu.Lock()
	l := r.loops[name]
	r.mu.Unlock()
	if l == nil {
		return ""
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.status
}

// Close stops every loop; each unregisters (bounded) on its way out.
func (r *Registrations) Close() {
	r.mu.Lock()
	for name, l := range r.loops {
		l.cancel()
		delete(r.loops, name)
	}
	r.mu.Unlock()
	r.wg.Wait()
}

func (r *Registrations) run(ctx context.Context, l *loop) {
	backoff := 15 * time.Second
	registered := false
	for {
		granted, err := r.register(ctx, l.trunk, Expires)
		wait := backoff
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			l.setStatus("failed: " + err.Error())
			r.log.Warn("provider registration failed", "trunk", l.trunk.Name, "err", err, "retry_in", backoff)
			backoff = min(backoff*2, 5*time.Minute)
		} else {
			if !registered {
				r.log.Info("registered at provider", "trunk", l.trunk.Name, "expires", granted)
			}
			registered = true
			l.setStatus(fmt.Sprintf("registered (%ds)", granted))
			backoff = 15 * time.Second
			// Refresh at half the granted time, at least every 30 s apart.
			wait = max(time.Duration(granted)*time.Second/2, 30*time.Second)
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
			continue
		}
		break
	}
	if registered {
		uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := r.register(uctx, l.trunk, 0); err != nil {
			r.log.Debug("unregister failed", "trunk", l.trunk.Name, "err", err)
		}
	}
}

// register sends one REGISTER (answering a digest challenge) and returns
// the expiry the provider granted.
func (r *Registrations) register(ctx context.Context, t store.Trunk, expires int) (int, error) {
	host, portStr, err := net.SplitHostPort(t.Address)
	if err != nil {
		return 0, err
	}
	port, _ := strconv.Atoi(portStr)
	user := t.Username
	recipient := sip.Uri{Scheme: "sip", Host: host, Port: port, UriParams: sip.NewParams()}
	if t.Transport != "udp" {
		recipient.UriParams.Add("transport", t.Transport)
	}
	req := sip.NewRequest(sip.REGISTER, recipient)
	aor := sip.Uri{Scheme: "sip", User: user, Host: host}
	from := &sip.FromHeader{Address: aor, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: aor, Params: sip.NewParams()})
	ct := r.contact(t.Transport)
	ct.Address.User = user
	req.AppendHeader(ct)
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(expires)))
	req.SetTransport(strings.ToUpper(t.Transport))
	req.SetDestination(t.Address)
	r.signer.Sign(req)
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	res, err := r.client.Do(cctx, req)
	if err != nil {
		return 0, err
	}
	if res.StatusCode == 401 || res.StatusCode == 407 {
		pw, err := r.creds(t)
		if err != nil {
			return 0, err
		}
		if err := sipmsg.AnswerChallenge(req, res, user, pw); err != nil {
			return 0, err
		}
		res, err = r.client.Do(cctx, req, sipgo.ClientRequestAddVia)
		if err != nil {
			return 0, err
		}
	}
	if res.StatusCode != 200 {
		return 0, fmt.Errorf("%d %s", res.StatusCode, res.Reason)
	}
	granted := expires
	if v, ok := sipmsg.HeaderInt(res, "Expires"); ok {
		granted = v
	}
	for _, c := range sipmsg.Contacts(res) {
		if v, ok := c.Params.Get("expires"); ok {
			if n, err := strconv.Atoi(v); err == nil {
				granted = n
			}
		}
	}
	return granted, nil
}
