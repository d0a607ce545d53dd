package daemon

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"hushbox/pbx/guard"
	"hushbox/pbx/sipmsg"
)

// startGuardedPBX starts a test daemon whose guard trusts only 127.0.0.1,
// so that other loopback addresses (127.0.0.2, ...) are strangers, and
// returns the guard. The host's firewall is left alone.
func startGuardedPBX(t *testing.T) (*pbx, *guard.Guard) {
	t.Helper()
	var got atomic.Pointer[guard.Guard]
	guardStarted = func(g *guard.Guard) {
		if err := g.SetAllowList([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}); err != nil {
			t.Error(err)
		}
		got.Store(g)
	}
	t.Cleanup(func() { guardStarted = nil })
	p := startPBX(t, pbxOptions{})
	g := got.Load()
	if g == nil {
		t.Fatal("the daemon made no guard")
	}
	return p, g
}

// rawUA sends hand-made SIP over UDP from a chosen loopback address, as an
// attacker's tool does, and reads one answer per request (nil: silence).
type rawUA struct {
	t    *testing.T
	conn *net.UDPConn
	dst  *net.UDPAddr
}

func newRawUA(t *testing.T, src string, p *pbx) *rawUA {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(src)})
	if err != nil {
		t.Skipf("cannot bind %s (loopback alias): %v", src, err)
	}
	t.Cleanup(func() { conn.Close() })
	dst, err := net.ResolveUDPAddr("udp4", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	return &rawUA{t: t, conn: conn, dst: dst}
}

// exchange sends req and waits up to wait for a response to it.
func (u *rawUA) exchange(req *sip.Request, wait time.Duration) *sip.Response {
	u.t.Helper()
	branch := fmt.Sprintf("z9hG4bK-%x", rand.Uint64())
	req.RemoveHeader("Via")
	req.PrependHeader(sip.NewHeader("Via", "SIP/2.0/UDP "+u.conn.LocalAddr().String()+";branch="+branch))
	if _, err := u.conn.WriteToUDP([]byte(req.String()), u.dst); err != nil {
		u.t.Fatal(err)
	}
	deadline := time.Now().Add(wait)
	buf := make([]byte, 65535)
	for {
		u.conn.SetReadDeadline(deadline)
		n, _, err := u.conn.ReadFromUDP(buf)
		if err != nil {
			return nil // silence
		}
		if !bytes.Contains(buf[:n], []byte(branch)) {
			continue // a late answer to an earlier request
		}
		msg, err := sip.ParseMessage(buf[:n])
		if err != nil {
			u.t.Fatalf("unparseable answer: %v\n%s", err, buf[:n])
		}
		if res, ok := msg.(*sip.Response); ok {
			return res
		}
	}
}

// registerRequest is a REGISTER for user from u's address.
func (u *rawUA) registerRequest(user string) *sip.Request {
	local := u.conn.LocalAddr().String()
	text := fmt.Sprintf("REGISTER sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-x\r\nMax-Forwards: 70\r\n"+
		"From: <sip:%s@127.0.0.1>;tag=%x\r\nTo: <sip:%s@127.0.0.1>\r\nCall-ID: %x@guard-test\r\nCSeq: 1 REGISTER\r\n"+
		"Contact: <sip:%s@%s>\r\nExpires: 60\r\nUser-Agent: guard-test\r\nContent-Length: 0\r\n\r\n",
		u.dst, local, user, rand.Uint32(), user, rand.Uint64(), user, local)
	msg, err := sip.ParseMessage([]byte(text))
	if err != nil {
		u.t.Fatal(err)
	}
	return msg.(*sip.Request)
}

// register tries user/password and returns the final answer's code, or 0
// when the daemon stays silent at any step.
func (u *rawUA) register(user, password string) (code int, reason string) {
	u.t.Helper()
	req := u.registerRequest(user)
	res := u.exchange(req, time.Second)
	if res == nil {
		return 0, ""
	}
	if res.StatusCode != 401 {
		return res.StatusCode, res.Reason
	}
	if err := sipmsg.AnswerChallenge(req, res, user, password); err != nil {
		u.t.Fatalf("answer challenge: %v", err)
	}
	res = u.exchange(req, time.Second)
	if res == nil {
		return 0, ""
	}
	return res.StatusCode, res.Reason
}

