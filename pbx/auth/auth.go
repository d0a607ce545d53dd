// Package auth authenticates SIP requests (REGISTER with 401, INVITE and
// other dialog-creating requests with 407) against the extension directory,
// using stateless nonces so that a flood of unauthenticated requests costs
// no memory. Known and unknown users get byte-for-byte the same answers until
// they prove a password.
package auth

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"hushbox/pbx/digest"
	"hushbox/pbx/sipmsg"
	"hushbox/pbx/store"
)

// Directory is where the authenticator finds a user's HA1 values.
type Directory interface {
	Extension(num string) (store.Extension, error)
}

// Outcome says what to do with a request after Check.
type Outcome int

const (
	// Challenge: no usable credentials; answer 401/407 with a fresh nonce.
	Challenge Outcome = iota
	// Stale: credentials were right but the nonce expired; challenge with stale=true.
	Stale
	// Forbidden: credentials were presented and are wrong (or name another
	// user than the request is about); answer 403.
	Forbidden
	// OK: the user is authenticated.
	OK
)

// NonceTTL is how long a nonce stays usable. Phones re-register well inside it.
const NonceTTL = 5 * time.Minute

// Authenticator checks digest credentials. Safe for concurrent use.
type Authenticator struct {
	realm  string
	nonces *digest.Nonces
	replay *digest.Replay
	dir    Directory
	log    *slog.Logger
	now    func() time.Time
	// dummy HA1 values so unknown users cost the same work as known ones.
	dummyMD5, dummySHA string
	// algorithms are offered in this order (RFC 8760: most preferred first).
	algorithms []string
	// onFailure, when set, hears of every wrong password (the DoS guard).
	onFailure func(src string)
	// onSuccess, when set, hears of every request that authenticated (the
	// DoS guard trusts its source in the kernel).
	onSuccess func(src string)
}

// SetFailureHook sets f to be called with the request's source ("ip:port")
// whenever Check answers Forbidden: credentials were presented and are
// wrong, for a known user or not (the first, credential-less challenge is
// not a failure). Set it before the authenticator is used.
func (a *Authenticator) SetFailureHook(f func(src string)) { a.onFailure = f }

// SetSuccessHook sets f to be called with the request's source ("ip:port")
// whenever Check answers OK. Set it before the authenticator is used.
func (a *Authenticator) SetSuccessHook(f func(src string)) { a.onSuccess = f }

// DefaultAlgorithms is the challenge order: SHA-256 first as RFC 8760 asks,
// MD5 after it for phones that know nothing else.
var DefaultAlgorithms = []string{digest.SHA256, digest.MD5}

// ParseAlgorithms reads a comma-separated algorithm list ("SHA-256,MD5").
// Some clients (sipp, older desk phones) answer only the first challenge
// and know only MD5: for them the owner puts MD5 first or alone.
func ParseAlgorithms(s string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		var alg string
		switch strings.ToUpper(f) {
		case "MD5":
			alg = digest.MD5
		case "SHA-256", "SHA256":
			alg = digest.SHA256
		default:
			return nil, fmt.Errorf("digest algorithm %q: want MD5 or SHA-256", f)
		}
		if !seen[alg] {
			seen[alg] = true
			out = append(out, alg)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no digest algorithm given")
	}
	return out, nil
}

// SetAlgorithms changes the challenge order; nil restores the default.
func (a *Authenticator) SetAlgorithms(algs []string) {
	if len(algs) == 0 {
		algs = DefaultAlgorithms
	}
	a.algorithms = algs
}

// offers reports whether alg is one this authenticator challenges with.
func (a *Authenticator) offers(alg string) bool {
	if alg == "" {
		alg = digest.MD5
	}
	for _, x := range a.algorithms {
		if strings.EqualFold(x, alg) {
			return true
		}
	}
	return false
}

// New makes an Authenticator for realm. key (32 bytes, kept in the store)
// signs the nonces so they survive a restart of the daemon.
func New(realm string, key []byte, dir Directory, log *slog.Logger) *Authenticator {
	if log == nil {
		log = slog.Default()
	}
	return &Authenticator{
		realm:      realm,
		nonces:     digest.NewNonces(key, NonceTTL),
		replay:     digest.NewReplay(NonceTTL, 0),
		dir:        dir,
		log:        log,
		now:        time.Now,
		dummyMD5:   digest.HA1(digest.MD5, "nobody", realm, string(key)),
		dummySHA:   digest.HA1(digest.SHA256, "nobody", realm, string(key)),
		algorithms: DefaultAlgorithms,
	}
}

