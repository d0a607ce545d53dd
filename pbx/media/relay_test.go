package media

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/pion/rtp"

	"hushbox/audio/g711"
)

// setup returns a session whose legs know the SDP addresses of two test
// phones, A and B.
func setup(t *testing.T) (*Relay, *Session, *peer, *peer) {
	t.Helper()
	r, s := newTestRelay(t, 4, 0)
	pa, pb := newPeer(t), newPeer(t)
	s.A().SetRemote(pa.addr())
	s.B().SetRemote(pb.addr())
	return r, s, pa, pb
}

func TestRelayBothWays(t *testing.T) {
	_, s, pa, pb := setup(t)
	want := rtpPacket(0, true, 1, bytes.Repeat([]byte{0xAB}, 160))
	pa.send(s.A().Port(), want)
	got, src := pb.recv()
	if !bytes.Equal(got, want) {
		t.Fatalf("A->B: got %x, want %x", got[:12], want[:12])
	}
	if src != netip.AddrPortFrom(loopback, uint16(s.B().Port())) {
		t.Errorf("A->B: packet came from %v, want leg B's port %d", src, s.B().Port())
	}

	back := rtpPacket(8, false, 7, bytes.Repeat([]byte{0x55}, 160))
	pb.send(s.B().Port(), back)
	got, src = pa.recv()
	if !bytes.Equal(got, back) {
		t.Fatalf("B->A: got %x, want %x", got[:12], back[:12])
	}
	if src != netip.AddrPortFrom(loopback, uint16(s.A().Port())) {
		t.Errorf("B->A: packet came from %v, want leg A's port %d", src, s.A().Port())
	}

	// Out counters move after the send returns: wait for them.
	waitFor(t, "out counters", func() bool { return s.A().Stats().PacketsOut == 1 && s.B().Stats().PacketsOut == 1 })
	a, b := s.A().Stats(), s.B().Stats()
	if a.PacketsIn != 1 || a.BytesIn != uint64(len(want)) || a.PacketsOut != 1 || a.BytesOut != uint64(len(back)) {
		t.Errorf("leg A stats %+v", a)
	}
	if b.PacketsIn != 1 || b.PacketsOut != 1 {
		t.Errorf("leg B stats %+v", b)
	}
	if a.Peer != pa.addr() || b.Peer != pb.addr() {
		t.Errorf("latched peers %v, %v; want %v, %v", a.Peer, b.Peer, pa.addr(), pb.addr())
	}
	if a.LastPacket.IsZero() {
		t.Error("leg A LastPacket not set")
	}
}

// TestOnePacketInOneOut sends a burst and expects each packet, in order
// and unchanged: no buffering, merging or re-packetising.
func TestOnePacketInOneOut(t *testing.T) {
	_, s, pa, pb := setup(t)
	const n = 50
	for i := range n {
		pa.send(s.A().Port(), rtpPacket(0, false, uint16(i), []byte{byte(i), 1, 2, 3}))
	}
	for i := range n {
		got, _ := pb.recv()
		if want := rtpPacket(0, false, uint16(i), []byte{byte(i), 1, 2, 3}); !bytes.Equal(got, want) {
			t.Fatalf("packet %d: got %x, want %x", i, got, want)
		}
	}
}

