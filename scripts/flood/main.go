// Command flood is a bounded SIP flooder for the network-namespace test bed
// (scripts/testbed.sh, issue 7): it sends unauthenticated SIP requests over
// UDP at a fixed rate to one target, for a fixed time and never more than a
// fixed count, from one or more local source addresses (the attacker's
// namespace may carry many, so the flood is not a single source that one
// ban silences). It never reads answers: like a real flood it does not care.
//
//	go run ./scripts/flood -target 10.71.2.2:5060 -rate 10000 -duration 20s \
//	    -max 300000 -sources 10.71.5.10-10.71.5.59 -method INVITE
//
// It is a test tool: it refuses to run without an explicit -max and
// -duration, and caps them (2,000,000 datagrams, 5 minutes). At the end it
// prints one line: "flood: sent=N errors=E seconds=S rate=R".
//
// With -answers it also reads what the target sends back and counts the
// final responses (status >= 200: for an unauthenticated INVITE the digest
// challenge), for a capacity measurement: how many requests per second the
// target actually served. It then waits 300 ms for answers in flight and
// adds "answered=A answered_rate=AR" to the line (A per second from the
// first request to the last request or answer, whichever came later).
package main

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/ipv4"
)

// Hard caps: whatever the flags say, a run stays bounded.
const (
	maxCount    = 4_000_000
	maxDuration = 5 * time.Minute
	maxSources  = 1024
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "flood:", err)
		os.Exit(1)
	}
}

// config is what the flags ask for.
type config struct {
	target   netip.AddrPort
	rate     int
	duration time.Duration
	max      int
	sources  []netip.Addr
	method   string
	answers  bool
}

func parseFlags(args []string) (config, error) {
	fs := flag.NewFlagSet("flood", flag.ContinueOnError)
	target := fs.String("target", "", "HOST:PORT to flood (UDP), e.g. 10.71.2.2:5060")
	rate := fs.Int("rate", 1000, "datagrams per second, all sources together")
	duration := fs.Duration("duration", 0, "how long to flood (required, at most 5m)")
	count := fs.Int("max", 0, "the most datagrams to send (required, at most 4000000)")
	sources := fs.String("sources", "", "local source addresses: A, A-B (IPv4 range) or a comma list (default: any)")
	method := fs.String("method", "INVITE", "SIP method: INVITE, REGISTER or OPTIONS")
	answers := fs.Bool("answers", false, "count the target's final responses (a capacity measurement)")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	var c config
	var err error
	if c.target, err = netip.ParseAddrPort(*target); err != nil {
		return c, fmt.Errorf("-target: %w", err)
	}
	if *rate < 1 || *rate > 1_000_000 {
		return c, fmt.Errorf("-rate %d: want 1 to 1000000", *rate)
	}
	if *duration <= 0 || *duration > maxDuration {
		return c, fmt.Errorf("-duration %v: want more than 0 and at most %v", *duration, maxDuration)
	}
	if *count < 1 || *count > maxCount {
		return c, fmt.Errorf("-max %d: want 1 to %d", *count, maxCount)
	}
	switch *method {
	case "INVITE", "REGISTER", "OPTIONS":
	default:
		return c, fmt.Errorf("-method %q: want INVITE, REGISTER or OPTIONS", *method)
	}
	if c.sources, err = parseSources(*sources); err != nil {
		return c, fmt.Errorf("-sources: %w", err)
	}
	c.rate, c.duration, c.max, c.method, c.answers = *rate, *duration, *count, *method, *answers
	return c, nil
}

// parseSources reads "", "A", "A-B" (IPv4, inclusive) or "A,B,C".
func parseSources(s string) ([]netip.Addr, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var out []netip.Addr
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := netip.ParseAddr(lo)
		if err != nil {
			return nil, err
		}
		if !isRange {
			out = append(out, a)
			continue
		}
		b, err := netip.ParseAddr(hi)
		if err != nil {
			return nil, err
		}
		if !a.Is4() || !b.Is4() || b.Less(a) {
			return nil, fmt.Errorf("range %s: want two IPv4 addresses, low first", part)
		}
		for x := a; !b.Less(x); x = x.Next() {
			out = append(out, x)
			if len(out) > maxSources {
				return nil, fmt.Errorf("more than %d sources", maxSources)
			}
		}
	}
	if len(out) > maxSources {
		return nil, fmt.Errorf("more than %d sources", maxSources)
	}
	return out, nil
}

// request is one SIP request of the flood, different each time (Call-ID,
// branch, tag), as a real flood's requests are.
func request(method string, from netip.AddrPort, to netip.AddrPort, n int, r *rand.Rand) []byte {
	id := r.Uint64()
	uri := fmt.Sprintf("sip:%d@%s", 100+r.IntN(900), to.Addr())
	body := ""
	ctype := ""
	if method == "INVITE" {
		body = fmt.Sprintf("v=0\r\no=- %d 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\nm=audio %d RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\n",
			id, from.Addr(), from.Addr(), 30000+2*(n%1000))
		ctype = "Content-Type: application/sdp\r\n"
	}
	if method == "REGISTER" {
		uri = "sip:" + to.Addr().String()
	}
	return fmt.Appendf(nil, "%s %s SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP %s;branch=z9hG4bK%x;rport\r\n"+
		"Max-Forwards: 70\r\n"+
		"From: <sip:%d@%s>;tag=%x\r\n"+
		"To: <%s>\r\n"+
		"Call-ID: %x@%s\r\n"+
		"CSeq: 1 %s\r\n"+
		"Contact: <sip:%d@%s>\r\n"+
		"User-Agent: testbed-load\r\n"+
		"%s"+
		"Content-Length: %d\r\n\r\n%s",
		method, uri, from, id, 1000+n%9000, from.Addr(), id>>7, uri, id, from.Addr(), method,
		1000+n%9000, from, ctype, len(body), body)
}

