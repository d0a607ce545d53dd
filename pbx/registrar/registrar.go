package registrar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/emiago/sipgo/sip"

	"hushbox/pbx/auth"
	"hushbox/pbx/sipmsg"
	"hushbox/pbx/store"
)

// Limits of bindings, in seconds unless said otherwise.
const (
	DefaultExpires = 3600
	MinExpires     = 60
	MaxExpires     = 7200
	// MaxContacts is how many phones one extension may register at once.
	MaxContacts = 10
)

// Directory tells whether an extension exists.
type Directory interface {
	Extension(num string) (store.Extension, error)
}

// Registrar answers REGISTER requests.
type Registrar struct {
	Loc    *Location
	auth   *auth.Authenticator
	dir    Directory
	signer sipmsg.Signer
	log    *slog.Logger
	now    func() time.Time
	// answered resends the answer to a retransmitted authenticated
	// REGISTER over UDP (retrans.go).
	answered *answered
}

// New makes a registrar over loc.
func New(loc *Location, a *auth.Authenticator, dir Directory, signer sipmsg.Signer, log *slog.Logger) *Registrar {
	if log == nil {
		log = slog.Default()
	}
	return &Registrar{Loc: loc, auth: a, dir: dir, signer: signer, log: log, now: time.Now, answered: newAnswered()}
}

// Reply is the registrar's decision: the response to send, and whether it
// may be sent without keeping a server transaction (challenges and
// refusals: the client's retransmission just gets the same answer again).
type Reply struct {
	Res       *sip.Response
	Stateless bool
}

// Handle processes one REGISTER and returns the response to send. Res is
// nil for a UDP retransmission of a request still being answered: it is
// dropped, as a server transaction would absorb it (retrans.go).
func (r *Registrar) Handle(req *sip.Request) Reply {
	key := r.retransmissionKey(req)
	if key == nil {
		rep, _ := r.handle(req)
		return rep
	}
	res, claim := r.answered.claim(key, r.now(), nil)
	switch claim {
	case claimInFlight:
		return Reply{nil, true}
	case claimAnswered:
		if msg, err := sip.ParseMessage(res); err == nil {
			if res, ok := msg.(*sip.Response); ok {
				return Reply{res, true}
			}
		}
		return Reply{nil, true}
	}
	var keep []byte
	defer func() { r.answered.finish(key, keep, r.now()) }() // also when handle panics
	rep, applied := r.handle(req)
	if applied {
		keep = []byte(rep.Res.String())
	}
	return rep
}

// handle is Handle without the retransmission memory; applied is true
// when the answer comes from an authenticated request (one to resend to
// its retransmissions).
func (r *Registrar) handle(req *sip.Request) (Reply, bool) {
	to := req.To()
	if to == nil || req.From() == nil || req.CallID() == nil || req.CSeq() == nil {
		return Reply{r.signer.Response(req, 400, "Bad Request", nil), true}, false
	}
	aor := to.Address.User
	user, outcome := r.auth.Check(req, false, aor)
	switch outcome {
	case auth.Challenge, auth.Stale:
		res := r.auth.ChallengeResponse(req, false, outcome == auth.Stale)
		r.signer.Sign(res)
		return Reply{res, true}, false
	case auth.Forbidden:
		r.log.Info("register refused", "aor", aor, "src", req.Source())
		return Reply{r.signer.Response(req, 403, "Forbidden", nil), true}, false
	}
	if _, err := r.dir.Extension(user); err != nil {
		// Deleted between auth and now.
		return Reply{r.signer.Response(req, 403, "Forbidden", nil), true}, false
	}
	res, err := r.apply(req, user)
	if err != nil {
		r.log.Info("register rejected", "ext", user, "src", req.Source(), "err", err)
	}
	return Reply{res, false}, true
}