func TestLatching(t *testing.T) {
	_, s, _, pb := setup(t)
	sdp := newPeer(t)   // address A's SDP announced
	nated := newPeer(t) // where A's packets really come from (NAT)
	foreign := newPeer(t)
	s.A().SetRemote(sdp.addr())

	// Before A latches, B's media goes to A's SDP address.
	pb.send(s.B().Port(), rtpPacket(0, false, 1, []byte("to-sdp")))
	if got, _ := sdp.recv(); !bytes.HasSuffix(got, []byte("to-sdp")) {
		t.Fatalf("before latching: SDP address got %q", got)
	}

	// A's first packet latches its real source.
	nated.send(s.A().Port(), rtpPacket(0, false, 2, []byte("first")))
	if got, _ := pb.recv(); !bytes.HasSuffix(got, []byte("first")) {
		t.Fatalf("B got %q, want first", got)
	}
	pb.send(s.B().Port(), rtpPacket(0, false, 3, []byte("to-nat")))
	if got, _ := nated.recv(); !bytes.HasSuffix(got, []byte("to-nat")) {
		t.Fatalf("after latching: latched source got %q", got)
	}

	// A foreign source is dropped; the next packet B sees is A's.
	foreign.send(s.A().Port(), rtpPacket(0, false, 4, []byte("intruder")))
	nated.send(s.A().Port(), rtpPacket(0, false, 5, []byte("legit")))
	if got, _ := pb.recv(); !bytes.HasSuffix(got, []byte("legit")) {
		t.Fatalf("B got %q, want legit (intruder must be dropped)", got)
	}
	if st := s.A().Stats(); st.Dropped != 1 || st.Peer != nated.addr() {
		t.Errorf("leg A: dropped %d (want 1), peer %v (want %v)", st.Dropped, st.Peer, nated.addr())
	}

	// After Relatch (a re-INVITE moved A), the next source latches.
	s.A().Relatch()
	foreign.send(s.A().Port(), rtpPacket(0, false, 6, []byte("moved")))
	if got, _ := pb.recv(); !bytes.HasSuffix(got, []byte("moved")) {
		t.Fatalf("after relatch: B got %q, want moved", got)
	}
	pb.send(s.B().Port(), rtpPacket(0, false, 7, []byte("follow")))
	if got, _ := foreign.recv(); !bytes.HasSuffix(got, []byte("follow")) {
		t.Fatalf("after relatch: new source got %q", got)
	}
}

func TestRTCPRelayed(t *testing.T) {
	_, s, _, _ := setup(t)
	rtcpA, rtcpB, foreign := newPeer(t), newPeer(t), newPeer(t)
	s.A().SetRemoteRTCP(rtcpA.addr())
	s.B().SetRemoteRTCP(rtcpB.addr())

	rr := rtcpRR(0xCAFE)
	rtcpA.send(s.A().Port()+1, rr)
	got, src := rtcpB.recv()
	if !bytes.Equal(got, rr) {
		t.Fatalf("A->B RTCP: got %x, want %x", got, rr)
	}
	if src.Port() != uint16(s.B().Port()+1) {
		t.Errorf("A->B RTCP came from port %d, want leg B's RTCP port %d", src.Port(), s.B().Port()+1)
	}
	rtcpB.send(s.B().Port()+1, rtcpRR(0xBEEF))
	if got, _ := rtcpA.recv(); !bytes.Equal(got, rtcpRR(0xBEEF)) {
		t.Fatalf("B->A RTCP: got %x", got)
	}

	// RTCP latched on its own; a foreign RTCP source is dropped.
	foreign.send(s.A().Port()+1, rtcpRR(0xBAD))
	rtcpA.send(s.A().Port()+1, rtcpRR(0x600D))
	if got, _ := rtcpB.recv(); !bytes.Equal(got, rtcpRR(0x600D)) {
		t.Fatalf("after RTCP latch: got %x, want the latched source's report", got)
	}
	waitFor(t, "leg A RTCP out counter", func() bool { return s.A().Stats().RTCPOut == 1 })
	st := s.A().Stats()
	if st.RTCPIn != 2 || st.RTCPOut != 1 || st.Dropped != 1 || st.RTCPPeer != rtcpA.addr() {
		t.Errorf("leg A stats %+v", st)
	}
	if st.Peer.IsValid() {
		t.Errorf("RTCP latched the RTP peer too: %v", st.Peer)
	}
}

