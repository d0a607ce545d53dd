package interop

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// srtpFrame is the audio of one 20 ms G.711 packet (baresip's ptime=20).
const srtpFrame = 160

// TestSRTPMandatoryCall is the acceptance test of SRTP with SDES: baresip
// 101 offers mandatory SRTP (mediaenc=srtp-mand: RTP/SAVP with a=crypto)
// and calls the plain baresip 102 (UDP) through hushbox, each playing
// espeak-ng speech. Checked as a user would, with tshark capturing the
// relay's port range during the call:
//   - 102 hears 101 and 101 hears 102 (recordings correlate > 0.95 with
//     the speech): the relay decrypts 101's SRTP and encrypts towards 101;
//   - 101's leg carries no plain RTP: every RTP packet, both ways, is the
//     20 ms frame plus the authentication tag of the suite baresip reports,
//     and its payload read as G.711 does not correlate with the speech
//     (|r| < 0.2 at the best lag);
//   - 102's leg is plain (bare 160-octet frames) and the same reading does
//     correlate with the speech (> 0.9): the control that shows the method
//     finds speech where there is some.
//
// 101 registers over TLS, and, in a second case, over UDP: a mandatory
// offer is honoured on any transport (over UDP the keys cross the network
// in the clear SDP, the phone's choice).
func TestSRTPMandatoryCall(t *testing.T) {
	requireTool(t, "baresip")
	requireTool(t, "tshark")
	for _, transport := range []string{"tls", "udp"} {
		t.Run("101 over "+transport, func(t *testing.T) { srtpMandatoryCall(t, transport) })
	}
}