// retransmissionKey is the identity of an authenticated UDP REGISTER for
// the answers kept for retransmissions (retrans.go); nil for any other.
func (r *Registrar) retransmissionKey(req *sip.Request) []byte {
	if req.Transport() != "UDP" || req.Via() == nil || req.CallID() == nil || req.CSeq() == nil {
		return nil
	}
	authz := sipmsg.FirstHeader(req, "Authorization")
	if authz == nil {
		return nil
	}
	branch, _ := req.Via().Params.Get("branch")
	return appendKey(nil, req.Source(), []byte(branch), []byte(req.CallID().Value()), []byte(req.CSeq().Value()), []byte(authz.Value()))
}

type intervalError struct{ min int }

func (e intervalError) Error() string { return fmt.Sprintf("interval too brief (min %d)", e.min) }

// apply updates the location service from an authenticated REGISTER.
func (r *Registrar) apply(req *sip.Request, ext string) (*sip.Response, error) {
	now := r.now()
	contacts := sipmsg.Contacts(req)
	hdrExpires, hasHdrExpires := sipmsg.HeaderInt(req, "Expires")
	callID := req.CallID().Value()
	cseq := req.CSeq().SeqNo
	ua := ""
	if h := sipmsg.FirstHeader(req, "User-Agent"); h != nil {
		ua = h.Value()
	}

	var set []Binding
	var remove []string
	removeAll := false
	for _, c := range contacts {
		if c.Address.Wildcard {
			// "Contact: *" is only valid alone and with Expires: 0.
			if len(contacts) != 1 || !hasHdrExpires || hdrExpires != 0 {
				return r.signer.Response(req, 400, "Bad Request", nil), errors.New("wildcard contact without Expires: 0")
			}
			removeAll = true
			continue
		}
		exp := DefaultExpires
		if hasHdrExpires {
			exp = hdrExpires
		}
		if v, ok := c.Params.Get("expires"); ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return r.signer.Response(req, 400, "Bad Request", nil), fmt.Errorf("bad expires %q", v)
			}
			exp = n
		}
		b := Binding{Extension: ext, Contact: *c.Address.Clone(), CallID: callID, CSeq: cseq,
			Source: req.Source(), Transport: req.Transport(), UserAgent: ua, Updated: now}
		if exp == 0 {
			remove = append(remove, b.key())
			continue
		}
		if exp < MinExpires {
			res := r.signer.Response(req, 423, "Interval Too Brief", nil)
			res.AppendHeader(sip.NewHeader("Min-Expires", strconv.Itoa(MinExpires)))
			return res, intervalError{MinExpires}
		}
		if exp > MaxExpires {
			exp = MaxExpires
		}
		b.Expires = now.Add(time.Duration(exp) * time.Second)
		set = append(set, b)
	}
	if len(set) > MaxContacts {
		return r.signer.Response(req, 403, "Too Many Contacts", nil), errors.New("too many contacts")
	}
	var current []Binding
	if len(set) == 0 && len(remove) == 0 && !removeAll {
		current = r.Loc.Lookup(ext) // a query: list the bindings
	} else {
		var ok bool
		current, ok = r.Loc.update(ext, set, nil, removeAll, remove, MaxContacts, nil)
		if !ok {
			return r.signer.Response(req, 500, "Out Of Order Request", nil), errors.New("CSeq not newer than the binding's")
		}
		// Guarded: the arguments alone would cost allocations on every
		// REGISTER even with Info disabled (the usual setting under load).
		if r.log.Enabled(context.Background(), slog.LevelInfo) {
			r.log.Info("registered", "ext", ext, "contacts", len(current), "src", req.Source(), "transport", req.Transport())
		}
	}
	res := r.signer.Response(req, 200, "OK", nil)
	for _, b := range current {
		secs := int(b.Expires.Sub(now).Round(time.Second) / time.Second)
		ch := &sip.ContactHeader{Address: *b.Contact.Clone(), Params: sip.NewParams()}
		ch.Params.Add("expires", strconv.Itoa(secs))
		res.AppendHeader(ch)
	}
	res.AppendHeader(sip.NewHeader("Date", now.UTC().Format("Mon, 02 Jan 2006 15:04:05 GMT")))
	return res, nil
}