func TestRTCPDefaultsToNextPort(t *testing.T) {
	_, s := newTestRelay(t, 4, 0)
	s.A().SetRemote(netip.MustParseAddrPort("192.0.2.1:4000"))
	if dst, ok := s.A().rtcpDest(); !ok || dst != netip.MustParseAddrPort("192.0.2.1:4001") {
		t.Errorf("RTCP destination %v %v, want 192.0.2.1:4001", dst, ok)
	}
	s.A().SetRemoteRTCP(netip.MustParseAddrPort("192.0.2.1:5005"))
	if dst, _ := s.A().rtcpDest(); dst != netip.MustParseAddrPort("192.0.2.1:5005") {
		t.Errorf("a=rtcp destination %v, want 192.0.2.1:5005", dst)
	}
	s.A().SetRemote(netip.MustParseAddrPort("0.0.0.0:4000")) // old-style hold
	if dst, ok := s.A().rtpDest(); ok {
		t.Errorf("c=0.0.0.0 gave destination %v", dst)
	}
}

// TestRTCPMux: RTCP sent to an RTP port (rtcp-mux) is relayed untouched,
// even when transcoding is on.
func TestRTCPMux(t *testing.T) {
	_, s, pa, pb := setup(t)
	s.SetTranscode(AtoB, Transcode{FromPT: 72, ToPT: 8, Kind: UlawToAlaw}) // 200 & 0x7F == 72
	sr := []byte{0x80, 200, 0, 6, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24}
	pa.send(s.A().Port(), sr)
	if got, _ := pb.recv(); !bytes.Equal(got, sr) {
		t.Fatalf("muxed RTCP changed: %x", got)
	}
	if st := s.A().Stats(); st.RTCPIn != 1 || st.PacketsIn != 0 {
		t.Errorf("leg A stats %+v", st)
	}
}

func TestTranscodeRelay(t *testing.T) {
	_, s, pa, pb := setup(t)
	s.SetTranscode(AtoB, Transcode{FromPT: 0, ToPT: 8, Kind: UlawToAlaw})

	pcm := make([]int16, 160)
	for i := range pcm {
		pcm[i] = int16((i*523)%20000 - 10000)
	}
	ulaw := make([]byte, 160)
	g711.EncodeUlawFrame(ulaw, pcm)
	in := rtpPacket(0, true, 42, ulaw)
	pa.send(s.A().Port(), in)
	got, _ := pb.recv()

	var pkt rtp.Packet
	if err := pkt.Unmarshal(got); err != nil {
		t.Fatalf("relayed packet: %v", err)
	}
	if pkt.PayloadType != 8 || !pkt.Marker || pkt.SequenceNumber != 42 || pkt.Timestamp != 42*160 || pkt.SSRC != 0x11223344 {
		t.Errorf("header %+v, want PT 8, marker, seq 42, same timestamp and SSRC", pkt.Header)
	}
	want := make([]byte, len(ulaw))
	for i, u := range ulaw {
		want[i] = g711.UlawToAlaw(u)
	}
	if !bytes.Equal(pkt.Payload, want) {
		t.Errorf("payload not converted to A-law:\n got %x\nwant %x", pkt.Payload, want)
	}

	// Other payload types (DTMF) and the other direction are untouched.
	dtmf := rtpPacket(101, true, 43, []byte{1, 0x8A, 0, 160})
	pa.send(s.A().Port(), dtmf)
	if got, _ := pb.recv(); !bytes.Equal(got, dtmf) {
		t.Errorf("telephone-event changed: %x", got)
	}
	back := rtpPacket(0, false, 9, ulaw)
	pb.send(s.B().Port(), back)
	if got, _ := pa.recv(); !bytes.Equal(got, back) {
		t.Errorf("BtoA changed without a rule")
	}

	// Clearing the transcode restores pass-through.
	s.SetTranscode(AtoB, Transcode{})
	pa.send(s.A().Port(), in)
	if got, _ := pb.recv(); !bytes.Equal(got, in) {
		t.Errorf("after clearing: packet changed")
	}
}

