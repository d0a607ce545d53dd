package media

import (
	"bytes"
	"testing"

	"github.com/pion/rtp"

	"hushbox/audio/g711"
	"hushbox/pbx/srtp"
)

// srtpPhone is the SRTP side of a test phone: it encrypts what it sends
// with its own key (the a=crypto it would put in its SDP) and decrypts
// what it receives with hushbox's key for its leg.
type srtpPhone struct {
	t        testing.TB
	keys     srtp.Keys // as the relay's leg sees them
	enc, dec *srtp.Context
}

func newSRTPPhone(t testing.TB, s srtp.Suite) *srtpPhone {
	t.Helper()
	phoneKey, err := srtp.NewCrypto(1, s)
	if err != nil {
		t.Fatal(err)
	}
	hushboxKey, err := srtp.NewCrypto(1, s)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := srtp.NewEncrypter(phoneKey)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := srtp.NewDecrypter(hushboxKey)
	if err != nil {
		t.Fatal(err)
	}
	return &srtpPhone{t: t, keys: srtp.Keys{Remote: phoneKey, Local: hushboxKey}, enc: enc, dec: dec}
}

func (p *srtpPhone) protect(pkt []byte) []byte {
	p.t.Helper()
	out, err := p.enc.EncryptRTP(bytes.Clone(pkt))
	if err != nil {
		p.t.Fatalf("phone encrypt: %v", err)
	}
	return out
}

func (p *srtpPhone) protectRTCP(pkt []byte) []byte {
	p.t.Helper()
	out, err := p.enc.EncryptRTCP(bytes.Clone(pkt))
	if err != nil {
		p.t.Fatalf("phone encrypt RTCP: %v", err)
	}
	return out
}

func (p *srtpPhone) unprotect(pkt []byte) []byte {
	p.t.Helper()
	out, err := p.dec.DecryptRTP(bytes.Clone(pkt))
	if err != nil {
		p.t.Fatalf("phone cannot decrypt what the relay sent (%d octets): %v", len(pkt), err)
	}
	return out
}

func (p *srtpPhone) unprotectRTCP(pkt []byte) []byte {
	p.t.Helper()
	out, err := p.dec.DecryptRTCP(bytes.Clone(pkt))
	if err != nil {
		p.t.Fatalf("phone cannot decrypt the relay's SRTCP: %v", err)
	}
	return out
}

func setSRTP(t testing.TB, l *Leg, k srtp.Keys) {
	t.Helper()
	if err := l.SetSRTP(&k); err != nil {
		t.Fatalf("SetSRTP: %v", err)
	}
}

// voice is a payload a wiretap must not find on an SRTP leg.
var voice = bytes.Repeat([]byte("hello from the other side "), 7)[:160]

func TestSRTPPlainToSRTP(t *testing.T) {
	for _, suite := range []srtp.Suite{srtp.AES128CMSHA1_80, srtp.AEADAES128GCM, srtp.AES128CMSHA1_32} {
		t.Run(suite.String(), func(t *testing.T) {
			_, s, pa, pb := setup(t)
			phoneB := newSRTPPhone(t, suite)
			setSRTP(t, s.B(), phoneB.keys)
			if s.A().SRTP() || !s.B().SRTP() {
				t.Fatal("SRTP() does not report the legs")
			}
			for seq := uint16(1); seq <= 3; seq++ {
				plain := rtpPacket(0, seq == 1, seq, voice)
				pa.send(s.A().Port(), plain)
				wire, _ := pb.recv()
				if bytes.Contains(wire, voice[:32]) {
					t.Fatal("plain voice on the SRTP leg")
				}
				if got := phoneB.unprotect(wire); !bytes.Equal(got, plain) {
					t.Fatalf("B decrypted %x, want %x", got[:12], plain[:12])
				}
			}
			// And back: B's SRTP arrives at A as plain RTP.
			back := rtpPacket(0, false, 9, voice)
			pb.send(s.B().Port(), phoneB.protect(back))
			if got, _ := pa.recv(); !bytes.Equal(got, back) {
				t.Fatalf("A got %x, want the decrypted packet", got[:12])
			}
			waitFor(t, "out counters", func() bool { return s.B().Stats().PacketsOut == 3 })
			st := s.B().Stats()
			if st.PacketsIn != 1 || st.SRTPAuthFailed != 0 || st.SRTPReplayed != 0 || st.Invalid != 0 {
				t.Errorf("leg B stats %+v", st)
			}
		})
	}
}