func srtpMandatoryCall(t *testing.T, transport101 string) {
	work := t.TempDir()
	speech101, src101 := speechWAV(t, work, "from-101",
		"This is extension one oh one on a secure line. The quick brown fox jumps over the lazy dog.")
	speech102, src102 := speechWAV(t, work, "from-102",
		"Extension one oh two answers in the clear. Pack my box with five dozen liquor jugs.")
	// 102's phone must not run out of audio (and hang up) before 101's
	// speech is over.
	src102 = padWAV(t, src102, filepath.Join(work, "from-102-long.wav"), wavSeconds(t, speech101)+5)

	// Disjoint ranges: every captured datagram says by its ports which
	// leg and direction it belongs to.
	relay := disjointUDPRange(t, 40)
	range101 := disjointUDPRange(t, 10, relay)
	range102 := disjointUDPRange(t, 10, relay, range101)
	p := startPBXRange(t, relay)
	p.addExt("101", "srtp-101-pw")
	p.addExt("102", "srtp-102-pw")

	ctrl101, ctrl102 := freePort(t), freePort(t)
	dir101 := baresipConfigAccount(t, withMediaEnc(baresipAccount(p, transport101, "101", "srtp-101-pw"), "srtp-mand"),
		baresipTLSConfig(p, transport101)+baresipSRTPModule, src101, freeSIPPort(t), ctrl101, range101.lo)
	dir102 := baresipConfigAccount(t, baresipAccount(p, "udp", "102", "srtp-102-pw"), "",
		src102, freeSIPPort(t), ctrl102, range102.lo)
	phone102 := startBaresip(t, "102", dir102, ctrl102)
	phone101 := startBaresip(t, "101", dir101, ctrl101)
	phone102.waitRegistered(15 * time.Second)
	phone101.waitRegistered(15 * time.Second)
	if got := p.bindings().transports("101"); len(got) != 1 || !strings.EqualFold(got[0], transport101) {
		t.Fatalf("101 registered over %v, want [%s]", got, transport101)
	}

	capt := startCapture(t, filepath.Join(work, "srtp.pcap"), fmt.Sprintf("udp and portrange %s", relay), 120*time.Second)

	if err := phone101.command("dial", p.dialURI(transport101, "102")); err != nil {
		t.Fatalf("dial: %v", err)
	}
	phone101.waitEvent("CALL_ESTABLISHED", 20*time.Second)
	phone102.waitEvent("CALL_ESTABLISHED", 20*time.Second)
	// Let the speeches play to the end, then hang up during the trailing
	// silence (baresip ends a call when its source file ends).
	time.Sleep(time.Duration((max(wavSeconds(t, speech101), wavSeconds(t, speech102))+1.5)*1000) * time.Millisecond)
	if err := phone101.command("hangup", ""); err != nil {
		t.Fatalf("hangup: %v", err)
	}
	phone101.waitEvent("CALL_CLOSED", 10*time.Second)
	phone102.waitEvent("CALL_CLOSED", 10*time.Second)
	for _, x := range []*baresip{phone101, phone102} {
		_ = x.command("quit", "") // flushes and closes the recording
		select {
		case <-x.exited:
		case <-time.After(10 * time.Second):
			t.Fatalf("baresip %s did not quit", x.name)
		}
	}
	dgrams := capt.datagrams()
	p.waitCDR("101", "102", "ANSWERED")

	// The suite: what baresip 101 says it runs, and what the daemon keyed
	// the leg with; baresip 102 runs none.
	suite := baresipSRTPSuite(phone101.log.String())
	if suite == "" {
		t.Fatalf("baresip 101 does not report SRTP (no \"SRTP is Enabled\" line)")
	}
	tag, ok := srtpAuthTagLen(suite)
	if !ok {
		t.Fatalf("baresip 101 runs suite %q: unknown tag length", suite)
	}
	if s := baresipSRTPSuite(phone102.log.String()); s != "" {
		t.Errorf("baresip 102 reports SRTP %s, want plain RTP", s)
	}
	legs := daemonSRTPSuites(p.stderr.String())
	if len(legs) != 1 || legs[0] != [2]string{suite, suite} {
		t.Errorf("daemon SRTP legs %v, want one leg with %s both ways", legs, suite)
	}
	t.Logf("101 over %s: SRTP suite %s, tag %d octets", transport101, suite, tag)

	// What each phone heard.
	heard := func(who, dir, speech string) {
		t.Helper()
		ref, err := readWAVMono16(speech)
		if err != nil {
			t.Fatal(err)
		}
		recs, _ := filepath.Glob(filepath.Join(dir, "dump-*-dec.wav"))
		if len(recs) != 1 {
			t.Errorf("%s: want one recording in %s, found %v", who, dir, recs)
			return
		}
		got, err := readWAVMono16(recs[0])
		if err != nil {
			t.Errorf("%s: %v", who, err)
			return
		}
		r, lag := bestNormXCorr(ref, got, 8000*3)
		t.Logf("%s: recording %.2f s, correlation %.4f at lag %d", who, float64(len(got))/8000, r, lag)
		if r <= 0.95 {
			t.Errorf("%s: recording correlates %.4f with the speech (lag %d), want > 0.95", who, r, lag)
		}
	}
	heard("102 hears 101", dir102, speech101)
	heard("101 hears 102", dir101, speech102)

	// The four streams in the capture.
	type stream struct {
		name   string
		lt     legTraffic
		speech string
		body   int  // octets after the RTP header of every packet
		srtp   bool // 101's leg
	}
	streams := []stream{
		{name: "101 -> relay", lt: legTrafficOf(dgrams, range101, relay), speech: speech101, body: srtpFrame + tag, srtp: true},
		{name: "relay -> 101", lt: legTrafficOf(dgrams, relay, range101), speech: speech102, body: srtpFrame + tag, srtp: true},
		{name: "relay -> 102", lt: legTrafficOf(dgrams, relay, range102), speech: speech101, body: srtpFrame},
		{name: "102 -> relay", lt: legTrafficOf(dgrams, range102, relay), speech: speech102, body: srtpFrame},
	}
	t.Logf("capture: %d UDP datagrams", len(dgrams))
	for _, s := range streams {
		ref, err := readWAVMono16(s.speech)
		if err != nil {
			t.Fatal(err)
		}
		lengths := s.lt.bodyLengths()
		t.Logf("%s: %d RTP packets (octets after the header: count %v), %d RTCP, %d other",
			s.name, len(s.lt.rtp), lengths, s.lt.rtcp, s.lt.other)
		if minFrames := int(float64(len(ref)) / srtpFrame * 0.9); len(s.lt.rtp) < minFrames {
			t.Errorf("%s: %d RTP packets captured, want >= %d (the speech is %d frames)",
				s.name, len(s.lt.rtp), minFrames, len(ref)/srtpFrame)
			continue
		}
		if s.lt.other != 0 {
			t.Errorf("%s: %d datagrams that are neither RTP nor RTCP", s.name, s.lt.other)
		}
		if n := lengths[s.body]; n != len(s.lt.rtp) {
			t.Errorf("%s: %d of %d RTP packets carry %d octets after the header (frame %d + tag %d), want all; lengths %v",
				s.name, n, len(s.lt.rtp), s.body, srtpFrame, s.body-srtpFrame, lengths)
		}
		// The payloads (for SRTP: the first 160 octets, the ciphertext) as
		// G.711 on one timeline by RTP timestamp, a second of silence in
		// front, against the speech at the best lag.
		frames := s.lt.asG711(srtpFrame)
		if len(frames) == 0 {
			t.Errorf("%s: no G.711 frames", s.name)
			continue
		}
		const pad, rate = 8000, 8000
		sig := toFloat64(placeFrames(frames, frames[0].ts, pad, pad+len(ref)+20*rate))
		r, lag := bestAbsNormXCorr(ref, sig, pad+4*rate)
		t.Logf("%s: payload as G.711 against the speech: correlation %.4f at lag %d", s.name, r, lag)
		switch {
		case s.srtp && (r >= 0.2 || r <= -0.2):
			t.Errorf("%s: payload correlates %.4f with the speech (lag %d): plain audio on the SRTP leg, want |r| < 0.2", s.name, r, lag)
		case !s.srtp && r <= 0.9:
			t.Errorf("%s: payload correlates %.4f with the speech (lag %d), want > 0.9 (the method's control)", s.name, r, lag)
		}
	}
}