func TestPTMapRelay(t *testing.T) {
	_, s, pa, pb := setup(t)
	s.SetPTMap(AtoB, 101, 96)
	s.SetTranscode(BtoA, Transcode{FromPT: 8, ToPT: 0, Kind: AlawToUlaw})
	s.SetPTMap(BtoA, 96, 101)

	event := []byte{5, 0x0A, 0x01, 0x40}
	pa.send(s.A().Port(), rtpPacket(101, true, 1, event))
	if got, _ := pb.recv(); !bytes.Equal(got, rtpPacket(96, true, 1, event)) {
		t.Errorf("AtoB 101->96: got %x", got)
	}
	audio := []byte{0xD5, 0x55, 0xAA}
	pa.send(s.A().Port(), rtpPacket(0, false, 2, audio))
	if got, _ := pb.recv(); !bytes.Equal(got, rtpPacket(0, false, 2, audio)) {
		t.Errorf("AtoB PT 0 changed: %x", got)
	}
	pb.send(s.B().Port(), rtpPacket(96, false, 3, event))
	if got, _ := pa.recv(); !bytes.Equal(got, rtpPacket(101, false, 3, event)) {
		t.Errorf("BtoA 96->101: got %x", got)
	}
	pb.send(s.B().Port(), rtpPacket(8, false, 4, audio))
	want := rtpPacket(0, false, 4, []byte{g711.AlawToUlaw(0xD5), g711.AlawToUlaw(0x55), g711.AlawToUlaw(0xAA)})
	if got, _ := pa.recv(); !bytes.Equal(got, want) {
		t.Errorf("BtoA PCMA->PCMU: got %x, want %x", got, want)
	}
}

// dropOdd is a hook that drops odd sequence numbers and inverts the
// payload of the others, recording the directions it saw.
type dropOdd struct{ seen chan Direction }

func (h dropOdd) ProcessRTP(d Direction, pkt *rtp.Packet) bool {
	h.seen <- d
	if pkt.SequenceNumber%2 == 1 {
		return false
	}
	for i := range pkt.Payload {
		pkt.Payload[i] ^= 0xFF
	}
	return true
}

func TestHook(t *testing.T) {
	_, s, pa, pb := setup(t)
	h := dropOdd{seen: make(chan Direction, 16)}
	s.SetHook(h)
	for seq := uint16(1); seq <= 4; seq++ {
		pa.send(s.A().Port(), rtpPacket(0, false, seq, []byte{0x0F, 0xF0}))
	}
	for _, seq := range []uint16{2, 4} {
		got, _ := pb.recv()
		if want := rtpPacket(0, false, seq, []byte{0xF0, 0x0F}); !bytes.Equal(got, want) {
			t.Fatalf("got %x, want %x (odd dropped, payload changed)", got, want)
		}
	}
	if st := s.A().Stats(); st.Filtered != 2 || st.PacketsIn != 4 {
		t.Errorf("leg A: filtered %d (want 2), in %d (want 4)", st.Filtered, st.PacketsIn)
	}
	pb.send(s.B().Port(), rtpPacket(0, false, 6, []byte{1}))
	pa.recv()
	for _, want := range []Direction{AtoB, AtoB, AtoB, AtoB, BtoA} {
		if d := <-h.seen; d != want {
			t.Errorf("hook saw direction %v, want %v", d, want)
		}
	}
	s.SetHook(nil)
	pa.send(s.A().Port(), rtpPacket(0, false, 7, []byte{1}))
	if got, _ := pb.recv(); !bytes.Equal(got, rtpPacket(0, false, 7, []byte{1})) {
		t.Errorf("after removing the hook: %x", got)
	}
}

func TestGarbageIgnored(t *testing.T) {
	_, s, pa, pb := setup(t)
	attacker := newPeer(t)
	garbage := [][]byte{
		{0x01, 0x02, 0x03},                         // too short
		make([]byte, 40),                           // version 0
		{0x8F, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0}, // 15 CSRCs announced, none there
		{0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xBE, 0xDE, 0x00, 0x10}, // extension longer than packet
		{0xA0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0xFF},             // padding longer than packet
		{0xA0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0},                      // padding count 0
		{},
	}
	for _, g := range garbage {
		attacker.send(s.A().Port(), g)
		attacker.send(s.A().Port()+1, g)
	}
	pa.send(s.A().Port(), rtpPacket(0, false, 1, []byte("ok")))
	if got, _ := pb.recv(); !bytes.HasSuffix(got, []byte("ok")) {
		t.Fatalf("got %q, want the valid packet", got)
	}
	// RTP and RTCP garbage are counted by different goroutines.
	waitFor(t, "every garbage packet counted invalid", func() bool { return s.A().Stats().Invalid == uint64(2*len(garbage)) })
	st := s.A().Stats()
	if st.Peer != pa.addr() {
		t.Errorf("garbage latched leg A: peer %v, want %v", st.Peer, pa.addr())
	}
	if st.PacketsIn != 1 || st.RTCPIn != 0 || st.RTCPPeer.IsValid() {
		t.Errorf("leg A stats %+v: want 1 packet in, no RTCP", st)
	}
}