func TestSRTPToSRTPDifferentKeys(t *testing.T) {
	_, s, pa, pb := setup(t)
	phoneA := newSRTPPhone(t, srtp.AES128CMSHA1_80)
	phoneB := newSRTPPhone(t, srtp.AEADAES128GCM)
	setSRTP(t, s.A(), phoneA.keys)
	setSRTP(t, s.B(), phoneB.keys)

	plain := rtpPacket(8, false, 100, voice)
	sentA := phoneA.protect(plain)
	pa.send(s.A().Port(), sentA)
	wireB, _ := pb.recv()
	if bytes.Equal(wireB, sentA) || bytes.Contains(wireB, voice[:32]) {
		t.Fatal("leg B carries A's ciphertext or plain voice: keys must be per hop")
	}
	if got := phoneB.unprotect(wireB); !bytes.Equal(got, plain) {
		t.Fatalf("B decrypted %x", got[:12])
	}
	plainB := rtpPacket(8, false, 200, voice)
	pb.send(s.B().Port(), phoneB.protect(plainB))
	wireA, _ := pa.recv()
	if bytes.Contains(wireA, voice[:32]) {
		t.Fatal("plain voice on leg A")
	}
	if got := phoneA.unprotect(wireA); !bytes.Equal(got, plainB) {
		t.Fatalf("A decrypted %x", got[:12])
	}
}

func TestSRTPTamperedDropped(t *testing.T) {
	_, s, pa, pb := setup(t)
	phoneA := newSRTPPhone(t, srtp.AES128CMSHA1_80)
	setSRTP(t, s.A(), phoneA.keys)

	good := phoneA.protect(rtpPacket(0, false, 1, []byte("genuine voice")))
	bad := bytes.Clone(good)
	bad[14] ^= 0x40 // one bit of the encrypted payload
	pa.send(s.A().Port(), bad)
	wrongKey := newSRTPPhone(t, srtp.AES128CMSHA1_80)
	pa.send(s.A().Port(), wrongKey.protect(rtpPacket(0, false, 2, []byte("forged voice"))))
	pa.send(s.A().Port(), good)
	if got, _ := pb.recv(); !bytes.HasSuffix(got, []byte("genuine voice")) {
		t.Fatalf("B got %q, want only the genuine packet", got)
	}
	st := s.A().Stats()
	if st.SRTPAuthFailed != 2 || st.PacketsIn != 1 {
		t.Errorf("leg A stats %+v: want 2 authentication failures, 1 packet in", st)
	}
}

func TestSRTPReplayDropped(t *testing.T) {
	_, s, pa, pb := setup(t)
	phoneA := newSRTPPhone(t, srtp.AEADAES128GCM)
	setSRTP(t, s.A(), phoneA.keys)

	first := phoneA.protect(rtpPacket(0, false, 1, []byte("first")))
	pa.send(s.A().Port(), first)
	if got, _ := pb.recv(); !bytes.HasSuffix(got, []byte("first")) {
		t.Fatalf("got %q", got)
	}
	pa.send(s.A().Port(), first) // a wiretap's replay
	pa.send(s.A().Port(), phoneA.protect(rtpPacket(0, false, 2, []byte("second"))))
	if got, _ := pb.recv(); !bytes.HasSuffix(got, []byte("second")) {
		t.Fatalf("got %q, want second (the replay must be dropped)", got)
	}
	if st := s.A().Stats(); st.SRTPReplayed != 1 || st.PacketsIn != 2 {
		t.Errorf("leg A stats %+v: want 1 replay, 2 packets in", st)
	}
}

