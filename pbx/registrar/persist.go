package registrar

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/emiago/sipgo/sip"
)

// savedBinding is a Binding as it is kept across a restart.
type savedBinding struct {
	Extension string    `json:"ext"`
	Contact   string    `json:"contact"`
	Expires   time.Time `json:"expires"`
	Source    string    `json:"source"`
	Transport string    `json:"transport"`
	CallID    string    `json:"call_id"`
	CSeq      uint32    `json:"cseq"`
	UserAgent string    `json:"user_agent,omitempty"`
	Updated   time.Time `json:"updated"`
}

// Snapshot encodes the live bindings, so a clean restart (an update, a
// settings change) does not leave phones unreachable until they next
// re-register, which desk phones do only every hour or so.
func (l *Location) Snapshot() ([]byte, error) {
	var out []savedBinding
	for _, b := range l.All() {
		out = append(out, savedBinding{Extension: b.Extension, Contact: b.Contact.String(), Expires: b.Expires,
			Source: b.Source, Transport: b.Transport, CallID: b.CallID, CSeq: b.CSeq, UserAgent: b.UserAgent,
			Updated: b.Updated})
	}
	return json.Marshal(out)
}

// Load restores bindings from a Snapshot; expired ones, and those of
// extensions known reports gone, are dropped. It returns how many it kept.
func (l *Location) Load(data []byte, known func(ext string) bool) (int, error) {
	var in []savedBinding
	if err := json.Unmarshal(data, &in); err != nil {
		return 0, fmt.Errorf("registrar: saved bindings: %w", err)
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range in {
		if !s.Expires.After(now) || !known(s.Extension) {
			continue
		}
		var u sip.Uri
		if err := sip.ParseUri(s.Contact, &u); err != nil {
			continue
		}
		b := Binding{Extension: s.Extension, Contact: u, Expires: s.Expires, Source: s.Source, Transport: s.Transport,
			CallID: s.CallID, CSeq: s.CSeq, UserAgent: s.UserAgent, Updated: s.Updated}
		m := l.byExt[b.Extension]
		if m == nil {
			m = map[string]Binding{}
			l.byExt[b.Extension] = m
		}
		if len(m) < MaxContacts {
			b.ckey = b.key()
			m[b.ckey] = b
			n++
		}
	}
	return n, nil
}