func run(args []string) error {
	c, err := parseFlags(args)
	if err != nil {
		return err
	}
	srcs := c.sources
	if len(srcs) == 0 {
		srcs = []netip.Addr{{}}
	}
	conns := make([]*net.UDPConn, 0, len(srcs))
	defer func() {
		for _, conn := range conns {
			conn.Close()
		}
	}()
	for _, a := range srcs {
		var laddr *net.UDPAddr
		if a.IsValid() {
			laddr = net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, 0))
		}
		conn, err := net.DialUDP("udp4", laddr, net.UDPAddrFromAddrPort(c.target))
		if err != nil {
			return fmt.Errorf("socket from %v: %w", a, err)
		}
		conns = append(conns, conn)
	}
	var answered, lastAnswer atomic.Int64 // count; unix ns of the last one
	var readers sync.WaitGroup
	if c.answers {
		for _, conn := range conns {
			readers.Add(1)
			go func() {
				defer readers.Done()
				countAnswers(conn, &answered, &lastAnswer)
			}()
		}
	}
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	// The requests are made before the flood (poolSize per source, used in
	// turn), so that the sending loop is system calls only: one sendmmsg per
	// source and tick.
	pools := make([][][]byte, len(conns))
	for i, conn := range conns {
		from, _ := netip.ParseAddrPort(conn.LocalAddr().String())
		for k := range poolSize {
			pools[i] = append(pools[i], request(c.method, from, c.target, k*len(conns)+i, r))
		}
	}
	pcs := make([]*ipv4.PacketConn, len(conns))
	msgs := make([][]ipv4.Message, len(conns))
	for i, conn := range conns {
		pcs[i] = ipv4.NewPacketConn(conn)
		msgs[i] = make([]ipv4.Message, maxBatch)
	}
	start := time.Now()
	end := start.Add(c.duration)
	sent, errs := 0, 0
	next := make([]int, len(conns)) // per source: the next request of its pool
	// Sends in ticks: each tick catches up to rate*elapsed, spread over the
	// sources, and never goes past the end (a host too busy to send the
	// rate sends less, not longer).
	tick := time.NewTicker(sendTick)
	defer tick.Stop()
	for now := start; now.Before(end) && sent < c.max; now = <-tick.C {
		due := min(c.max, int(float64(c.rate)*now.Sub(start).Seconds())+1)
		for sent < due && time.Now().Before(end) {
			n := due - sent
			per := max(1, min(maxBatch, n/len(conns)))
			for i := 0; i < len(conns) && sent < due; i++ {
				k := min(per, due-sent)
				batch := msgs[i][:k]
				for j := range batch {
					batch[j].Buffers = [][]byte{pools[i][next[i]]}
					next[i] = (next[i] + 1) % poolSize
				}
				w, err := pcs[i].WriteBatch(batch, 0)
				if err != nil {
					// ECONNREFUSED from an ICMP error, a full buffer: keep going
					errs += k - max(w, 0)
				}
				sent += k
			}
		}
	}
	secs := time.Since(start).Seconds()
	if !c.answers {
		fmt.Printf("flood: sent=%d errors=%d seconds=%.2f rate=%.0f\n", sent, errs, secs, float64(sent)/secs)
		return nil
	}
	time.Sleep(answerDrain)
	for _, conn := range conns {
		conn.Close() // ends the readers
	}
	readers.Wait()
	n := answered.Load()
	// Answers per second of sending, or of the time up to the last answer
	// when a backlog was still being answered after the last request.
	span := max(secs, time.Unix(0, lastAnswer.Load()).Sub(start).Seconds())
	fmt.Printf("flood: sent=%d errors=%d seconds=%.2f rate=%.0f answered=%d answered_rate=%.0f\n",
		sent, errs, secs, float64(sent)/secs, n, float64(n)/span)
	return nil
}

// Sending: requests made ahead per source, the sending tick, and the most
// datagrams one sendmmsg carries.
const (
	poolSize = 128
	sendTick = 5 * time.Millisecond
	maxBatch = 256
)

// answerDrain is how long -answers waits after the last request for the
// answers still in flight.
const answerDrain = 300 * time.Millisecond

// countAnswers reads datagrams from conn until it is closed and counts the
// final SIP responses among them, noting when the last one came.
func countAnswers(conn *net.UDPConn, n, last *atomic.Int64) {
	buf := make([]byte, 2048)
	for {
		k, err := conn.Read(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // ECONNREFUSED from an ICMP error: keep reading
		}
		if isFinalResponse(buf[:k]) {
			n.Add(1)
			last.Store(time.Now().UnixNano())
		}
	}
}

// isFinalResponse reports whether b starts with a SIP status line whose
// code is 200-699 (100 Trying and other provisional answers do not count).
func isFinalResponse(b []byte) bool {
	const prefix = "SIP/2.0 "
	if len(b) < len(prefix)+3 || string(b[:len(prefix)]) != prefix {
		return false
	}
	d := b[len(prefix):]
	for _, ch := range d[:3] {
		if ch < '0' || ch > '9' {
			return false
		}
	}
	return d[0] >= '2' && d[0] <= '6'
}
