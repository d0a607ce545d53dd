package daemon

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"hushbox/pbx/accounts"
	"hushbox/pbx/store"
)

// TestReliabilityGracefulRestartDuringCalls: with two answered calls up,
// the daemon is stopped the way `hushbox serve` stops on SIGTERM (its
// context ends: cmd/hushbox maps SIGINT/SIGTERM to that). Every leg of
// every call must get a BYE, both calls must have a CDR with hangup reason
// "shutdown", and after a restart on the same data folder all four phones
// must still be registered (restored from the store) and reachable without
// registering again.
func TestReliabilityGracefulRestartDuringCalls(t *testing.T) {
	ctx := testCtx(t, 60*time.Second)
	dir, err := os.MkdirTemp("", "hbgrace")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := store.Open(filepath.Join(dir, DBName))
	if err != nil {
		t.Fatal(err)
	}
	exts := []string{"101", "102", "103", "104"}
	for _, n := range exts {
		if _, err := accounts.Add(db, testRealm, n, "", testPasswords[n]); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	port := freeSIPPort(t)
	lo := freeRTPRange(t, 20)
	free := freePorts(lo, lo+19)
	start := func() (*pbx, func()) {
		p := &pbx{t: t, dir: dir, port: port, addr: "127.0.0.1:" + strconv.Itoa(port), rtpLo: lo, rtpHi: lo + 19, freeAtStart: free}
		out, stop := runDaemon(t, Config{DataDir: dir, SIPAddr: p.addr, RTPPorts: strconv.Itoa(lo) + "-" + strconv.Itoa(lo+19),
			Realm: testRealm, MediaIP: "127.0.0.1", MediaTimeout: time.Minute, RingTimeout: 20 * time.Second})
		p.out = out
		return p, stop
	}

	p1, stop1 := start()
	phones := map[string]*phone{}
	for _, n := range exts {
		ph := newPhone(t, p1, n)
		defer ph.close()
		ph.mustRegister(ctx)
		phones[n] = ph
	}
	oc1, ic1 := answeredCall(t, ctx, p1, phones["101"], phones["102"], ptsAll)
	oc2, ic2 := answeredCall(t, ctx, p1, phones["103"], phones["104"], ptsAll)
	relayBothWays(t, ctx, phones["101"], phones["102"], oc1, ic1, 5)
	relayBothWays(t, ctx, phones["103"], phones["104"], oc2, ic2, 5)

	stop1() // what SIGTERM does to `hushbox serve`

	for _, leg := range []struct {
		name string
		d    *dialog
	}{{"101 (caller)", oc1.d}, {"102 (callee)", ic1.d}, {"103 (caller)", oc2.d}, {"104 (callee)", ic2.d}} {
		if !leg.d.gotBye() {
			t.Errorf("leg %s got no BYE when the daemon stopped", leg.name)
		}
	}
	if !p1.relayPortsFree() {
		t.Errorf("relay ports still held after shutdown: free %v, want %v", freePorts(lo, lo+19), free)
	}

	// The CDRs were written before Run returned.
	db, err = store.Open(filepath.Join(dir, DBName))
	if err != nil {
		t.Fatal(err)
	}
	cdrs, err := db.CDRs(store.CDRQuery{})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{oc1.callID(), oc2.callID()} {
		i := slices.IndexFunc(cdrs, func(c store.CDR) bool { return c.CallID == id })
		if i < 0 {
			t.Errorf("no CDR for call %s after shutdown", id)
			continue
		}
		c := cdrs[i]
		if c.Answer.IsZero() || c.End.IsZero() || c.Disposition != store.DispAnswered || c.Hangup != store.HangupShutdown {
			t.Errorf("CDR of %s: %+v, want answered, ended, hangup %q", id, c, store.HangupShutdown)
		}
	}

	p2, stop2 := start()
	defer stop2()
	regs := p2.registrations(ctx)
	var got []string
	for _, r := range regs {
		got = append(got, r.Extension)
	}
	slices.Sort(got)
	if !slices.Equal(got, exts) {
		t.Fatalf("registrations after restart: %v, want %v", got, exts)
	}
	// No phone registers again: each callee must be reachable from the
	// restored bindings alone.
	for _, pair := range [][2]string{{"102", "101"}, {"104", "103"}} {
		caller := phones[pair[0]]
		oc := caller.call(ctx, pair[1], buildSDP(caller.rtpPort(), ptsAll, "sendrecv"), ptsAll)
		if res := oc.waitFinal(ctx); res.StatusCode != 200 {
			t.Fatalf("call %s -> %s after restart answered %d; the callee was not reachable", pair[0], pair[1], res.StatusCode)
		}
		if r := oc.d.bye(ctx); r.StatusCode != 200 {
			t.Fatalf("BYE answered %d", r.StatusCode)
		}
	}
}