// Realm is the digest realm this authenticator challenges with.
func (a *Authenticator) Realm() string { return a.realm }

func headerNames(proxy bool) (creds, challenge string) {
	if proxy {
		return "Proxy-Authorization", "Proxy-Authenticate"
	}
	return "Authorization", "WWW-Authenticate"
}

// Check verifies the request's credentials. proxy selects
// Proxy-Authorization (INVITE, 407) over Authorization (REGISTER, 401).
// user, when not empty, is the extension the request must be made by
// (the To user of a REGISTER): credentials for anyone else are Forbidden.
// It returns the authenticated extension number on OK.
func (a *Authenticator) Check(req *sip.Request, proxy bool, user string) (string, Outcome) {
	who, outcome := a.check(req, proxy, user)
	if outcome == Forbidden && a.onFailure != nil {
		a.onFailure(req.Source())
	}
	if outcome == OK && a.onSuccess != nil {
		a.onSuccess(req.Source())
	}
	return who, outcome
}

func (a *Authenticator) check(req *sip.Request, proxy bool, user string) (string, Outcome) {
	credName, _ := headerNames(proxy)
	now := a.now()
	var sawOurs bool
	for _, h := range req.Headers() { // GetHeaders would allocate
		if !sipmsg.Named(h, credName) {
			continue
		}
		c, err := digest.ParseCredentials(h.Value())
		if err != nil {
			a.log.Debug("unparseable credentials", "src", req.Source(), "err", err)
			continue
		}
		if c.Realm != a.realm {
			continue // credentials for another hop or an old realm
		}
		sawOurs = true
		if !a.offers(c.Algorithm) {
			return "", Challenge
		}
		ok, stale := a.nonces.Check(c.Nonce, now)
		if !ok && !stale {
			// Not a nonce of ours (forged, or from an older key): challenge
			// again rather than count it as a wrong password.
			return "", Challenge
		}
		ext, err := a.dir.Extension(c.Username)
		known := err == nil
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			a.log.Error("directory lookup failed", "err", err)
		}
		ha1 := a.dummyMD5
		if strings.EqualFold(c.Algorithm, digest.SHA256) {
			ha1 = a.dummySHA
		}
		if known {
			if strings.EqualFold(c.Algorithm, digest.SHA256) {
				ha1 = ext.HA1SHA256
			} else {
				ha1 = ext.HA1MD5
			}
		}
		good := c.Verify(string(req.Method), ha1) && known && ext.Realm == a.realm
		if !good {
			return "", Forbidden
		}
		if user != "" && user != c.Username {
			return "", Forbidden
		}
		if stale {
			return "", Stale
		}
		nc := uint64(0)
		if c.NC != "" {
			v, err := strconv.ParseUint(c.NC, 16, 64)
			if err != nil {
				return "", Forbidden
			}
			nc = v
		}
		if !a.replay.Accept(c.Nonce, nc, now) {
			// A replayed (or reordered) answer: a fresh challenge lets an
			// honest client retry with a new nonce.
			return "", Stale
		}
		return c.Username, OK
	}
	_ = sawOurs
	return "", Challenge
}

// ChallengeResponse builds the 401/407 answer to req: one challenge per
// algorithm (SHA-256 first, as RFC 8760 asks, then MD5 for older phones).
func (a *Authenticator) ChallengeResponse(req *sip.Request, proxy, stale bool) *sip.Response {
	code, reason := 401, "Unauthorized"
	if proxy {
		code, reason = 407, "Proxy Authentication Required"
	}
	_, chName := headerNames(proxy)
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	nonce := a.nonces.New(a.now())
	for _, alg := range a.algorithms {
		ch := digest.Challenge{Realm: a.realm, Nonce: nonce, Algorithm: alg, Stale: stale}
		res.AppendHeader(sip.NewHeader(chName, ch.String()))
	}
	return res
}
