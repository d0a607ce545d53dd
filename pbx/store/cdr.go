package store

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Dispositions of a call.
const (
	DispAnswered  = "ANSWERED"
	DispBusy      = "BUSY"
	DispNoAnswer  = "NO ANSWER"
	DispCancelled = "CANCELLED"
	DispFailed    = "FAILED"
)

// Who or what ended a call.
const (
	HangupCaller   = "caller"
	HangupCallee   = "callee"
	HangupTimeout  = "timeout"
	HangupShutdown = "shutdown"
	// HangupMediaTimeout: no RTP arrived for the media timeout.
	HangupMediaTimeout = "media-timeout"
	// HangupNoAck: the caller never acknowledged the answer (RFC 3261 13.3.1.4).
	HangupNoAck = "no-ack"
)

// MaxCDRField bounds each string field of a CDR, which mostly come from
// outside (SIP headers).
const MaxCDRField = 1024

// CDR is a call detail record. Times are stored in UTC.
type CDR struct {
	ID          uint64    `json:"id"`
	CallID      string    `json:"call_id"`
	From        string    `json:"from"`
	To          string    `json:"to"`
	FromName    string    `json:"from_name,omitempty"`
	Start       time.Time `json:"start"`
	Answer      time.Time `json:"answer,omitzero"` // zero when not answered
	End         time.Time `json:"end"`
	Disposition string    `json:"disposition"` // one of the Disp* constants
	SIPCode     int       `json:"sip_code"`
	Codec       string    `json:"codec,omitempty"`
	Hangup      string    `json:"hangup,omitempty"` // one of the Hangup* constants, or empty
}

// Duration is the time from Start to End (0 if End is not after Start).
func (c CDR) Duration() time.Duration {
	if c.Start.IsZero() || !c.End.After(c.Start) {
		return 0
	}
	return c.End.Sub(c.Start)
}

// Billsec is the time from Answer to End, 0 when the call was not answered.
func (c CDR) Billsec() time.Duration {
	if c.Answer.IsZero() || !c.End.After(c.Answer) {
		return 0
	}
	return c.End.Sub(c.Answer)
}

// validate checks a CDR before it is stored.
func (c CDR) validate() error {
	switch c.Disposition {
	case DispAnswered, DispBusy, DispNoAnswer, DispCancelled, DispFailed:
	default:
		return fmt.Errorf("%w: disposition %q", ErrInvalid, c.Disposition)
	}
	switch c.Hangup {
	case "", HangupCaller, HangupCallee, HangupTimeout, HangupShutdown, HangupMediaTimeout, HangupNoAck:
	default:
		return fmt.Errorf("%w: hangup %q", ErrInvalid, c.Hangup)
	}
	if c.Start.IsZero() || c.End.IsZero() {
		return fmt.Errorf("%w: start and end times are required", ErrInvalid)
	}
	if c.SIPCode != 0 && (c.SIPCode < 100 || c.SIPCode > 699) {
		return fmt.Errorf("%w: SIP code %d", ErrInvalid, c.SIPCode)
	}
	for _, f := range []string{c.CallID, c.From, c.To, c.FromName, c.Codec} {
		if len(f) > MaxCDRField {
			return fmt.Errorf("%w: field longer than %d bytes", ErrInvalid, MaxCDRField)
		}
	}
	return nil
}

// AppendCDR stores a record and sets c.ID to its sequence number (1, 2, ...).
// Records are never changed afterwards.
func (db *DB) AppendCDR(c *CDR) error {
	if err := c.validate(); err != nil {
		return fmt.Errorf("store: append CDR: %w", err)
	}
	rec := *c
	rec.Start, rec.Answer, rec.End = rec.Start.UTC(), rec.Answer.UTC(), rec.End.UTC()
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCDR)
		id, err := b.NextSequence()
		if err != nil {
			return fmt.Errorf("next sequence: %w", err)
		}
		rec.ID = id
		return putJSON(b, u64(id), rec)
	})
	if err != nil {
		return fmt.Errorf("store: append CDR %q: %w", c.CallID, err)
	}
	c.ID = rec.ID
	return nil
}

// CDRQuery selects CDRs. Zero fields do not filter.
type CDRQuery struct {
	Since  time.Time // Start at or after Since
	Until  time.Time // Start before Until
	Number string    // From or To equals Number
	Limit  int       // at most Limit records; 0 or less means all
}

// match reports whether c passes the query's filters.
func (q CDRQuery) match(c *CDR) bool {
	if !q.Since.IsZero() && c.Start.Before(q.Since) {
		return false
	}
	if !q.Until.IsZero() && !c.Start.Before(q.Until) {
		return false
	}
	if q.Number != "" && c.From != q.Number && c.To != q.Number {
		return false
	}
	return true
}

// CDRs returns the records matching q, newest first (most recently
// appended first, i.e. by descending ID).
func (db *DB) CDRs(q CDRQuery) ([]CDR, error) {
	var out []CDR
	err := db.bolt.View(func(tx *bolt.Tx) error {
		cur := tx.Bucket(bucketCDR).Cursor()
		for k, v := cur.Last(); k != nil; k, v = cur.Prev() {
			var c CDR
			if err := json.Unmarshal(v, &c); err != nil {
				return fmt.Errorf("decode CDR %x: %w", k, err)
			}
			if !q.match(&c) {
				continue
			}
			out = append(out, c)
			if q.Limit > 0 && len(out) >= q.Limit {
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: CDRs: %w", err)
	}
	return out, nil
}