// TestSRTPRequiredExtension: with `hushbox ext set 101 --require-srtp=true`
// a plain call of 101 (baresip over UDP without mediaenc) is refused with
// 488 and 102 never rings; the same extension offering mandatory SRTP over
// TLS gets through (the policy refuses plain calls, not the extension).
func TestSRTPRequiredExtension(t *testing.T) {
	requireTool(t, "baresip")
	p := startPBX(t, md5Only...)
	p.addExt("101", "srtp-101-pw")
	p.addExt("102", "srtp-102-pw")
	p.run("ext", "set", "101", "--require-srtp=true")
	work := t.TempDir()
	_, src := speechWAV(t, work, "hello", "Hello, this call must be secure.")

	ctrlPlain, ctrl102 := freePort(t), freePort(t)
	dirPlain := baresipConfigAccount(t, baresipAccount(p, "udp", "101", "srtp-101-pw"), "",
		src, freeSIPPort(t), ctrlPlain, freeUDPRange(t, 10))
	dir102 := baresipConfigAccount(t, baresipAccount(p, "udp", "102", "srtp-102-pw"), "",
		src, freeSIPPort(t), ctrl102, freeUDPRange(t, 10))
	phone102 := startBaresip(t, "102", dir102, ctrl102)
	plain := startBaresip(t, "101 plain", dirPlain, ctrlPlain)
	phone102.waitRegistered(15 * time.Second)
	plain.waitRegistered(15 * time.Second)

	if err := plain.command("dial", p.dialURI("udp", "102")); err != nil {
		t.Fatalf("dial: %v", err)
	}
	ev := plain.waitEvent("CALL_CLOSED", 15*time.Second)
	param, _ := ev["param"].(string)
	t.Logf("plain 101's call closed: %q", param)
	if !strings.Contains(param, "488") {
		t.Errorf("plain 101's call closed with %q, want 488", param)
	}
	// The daemon answers 488 before it forks the call: once 101 has its
	// answer, no INVITE can reach 102 any more. 102 has not seen one.
	for drained := false; !drained; {
		select {
		case e, ok := <-phone102.events:
			if !ok {
				t.Fatal("baresip 102: control connection closed")
			}
			if typ, _ := e["type"].(string); typ == "CALL_INCOMING" || typ == "CALL_RINGING" {
				t.Errorf("102 rang for a plain call of 101: %v", e)
			}
		default:
			drained = true
		}
	}
	if n := strings.Count(p.stderr.String(), " msg=call "); n != 0 {
		t.Errorf("daemon log has %d call lines: it forked the plain call to 102", n)
	}

	// The control: 101 offering mandatory SRTP over TLS is served. The
	// plain phone goes first (its binding with it), so that the new one
	// is 101's only binding.
	_ = plain.command("quit", "")
	select {
	case <-plain.exited:
	case <-time.After(10 * time.Second):
		t.Fatalf("baresip %s did not quit", plain.name)
	}
	ctrlSec := freePort(t)
	dirSec := baresipConfigAccount(t, withMediaEnc(baresipAccount(p, "tls", "101", "srtp-101-pw"), "srtp-mand"),
		baresipTLSConfig(p, "tls")+baresipSRTPModule, src, freeSIPPort(t), ctrlSec, freeUDPRange(t, 10))
	secure := startBaresip(t, "101 srtp", dirSec, ctrlSec)
	secure.waitRegistered(15 * time.Second)
	if err := secure.command("dial", p.dialURI("tls", "102")); err != nil {
		t.Fatalf("dial: %v", err)
	}
	secure.waitEvent("CALL_ESTABLISHED", 15*time.Second)
	phone102.waitEvent("CALL_ESTABLISHED", 15*time.Second)
	if err := secure.command("hangup", ""); err != nil {
		t.Fatalf("hangup: %v", err)
	}
	secure.waitEvent("CALL_CLOSED", 10*time.Second)
	phone102.waitEvent("CALL_CLOSED", 10*time.Second)
	if n := strings.Count(p.stderr.String(), " msg=call "); n != 1 {
		t.Errorf("daemon log has %d call lines, want 1 (the SRTP call; the plain one is never forked)", n)
	}
	cdr := p.waitCDR("101", "102", "ANSWERED")
	t.Logf("SRTP call of 101 over TLS: CDR %v", cdr)
	if s := baresipSRTPSuite(secure.log.String()); s == "" {
		t.Errorf("baresip 101 over TLS does not report SRTP")
	}
}

// baresipSRTPModule is the config line that loads baresip's SDES module
// (the mediaenc=srtp, srtp-mand and srtp-mandf of an account).
const baresipSRTPModule = "module\t\t\tsrtp.so\n"

// withMediaEnc sets the mediaenc parameter of a baresipAccount line.
func withMediaEnc(account, enc string) string {
	return strings.Replace(account, ";mediaenc=", ";mediaenc="+enc, 1)
}
