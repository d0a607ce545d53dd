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
	// UntrustedPerSecond caps the SIP datagrams of all untrusted sources
	// together, in the kernel (nftables only); 0 means
	// DefaultUntrustedPerSecond.
	UntrustedPerSecond int `json:"untrusted_per_second,omitempty"`
}

// DefaultUntrustedPerSecond is the kernel's cap on SIP datagrams from all
// sources that are neither allow-listed nor trusted. A Pi 2 (and the
// test bed's board at a fifth of a core, which reads about 400 datagrams a
// second) spends a share of its CPU it can afford on 200 strangers a
// second, each answered with a challenge, and keeps the rest for the
// phones; 200 new strangers a second is far more than a desk PBX's
// legitimate first contacts (a phone that boots sends a handful).
const DefaultUntrustedPerSecond = 200

// Untrusted is the cap in force (the default for 0).
func (l Limits) Untrusted() int {
	if l.UntrustedPerSecond <= 0 {
		return DefaultUntrustedPerSecond
	}
	return l.UntrustedPerSecond
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
	if l.UntrustedPerSecond < 0 || l.UntrustedPerSecond > MaxRequestsPerSecond {
		p["untrusted_per_second"] = fmt.Sprintf("from 1 to %d, or 0 for the default", MaxRequestsPerSecond)
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
