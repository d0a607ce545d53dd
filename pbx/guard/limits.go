package guard

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Limits are the guard's tunable rates, as the owner sets them on the web
// page (JSON names match web.GuardLimits).
type Limits struct {
	// RequestsPerSecond is each source's sustained rate of SIP datagrams.
	RequestsPerSecond int `json:"requests_per_second"`
	// Burst is how many datagrams a quiet source may send at once.
	Burst int `json:"burst"`
	// AuthFailures is how many wrong passwords (within FailureWindow) ban.
	AuthFailures int `json:"auth_failures"`
	// BanTime is the first ban's length; each further ban doubles it, up
	// to MaxBanTime.
	BanTime time.Duration `json:"ban_time"`
}

// DefaultLimits suit a desk PBX: a phone sends a few requests a second at
// most (a burst when it boots), a person mistypes a password twice.
var DefaultLimits = Limits{RequestsPerSecond: 20, Burst: 60, AuthFailures: 5, BanTime: 10 * time.Minute}

// Bounds of the limits the owner may set.
const (
	MaxRequestsPerSecond = 10000
	MaxBurst             = 100000
	MaxAuthFailures      = 100
	MinBanTime           = 10 * time.Second
	MaxBanTime           = 7 * 24 * time.Hour
)

// Problems returns one message per bad field, keyed by the field's JSON
// name; empty when the limits are usable.
func (l Limits) Problems() map[string]string {
	p := map[string]string{}
	if l.RequestsPerSecond < 1 || l.RequestsPerSecond > MaxRequestsPerSecond {
		p["requests_per_second"] = fmt.Sprintf("from 1 to %d", MaxRequestsPerSecond)
	}
	if l.Burst < 1 || l.Burst > MaxBurst {
		p["burst"] = fmt.Sprintf("from 1 to %d", MaxBurst)
	}
	if l.AuthFailures < 1 || l.AuthFailures > MaxAuthFailures {
		p["auth_failures"] = fmt.Sprintf("from 1 to %d", MaxAuthFailures)
	}
	if l.BanTime < MinBanTime || l.BanTime > MaxBanTime {
		p["ban_time"] = fmt.Sprintf("from %v to %v", MinBanTime, MaxBanTime)
	}
	return p
}

// Validate is Problems as an error.
func (l Limits) Validate() error {
	p := l.Problems()
	if len(p) == 0 {
		return nil
	}
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(k + ": " + p[k])
	}
	return errors.New("guard limits: " + b.String())
}

// banLength is the ban for the n-th strike (n >= 1): base doubled per
// strike, capped at MaxBanTime.
func banLength(base time.Duration, n int) time.Duration {
	d := base
	for i := 1; i < n && d < MaxBanTime; i++ {
		d *= 2
	}
	return min(d, MaxBanTime)
}