// TestSRTPLatchNeedsKey: on an SRTP leg an unauthenticated packet cannot
// latch the leg (and so cannot steal the media).
func TestSRTPLatchNeedsKey(t *testing.T) {
	_, s, pa, pb := setup(t)
	phoneA := newSRTPPhone(t, srtp.AES128CMSHA1_80)
	setSRTP(t, s.A(), phoneA.keys)
	attacker := newPeer(t)
	forger := newSRTPPhone(t, srtp.AES128CMSHA1_80)
	attacker.send(s.A().Port(), forger.protect(rtpPacket(0, false, 1, []byte("attacker"))))
	attacker.send(s.A().Port()+1, forger.protectRTCP(rtcpRR(1)))
	pa.send(s.A().Port(), phoneA.protect(rtpPacket(0, false, 1, []byte("owner"))))
	if got, _ := pb.recv(); !bytes.HasSuffix(got, []byte("owner")) {
		t.Fatalf("B got %q", got)
	}
	waitFor(t, "both forgeries counted", func() bool { return s.A().Stats().SRTPAuthFailed == 2 })
	if st := s.A().Stats(); st.Peer != pa.addr() || st.RTCPPeer.IsValid() {
		t.Errorf("leg A latched %v / RTCP %v, want %v / none", st.Peer, st.RTCPPeer, pa.addr())
	}
}

func TestSRTCP(t *testing.T) {
	_, s, _, _ := setup(t)
	rtcpA, rtcpB := newPeer(t), newPeer(t)
	s.A().SetRemoteRTCP(rtcpA.addr())
	s.B().SetRemoteRTCP(rtcpB.addr())
	phoneB := newSRTPPhone(t, srtp.AES128CMSHA1_80)
	setSRTP(t, s.B(), phoneB.keys)

	// Plain RTCP from A leaves as SRTCP on B.
	rr := rtcpRR(0xCAFE)
	rtcpA.send(s.A().Port()+1, rr)
	wire, _ := rtcpB.recv()
	if bytes.Equal(wire, rr) || len(wire) <= len(rr) {
		t.Fatalf("RTCP on the SRTP leg is not SRTCP: %x", wire)
	}
	if got := phoneB.unprotectRTCP(wire); !bytes.Equal(got, rr) {
		t.Fatalf("B decrypted %x, want %x", got, rr)
	}
	// SRTCP from B arrives at A as plain RTCP; a replay and a forgery do not.
	srtcp := phoneB.protectRTCP(rtcpRR(0xBEEF))
	forged := bytes.Clone(srtcp)
	forged[len(forged)-1] ^= 1
	rtcpB.send(s.B().Port()+1, forged)
	rtcpB.send(s.B().Port()+1, srtcp)
	rtcpB.send(s.B().Port()+1, srtcp)
	rtcpB.send(s.B().Port()+1, phoneB.protectRTCP(rtcpRR(0xF00D)))
	if got, _ := rtcpA.recv(); !bytes.Equal(got, rtcpRR(0xBEEF)) {
		t.Fatalf("A got %x", got)
	}
	if got, _ := rtcpA.recv(); !bytes.Equal(got, rtcpRR(0xF00D)) {
		t.Fatalf("A got %x, want the second report (replay dropped)", got)
	}
	if st := s.B().Stats(); st.SRTPAuthFailed != 1 || st.SRTPReplayed != 1 || st.RTCPIn != 2 {
		t.Errorf("leg B stats %+v", st)
	}
}

