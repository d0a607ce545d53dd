package daemon

import (
	"os"
	"strconv"
	"testing"
	"time"

	"hushbox/pbx/accounts"
	"hushbox/pbx/store"
)

// A phone registered before a clean restart is still reachable after it,
// without re-registering.
func TestE2ERegistrationsSurviveRestart(t *testing.T) {
	ctx := testCtx(t, 40*time.Second)
	dir, err := os.MkdirTemp("", "hbrestart")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := store.Open(dir + "/" + DBName)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"101", "102"} {
		if _, err := accounts.Add(db, testRealm, n, "", testPasswords[n]); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	port := freeSIPPort(t)
	lo := freeRTPRange(t, 20)
	start := func() (*pbx, func()) {
		p := &pbx{t: t, dir: dir, port: port, addr: "127.0.0.1:" + strconv.Itoa(port), rtpLo: lo, rtpHi: lo + 19}
		out, stop := runDaemon(t, Config{DataDir: dir, SIPAddr: p.addr, RTPPorts: strconv.Itoa(lo) + "-" + strconv.Itoa(lo+19),
			Realm: testRealm, MediaIP: "127.0.0.1", MediaTimeout: time.Minute, RingTimeout: 20 * time.Second})
		p.out = out
		return p, stop
	}
	p1, stop1 := start()
	callee := newPhone(t, p1, "102")
	defer callee.close()
	callee.mustRegister(ctx)
	stop1()

	p2, stop2 := start()
	defer stop2()
	if regs := p2.registrations(ctx); len(regs) != 1 || regs[0].Extension != "102" {
		t.Fatalf("registrations after restart: %+v", regs)
	}
	caller := newPhone(t, p2, "101")
	defer caller.close()
	caller.mustRegister(ctx)
	oc := caller.call(ctx, "102", buildSDP(caller.rtpPort(), ptsAll, "sendrecv"), ptsAll)
	if res := oc.waitFinal(ctx); res.StatusCode != 200 {
		t.Fatalf("call after restart answered %d; the phone was not reachable", res.StatusCode)
	}
	if r := oc.d.bye(ctx); r.StatusCode != 200 {
		t.Fatalf("BYE answered %d", r.StatusCode)
	}
}
