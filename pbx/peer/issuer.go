package peer

import (
	"sync"
	"time"
)

// CodeTTL is how long a pairing code may be used.
const CodeTTL = 10 * time.Minute

// Options is what the admin of a box chose for the peer about to pair:
// the name to give it here and whether to make a hushbox trunk to it.
type Options struct {
	// Name is this box's name for the peer (a trunk name: a-z, 0-9, '-');
	// empty picks one from the peer's own name or fingerprint.
	Name string
	// Trunk asks for a hushbox trunk to the peer, with Prefix (digits,
	// may be empty) routing calls out on it, stripped before sending.
	Trunk  bool
	Prefix string
}

// issued is the code on show and what the admin chose with it.
type issued struct {
	code    Code
	expires time.Time
	opts    Options
}

// Attempts counts pairing attempts on this box, for the Peers page.
type Attempts struct {
	Paired      int       `json:"paired"`
	Failed      int       `json:"failed"` // wrong code (or a tampered transcript)
	LastFailed  time.Time `json:"last_failed"`
	LastFailSrc string    `json:"last_fail_src"`
}

// issuer holds at most one live code. Issuing a new one replaces the old;
// the first pairing attempt takes it, whatever its outcome.
type issuer struct {
	mu  sync.Mutex
	now func() time.Time
	cur *issued
	att Attempts
}

// issue makes a fresh code valid for CodeTTL, replacing any live one.
func (i *issuer) issue(o Options) (Code, time.Time, error) {
	c, err := NewCode()
	if err != nil {
		return "", time.Time{}, err
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	exp := i.now().Add(CodeTTL)
	i.cur = &issued{code: c, expires: exp, opts: o}
	return c, exp, nil
}

// take returns the live code and burns it: a code serves one attempt.
// ok is false when there is none or it expired.
func (i *issuer) take() (issued, bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	cur := i.cur
	i.cur = nil
	if cur == nil || !i.now().Before(cur.expires) {
		return issued{}, false
	}
	return *cur, true
}

// live reports when the code on show expires; ok is false when none is.
func (i *issuer) live() (time.Time, bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.cur == nil || !i.now().Before(i.cur.expires) {
		return time.Time{}, false
	}
	return i.cur.expires, true
}

// cancel withdraws the code on show.
func (i *issuer) cancel() {
	i.mu.Lock()
	i.cur = nil
	i.mu.Unlock()
}

func (i *issuer) failed(src string) {
	i.mu.Lock()
	i.att.Failed++
	i.att.LastFailed = i.now()
	i.att.LastFailSrc = src
	i.mu.Unlock()
}

func (i *issuer) paired() {
	i.mu.Lock()
	i.att.Paired++
	i.mu.Unlock()
}

func (i *issuer) attempts() Attempts {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.att
}