func TestSRTPWithRTCPMux(t *testing.T) {
	_, s, pa, pb := setup(t)
	phoneA := newSRTPPhone(t, srtp.AEADAES128GCM)
	phoneB := newSRTPPhone(t, srtp.AES128CMSHA1_80)
	setSRTP(t, s.A(), phoneA.keys)
	setSRTP(t, s.B(), phoneB.keys)
	sr := []byte{0x80, 200, 0, 6, 0, 0, 0, 9, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24}
	pa.send(s.A().Port(), phoneA.protectRTCP(sr))
	wire, _ := pb.recv()
	if got := phoneB.unprotectRTCP(wire); !bytes.Equal(got, sr) {
		t.Fatalf("muxed SRTCP: B decrypted %x", got)
	}
	if st := s.A().Stats(); st.RTCPIn != 1 || st.PacketsIn != 0 {
		t.Errorf("leg A stats %+v", st)
	}
}

// TestSRTPBeforeTranscodeAndHook: the relay's payload work (transcoding,
// the hook) sees plaintext and its result is what gets encrypted.
func TestSRTPBeforeTranscodeAndHook(t *testing.T) {
	_, s, pa, pb := setup(t)
	phoneA := newSRTPPhone(t, srtp.AES128CMSHA1_80)
	phoneB := newSRTPPhone(t, srtp.AEADAES128GCM)
	setSRTP(t, s.A(), phoneA.keys)
	setSRTP(t, s.B(), phoneB.keys)
	s.SetTranscode(AtoB, Transcode{FromPT: 0, ToPT: 8, Kind: UlawToAlaw})
	seenc := make(chan []byte, 1)
	s.SetHook(hookFunc(func(d Direction, pkt *rtp.Packet) bool {
		if d == AtoB {
			seenc <- bytes.Clone(pkt.Payload)
			pkt.Payload = append(pkt.Payload, 0xEE) // the hook may grow the packet
		}
		return true
	}))

	ulaw := make([]byte, 160)
	for i := range ulaw {
		ulaw[i] = byte(i)
	}
	alaw := make([]byte, 160)
	g711.TranscodeUlawToAlaw(alaw, ulaw)
	pa.send(s.A().Port(), phoneA.protect(rtpPacket(0, false, 1, ulaw)))
	wire, _ := pb.recv()
	got := phoneB.unprotect(wire)
	if got[1]&0x7F != 8 || !bytes.Equal(got[12:], append(bytes.Clone(alaw), 0xEE)) {
		t.Fatalf("B got PT %d payload %x", got[1]&0x7F, got[12:20])
	}
	if seen := <-seenc; !bytes.Equal(seen, alaw) {
		t.Errorf("hook saw %x, want the decrypted, transcoded payload", seen[:8])
	}
}

// TestSetSRTPSameKeysKeepsState: repeating the keys (a re-INVITE) keeps
// the replay window; new keys restart it; nil goes back to plain.
func TestSetSRTPSameKeysKeepsState(t *testing.T) {
	_, s, pa, pb := setup(t)
	phoneA := newSRTPPhone(t, srtp.AES128CMSHA1_80)
	setSRTP(t, s.A(), phoneA.keys)
	p1 := phoneA.protect(rtpPacket(0, false, 1, []byte("one")))
	pa.send(s.A().Port(), p1)
	pb.recv()

	setSRTP(t, s.A(), srtp.Keys{Remote: phoneA.keys.Remote, Local: phoneA.keys.Local}) // same keys, fresh copies
	pa.send(s.A().Port(), p1)                                                          // replay after the re-INVITE
	pa.send(s.A().Port(), phoneA.protect(rtpPacket(0, false, 2, []byte("two"))))
	if got, _ := pb.recv(); !bytes.HasSuffix(got, []byte("two")) {
		t.Fatalf("got %q: the replay window was lost", got)
	}
	if st := s.A().Stats(); st.SRTPReplayed != 1 {
		t.Errorf("replays %d, want 1", st.SRTPReplayed)
	}

	if err := s.A().SetSRTP(nil); err != nil || s.A().SRTP() {
		t.Fatalf("SetSRTP(nil): %v", err)
	}
	plain := rtpPacket(0, false, 3, []byte("plain again"))
	pa.send(s.A().Port(), plain)
	if got, _ := pb.recv(); !bytes.Equal(got, plain) {
		t.Fatalf("after SRTP off: got %q", got)
	}
}