func TestUnroutedUntilPeerKnown(t *testing.T) {
	_, s := newTestRelay(t, 4, 0)
	pa, pb := newPeer(t), newPeer(t)
	s.A().SetRemote(pa.addr())
	pa.send(s.A().Port(), rtpPacket(0, false, 1, []byte("nowhere")))
	waitFor(t, "leg B counts the unroutable packet", func() bool { return s.B().Stats().Unrouted == 1 })
	// B has neither SDP address nor latched source: B's first packet
	// latches it, and from then on A's media reaches it.
	pb.send(s.B().Port(), rtpPacket(0, false, 1, []byte("hello")))
	if got, _ := pa.recv(); !bytes.HasSuffix(got, []byte("hello")) {
		t.Fatalf("A got %q", got)
	}
	pa.send(s.A().Port(), rtpPacket(0, false, 2, []byte("reach")))
	if got, _ := pb.recv(); !bytes.HasSuffix(got, []byte("reach")) {
		t.Fatalf("B got %q", got)
	}
}

func TestTimeoutFires(t *testing.T) {
	_, s := newTestRelay(t, 4, 50*time.Millisecond)
	fired := make(chan struct{}, 2)
	s.OnTimeout(func() { fired <- struct{}{} })
	select {
	case <-fired:
	case <-time.After(waitLimit):
		t.Fatal("OnTimeout did not fire on an idle session")
	}
	// Registering after the fact reports the timeout right away.
	late := make(chan struct{})
	s.OnTimeout(func() { close(late) })
	select {
	case <-late:
	case <-time.After(waitLimit):
		t.Fatal("OnTimeout registered after the timeout did not fire")
	}
}

// TestTimeoutDeferredByRTP drives the watchdog by hand: recent RTP on
// either leg keeps the session alive, silence on both ends it.
func TestTimeoutDeferredByRTP(t *testing.T) {
	_, s := newTestRelay(t, 4, time.Hour)
	fired := false
	s.OnTimeout(func() { fired = true })
	s.relay.epoch = s.relay.epoch.Add(-3 * time.Hour) // room for "two hours ago"
	now := s.relay.now()
	tests := []struct {
		name       string
		created    int64
		lastA      int64
		lastB      int64
		wantFiring bool
	}{
		{"new session", now, 0, 0, false},
		{"RTP on A just now", now - int64(2*time.Hour), now, 0, false},
		{"RTP on B just now", now - int64(2*time.Hour), 0, now, false},
		{"silent for two timeouts", now - int64(2*time.Hour), now - int64(2*time.Hour), 0, true},
	}
	for _, tc := range tests {
		fired = false
		s.created = tc.created
		s.A().lastRTP.Store(tc.lastA)
		s.B().lastRTP.Store(tc.lastB)
		s.checkTimeout()
		if fired != tc.wantFiring {
			t.Errorf("%s: fired %v, want %v", tc.name, fired, tc.wantFiring)
		}
	}
}

func TestCloseFreesPortsAndGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	r, s1 := newTestRelay(t, 8, 0)
	s2, err := r.NewSession()
	if err != nil {
		t.Fatalf("second session: %v", err)
	}
	s3, err := r.NewSession()
	if err != nil {
		t.Fatalf("third session: %v", err)
	}
	if n := r.InUse(); n != 6 {
		t.Errorf("InUse with 3 sessions = %d, want 6", n)
	}
	ports := []int{s1.A().Port(), s1.B().Port(), s2.A().Port(), s2.B().Port(), s3.A().Port(), s3.B().Port()}
	s2.Close()
	s2.Close() // idempotent
	if n := r.InUse(); n != 4 {
		t.Errorf("InUse after closing one = %d, want 4", n)
	}
	r.Close()
	s1.Close() // after the relay closed it: still fine
	if n := r.InUse(); n != 0 {
		t.Errorf("InUse after Relay.Close = %d, want 0", n)
	}
	if _, err := r.NewSession(); !errors.Is(err, ErrClosed) {
		t.Errorf("NewSession after Close: %v, want ErrClosed", err)
	}
	for _, p := range ports {
		for _, port := range []int{p, p + 1} {
			c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, uint16(port))))
			if err != nil {
				t.Errorf("port %d still bound after Close: %v", port, err)
				continue
			}
			c.Close()
		}
	}
	deadline := time.Now().Add(waitLimit)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		runtime.Gosched()
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Errorf("goroutines: %d after Close, %d before\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

func TestRangeExhausted(t *testing.T) {
	r, _ := newTestRelay(t, 2, 0) // room for exactly one session
	if _, err := r.NewSession(); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("second session on a 2-pair range: %v, want ErrNoPorts", err)
	}
	if n := r.InUse(); n != 2 {
		t.Errorf("InUse = %d, want 2 (a failed NewSession must not leak)", n)
	}
}

func TestNewRelayConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr bool
	}{
		{"ok", Config{BindIP: loopback, PortMin: 20000, PortMax: 20999}, false},
		{"odd start rounds up", Config{BindIP: loopback, PortMin: 20001, PortMax: 20006}, false},
		{"no bind IP", Config{PortMin: 20000, PortMax: 20999}, true},
		{"min above max", Config{BindIP: loopback, PortMin: 30000, PortMax: 20000}, true},
		{"port 0", Config{BindIP: loopback, PortMin: 0, PortMax: 100}, true},
		{"above 65535", Config{BindIP: loopback, PortMin: 65000, PortMax: 70000}, true},
		{"one pair only", Config{BindIP: loopback, PortMin: 20000, PortMax: 20002}, true},
		{"odd start leaves one pair", Config{BindIP: loopback, PortMin: 20001, PortMax: 20004}, true},
	}
	for _, tc := range tests {
		r, err := NewRelay(tc.cfg)
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: err %v, wantErr %v", tc.name, err, tc.wantErr)
		}
		if err != nil && !errors.Is(err, ErrConfig) {
			t.Errorf("%s: error %v does not wrap ErrConfig", tc.name, err)
		}
		if r != nil {
			if r.cfg.Timeout != DefaultTimeout {
				t.Errorf("%s: default timeout %v", tc.name, r.cfg.Timeout)
			}
			r.Close()
		}
	}
}

// TestCloseFromOnTimeout: the B2BUA's usual reaction to a media timeout
// (hang up, close the session) from inside the callback must not deadlock.
func TestCloseFromOnTimeout(t *testing.T) {
	r, s := newTestRelay(t, 4, 20*time.Millisecond)
	done := make(chan struct{})
	s.OnTimeout(func() {
		s.Close()
		close(done)
	})
	select {
	case <-done:
	case <-time.After(waitLimit):
		t.Fatal("Close inside OnTimeout did not return")
	}
	if n := r.InUse(); n != 0 {
		t.Errorf("InUse = %d after Close in OnTimeout, want 0", n)
	}
}

func TestLoopFromEnv(t *testing.T) {
	for _, tc := range []struct {
		v    string
		want loopKind
	}{
		{"", loopAuto},
		{"goroutines", loopGoroutines},
		{"poller", loopAuto},
		{"Goroutines", loopAuto}, // exact word only
	} {
		if got := loopFromEnv(tc.v); got != tc.want {
			t.Errorf("loopFromEnv(%q) = %v, want %v", tc.v, got, tc.want)
		}
	}
}
