package guard

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"
)

// load reads limits, allow-list and bans from the store. Unreadable values
// are logged and skipped; only a failing store is an error.
func (g *Guard) load() error {
	if g.store == nil {
		return nil
	}
	if v, ok, err := g.store.Setting(SettingLimits); err != nil {
		return fmt.Errorf("guard: read limits: %w", err)
	} else if ok {
		var l Limits
		if err := json.Unmarshal([]byte(v), &l); err != nil || l.Validate() != nil {
			g.log.Warn("stored guard limits unusable; using the defaults", "err", err)
		} else {
			g.limits.Store(&l)
		}
	}
	if v, ok, err := g.store.Setting(SettingAllow); err != nil {
		return fmt.Errorf("guard: read allow-list: %w", err)
	} else if ok {
		var ps []netip.Prefix
		if err := json.Unmarshal([]byte(v), &ps); err != nil || validAllow(ps) != nil {
			g.log.Warn("stored guard allow-list unusable; using the default", "err", err)
		} else {
			g.allow.Store(&allowList{prefixes: ps})
		}
	}
	v, ok, err := g.store.Setting(SettingBans)
	if err != nil {
		return fmt.Errorf("guard: read bans: %w", err)
	}
	if !ok {
		return nil
	}
	var bans []Ban
	if err := json.Unmarshal([]byte(v), &bans); err != nil {
		g.log.Warn("stored bans unreadable; starting without them", "err", err)
		return nil
	}
	now := g.now()
	n := 0
	for _, b := range bans {
		a := b.Addr.Unmap()
		if !a.IsValid() || !b.Expires.After(now) || g.allow.Load().contains(a) {
			continue
		}
		sh := &g.shards[shardOf(a)]
		sh.mu.Lock()
		s := sh.get(a, now.UnixNano(), float64(g.limits.Load().Burst))
		if s != &sh.overflow {
			s.bannedUntil, s.banSince, s.reason, s.strikes = b.Expires.UnixNano(), b.Since.UnixNano(), b.Reason, max(1, b.Strikes)
			g.firewall(fwOp{addr: a, ban: true, d: b.Expires.Sub(now)})
			n++
		}
		sh.mu.Unlock()
	}
	if n > 0 {
		g.log.Info("bans kept from the last run", "count", n)
	}
	return nil
}

// SaveBans writes the bans in force to the store (the longest-lasting
// first, as many as fit). The guard's Run loop calls it when bans changed.
func (g *Guard) SaveBans() error {
	g.saveMu.Lock()
	defer g.saveMu.Unlock()
	g.dirty.Store(false)
	bans := g.Bans()
	if len(bans) > maxSavedBans {
		sort.Slice(bans, func(i, j int) bool { return bans[i].Expires.After(bans[j].Expires) })
		bans = bans[:maxSavedBans]
	}
	if bans == nil {
		bans = []Ban{}
	}
	if err := g.saveJSON(SettingBans, bans); err != nil {
		g.dirty.Store(true)
		return err
	}
	return nil
}

func (g *Guard) saveJSON(key string, v any) error {
	if g.store == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("guard: encode %s: %w", key, err)
	}
	if err := g.store.SetSetting(key, string(b)); err != nil {
		return fmt.Errorf("guard: save %s: %w", key, err)
	}
	return nil
}