// TestSetSRTPBadKeysFailsClosed: keys that do not validate leave the leg
// unreadable, never plain.
func TestSetSRTPBadKeysFailsClosed(t *testing.T) {
	_, s, pa, pb := setup(t)
	bad := srtp.Keys{Remote: srtp.Crypto{Tag: 1, Suite: srtp.AES128CMSHA1_80, Key: []byte("short")}}
	if err := s.B().SetSRTP(&bad); err == nil {
		t.Fatal("bad keys accepted")
	}
	if !s.B().SRTP() {
		t.Fatal("leg left plain after bad keys")
	}
	pa.send(s.A().Port(), rtpPacket(0, false, 1, voice))
	wire, _ := pb.recv()
	if bytes.Contains(wire, voice[:32]) {
		t.Fatal("plain voice sent on a leg whose SRTP keys were refused")
	}
}

// TestSendSideReplayRefused: a plain leg that repeats a sequence number
// (a spoofed or replayed packet) cannot make the relay reuse a keystream
// on the SRTP leg.
func TestSendSideReplayRefused(t *testing.T) {
	_, s, pa, pb := setup(t)
	phoneB := newSRTPPhone(t, srtp.AES128CMSHA1_80)
	setSRTP(t, s.B(), phoneB.keys)
	pa.send(s.A().Port(), rtpPacket(0, false, 5, []byte("real voice")))
	pb.recv()
	pa.send(s.A().Port(), rtpPacket(0, false, 5, []byte("known plain")))
	pa.send(s.A().Port(), rtpPacket(0, false, 6, []byte("next")))
	wire, _ := pb.recv()
	if got := phoneB.unprotect(wire); !bytes.HasSuffix(got, []byte("next")) {
		t.Fatalf("B got %q, want next", got)
	}
	if st := s.B().Stats(); st.SRTPRefused != 1 {
		t.Errorf("leg B refused %d, want 1", st.SRTPRefused)
	}
}

// TestRequireSRTPBeforeKeys: a leg whose party offered SRTP, pointed at the
// party before the answer gives it keys (a callee's early packet), sends
// nothing readable; once keyed it sends what the party can decrypt, and
// RequireSRTP on a keyed leg changes nothing.
func TestRequireSRTPBeforeKeys(t *testing.T) {
	_, s, pa, pb := setup(t)
	if err := s.B().RequireSRTP(); err != nil {
		t.Fatal(err)
	}
	if !s.B().SRTP() {
		t.Fatal("RequireSRTP left the leg plain")
	}
	early := rtpPacket(0, true, 1, voice)
	pa.send(s.A().Port(), early)
	wire, _ := pb.recv()
	if bytes.Contains(wire, voice[:32]) || len(wire) == len(early) {
		t.Fatalf("a leg that requires SRTP sent %d octets in the clear", len(wire))
	}
	phoneB := newSRTPPhone(t, srtp.AES128CMSHA1_80)
	if _, err := phoneB.dec.DecryptRTP(bytes.Clone(wire)); err == nil {
		t.Fatal("the party could decrypt a packet sent before its keys were set")
	}
	setSRTP(t, s.B(), phoneB.keys)
	if err := s.B().RequireSRTP(); err != nil {
		t.Fatal(err)
	}
	plain := rtpPacket(0, false, 2, voice)
	pa.send(s.A().Port(), plain)
	wire, _ = pb.recv()
	if got := phoneB.unprotect(wire); !bytes.Equal(got, plain) {
		t.Fatalf("B decrypted %x, want %x", got[:12], plain[:12])
	}
}