// A password guesser on 127.0.0.2 is banned within a handful of attempts,
// sees the same answer for a known and an unknown user until then, and
// silence after; the owner's phone on 127.0.0.1 and an honest stranger on
// 127.0.0.3 still register.
func TestGuardBansPasswordGuesser(t *testing.T) {
	p, g := startGuardedPBX(t)
	ctx := testCtx(t, 30*time.Second)
	limit := g.Limits().AuthFailures
	cracker := newRawUA(t, "127.0.0.2", p)
	bannedAt := 0
	var answers []string
	for attempt := 1; attempt <= limit+3; attempt++ {
		user := "101"
		if attempt%2 == 0 {
			user = "999" // no such extension
		}
		code, reason := cracker.register(user, fmt.Sprintf("guess-%d", attempt))
		if code == 0 {
			bannedAt = attempt
			break
		}
		answers = append(answers, fmt.Sprintf("%d %s", code, reason))
	}
	if bannedAt == 0 || bannedAt > limit+1 {
		t.Fatalf("guesser not silenced after %d attempts (limit %d); answers %q", limit+3, limit, answers)
	}
	for _, a := range answers {
		if a != answers[0] || a != "403 Forbidden" {
			t.Fatalf("wrong passwords for known and unknown users answered differently: %q", answers)
		}
	}
	if !g.Banned(netip.MustParseAddr("127.0.0.2")) {
		t.Fatal("guard does not list 127.0.0.2 as banned")
	}
	bans := g.Bans()
	if len(bans) != 1 || bans[0].Reason != "auth failures" || bans[0].Addr != netip.MustParseAddr("127.0.0.2") {
		t.Fatalf("bans %+v", bans)
	}
	// Even the right password gets silence from a banned source.
	if code, _ := cracker.register("101", testPasswords["101"]); code != 0 {
		t.Fatalf("banned source got %d", code)
	}
	newPhone(t, p, "101").mustRegister(ctx)
	honest := newRawUA(t, "127.0.0.3", p)
	if code, reason := honest.register("102", testPasswords["102"]); code != 200 {
		t.Fatalf("honest stranger: %d %s", code, reason)
	}
	t.Logf("guesser silenced at attempt %d after answers %q", bannedAt, answers)
}

// A scanner's first request gets silence and bans its source.
func TestGuardSilencesScanner(t *testing.T) {
	p, g := startGuardedPBX(t)
	scanner := newRawUA(t, "127.0.0.2", p)
	req := scanner.registerRequest("100")
	req.ReplaceHeader(sip.NewHeader("User-Agent", "friendly-scanner"))
	if res := scanner.exchange(req, time.Second); res != nil {
		t.Fatalf("scanner got an answer: %d %s", res.StatusCode, res.Reason)
	}
	if !g.Banned(netip.MustParseAddr("127.0.0.2")) {
		t.Fatal("scanner not banned")
	}
	// A scanner from the allow-list is not banned, but still gets silence.
	lan := newRawUA(t, "127.0.0.1", p)
	req = lan.registerRequest("100")
	req.ReplaceHeader(sip.NewHeader("User-Agent", "friendly-scanner"))
	if res := lan.exchange(req, time.Second); res != nil {
		t.Fatalf("allow-listed scanner got an answer: %d", res.StatusCode)
	}
	if g.Banned(netip.MustParseAddr("127.0.0.1")) {
		t.Fatal("allow-listed source banned")
	}
}

// A bounded flood from one stranger is dropped before parsing (it gets at
// most a burst of answers), raises the pressure level, and does not keep
// the owner's phone from registering.
func TestGuardFloodRaisesPressure(t *testing.T) {
	if testing.Short() {
		t.Skip("flood test")
	}
	p, g := startGuardedPBX(t)
	ctx := testCtx(t, 60*time.Second)
	flooder := newRawUA(t, "127.0.0.2", p)
	local := flooder.conn.LocalAddr().String()
	var answered atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65535)
		for {
			flooder.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
			if _, _, err := flooder.conn.ReadFromUDP(buf); err != nil {
				return
			}
			answered.Add(1)
		}
	}()
	const flood = 20000
	before := g.Refused()
	for i := range flood {
		msg := fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-f%d\r\nMax-Forwards: 70\r\n"+
			"From: <sip:flood@127.0.0.2>;tag=f%d\r\nTo: <sip:%s>\r\nCall-ID: f%d@flood\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
			p.addr, local, i, i, p.addr, i)
		flooder.conn.WriteToUDP([]byte(msg), flooder.dst)
		if i%50 == 0 {
			time.Sleep(time.Millisecond) // bounded: at most 50k/s
		}
	}
	waitUntil(t, ctx, "pressure above normal", func() bool {
		lvl, _ := g.Pressure()
		return lvl >= guard.Elevated
	})
	<-done
	refused := g.Refused() - before
	lim := g.Limits()
	if refused < flood*9/10 {
		t.Fatalf("only %d of %d flood datagrams refused", refused, flood)
	}
	if n := answered.Load(); n > int64(2*lim.Burst) {
		t.Fatalf("flooder got %d answers; the guard should let a burst of %d through", n, lim.Burst)
	}
	lvl, score := g.Pressure()
	st := g.Stats()
	t.Logf("flood of %d: refused %d (limited %d, banned %d), %d answered, pressure %v (%.2f)",
		flood, refused, st.DropLimited, st.DropBanned, answered.Load(), lvl, score)
	newPhone(t, p, "101").mustRegister(ctx)
}

// TCP: a banned source's connection is refused at accept.
func TestGuardRefusesBannedTCP(t *testing.T) {
	p, g := startGuardedPBX(t)
	if err := g.Ban(netip.MustParseAddr("127.0.0.2"), time.Minute, "test"); err != nil {
		t.Fatal(err)
	}
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", p.addr)
	if err != nil {
		t.Skipf("cannot dial from 127.0.0.2: %v", err)
	}
	defer c.Close()
	fmt.Fprintf(c, "OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/TCP %s;branch=z9hG4bK-t1\r\nMax-Forwards: 70\r\n"+
		"From: <sip:x@127.0.0.2>;tag=1\r\nTo: <sip:%s>\r\nCall-ID: t1@tcp\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
		p.addr, c.LocalAddr(), p.addr)
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err == nil {
		t.Fatalf("banned TCP source got an answer: %q", buf[:n])
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("connection of a banned source left open")
	}
}
