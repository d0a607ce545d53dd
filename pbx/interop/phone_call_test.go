package interop

import (
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/pion/rtp"

	"hushbox/audio/stoi"
	"hushbox/audio/wav"
)

// TestPhoneScrambledCall is the acceptance test of the softphone: two
// `hushbox phone` processes register to a hushbox daemon as 101 and 102,
// 101 calls 102 (which answers by itself) and plays espeak-ng speech from a
// WAV file; 102 records what it hears and sends three DTMF keys. Checked as
// a user would:
//   - both phones print "scrambled" with the same SAS;
//   - 102's recording correlates > 0.95 with 101's speech;
//   - what the daemon relays to 102 (captured with tshark on lo) is not
//     intelligible: its STOI against the speech is at most 0.05 above that
//     of white noise with the speech's 20 ms frame energies (which the
//     scrambler preserves by design); as controls, the relayed frames'
//     energy envelope lines up with the speech (correlation >= 0.95) at
//     the alignment used, so the STOI is measured where it should be,
//     and 102's recording scores STOI >= 0.9;
//   - 101 prints the keys 102 sent, in order.
func TestPhoneScrambledCall(t *testing.T) {
	requireTool(t, "tshark")
	work := t.TempDir()
	// The sentences of TestTrunkScrambledCall: their scrambled STOI sits
	// well below the bound (see there).
	speech, src101 := speechWAV(t, work, "from-101",
		"It's easy to tell the depth of a well. These days a chicken leg is a rare dish. "+
			"Four hours of steady work faced us.")
	const lead = 4000 // speechWAV pads 0.5 s of silence in front

	relay := disjointUDPRange(t, 40)
	r101 := disjointUDPRange(t, 10, relay)
	r102 := disjointUDPRange(t, 10, relay, r101)
	p := startPBX(t, "--rtp-ports", relay.String())
	p.rtpLo, p.rtpHi = relay.lo, relay.hi
	p.addExt("101", "phone-101-pw")
	p.addExt("102", "phone-102-pw")

	rec102 := filepath.Join(work, "heard-102.wav")
	phone102 := startPhone(t, "102", p, phoneArgs("102", "phone-102-pw", "--answer",
		"--audio", "wav:,"+rec102, "--data", filepath.Join(work, "id-102"),
		"--rtp-port", portArg(r102), "--dtmf", "159")...)
	phone102.waitLine("phone: registered", 20*time.Second)

	capt := startCapture(t, filepath.Join(work, "relay.pcap"), fmt.Sprintf("udp and portrange %s", relay), 120*time.Second)

	talk := wavSeconds(t, speech) + 1.5
	phone101 := startPhone(t, "101", p, phoneArgs("101", "phone-101-pw", "--dial", "102",
		"--audio", "wav:"+src101+",", "--data", filepath.Join(work, "id-101"),
		"--rtp-port", portArg(r101), "--duration", strconv.FormatFloat(talk, 'f', 2, 64)+"s")...)
	phone101.waitLine("scrambled SAS=", 20*time.Second)
	phone102.waitLine("scrambled SAS=", 20*time.Second)
	phone101.wait(time.Duration(talk+30) * time.Second)
	phone102.wait(20 * time.Second)
	dgrams := capt.datagrams()

	sas101, sas102 := phone101.sas(), phone102.sas()
	t.Logf("SAS at 101 %q, at 102 %q", sas101, sas102)
	if sas101 == "" || sas101 != sas102 {
		t.Errorf("SAS at 101 %q, at 102 %q: want the same", sas101, sas102)
	}
	if got := phone101.dtmfReceived(); got != "159" {
		t.Errorf("101 received DTMF %q, want \"159\"", got)
	}

	src, err := wav.ReadFile(speech)
	if err != nil || src.Rate != 8000 {
		t.Fatalf("speech %s: rate %d, %v", speech, src.Rate, err)
	}
	x := src.Samples
	xf := toFloat64(x)

	// 102 hears 101.
	heard, err := readWAVMono16(rec102)
	if err != nil {
		t.Fatalf("102's recording: %v", err)
	}
	r, lag := bestNormXCorr(xf, heard, 8000*3)
	t.Logf("102's recording: %.2f s, speech %.2f s, best lag %d samples, correlation %.4f",
		float64(len(heard))/8000, float64(len(x))/8000, lag, r)
	if r <= 0.95 {
		t.Errorf("102's recording correlates %.4f with 101's speech (lag %d), want > 0.95", r, lag)
	}

	// What the relay sends to 102. 101 sends frame i of its source (the
	// padded speech) with RTP timestamp ts0 + 160*i, so timestamps place
	// every captured frame on the source's timeline once ts0 is known. The
	// first packet (marker bit) gives ts0, unless the relay did not pass it
	// (media that arrives before the call is fully set up may be dropped);
	// either way the frame offset is confirmed by the frame energies,
	// which the scrambler keeps: their envelope must match the speech's
	// best exactly there.
	relayed := rtpG711Frames(dgrams, relay, r102)
	minFrames := int(float64(len(x)) / 160 * 0.9)
	if len(relayed) < minFrames {
		t.Fatalf("captured %d frames relayed to 102, want >= %d (the speech is %d frames)", len(relayed), minFrames, len(x)/160)
	}
	const maxLead = 100 // frames the capture may miss at the start
	first := relayed[0].ts
	timeline := placeFrames(relayed, first, maxLead*160, maxLead*160+lead+len(x)+10*8000)
	envSpeech := frameRMS(x)
	at := func(d int) int { return maxLead*160 - 160*d + lead } // speech sample 0 with d frames missed
	bestD, bestR := 0, math.Inf(-1)
	for d := 0; d <= maxLead; d++ {
		if c := pearson(envSpeech, frameRMS(window(timeline, at(d), len(x)))); c > bestR {
			bestD, bestR = d, c
		}
	}
	marker, hasMarker := markerTimestamp(dgrams, relay, r102)
	t.Logf("relayed frame energies match the speech's best with %d leading frames not captured (marker packet captured: %v), correlation %.4f",
		bestD, hasMarker, bestR)
	if bestR < 0.95 {
		t.Fatalf("relayed stream does not line up with the speech (energy envelope correlation %.4f at best)", bestR)
	}
	if hasMarker && int32(first-marker) != int32(160*bestD) {
		t.Errorf("energy alignment (%d frames) disagrees with the marker packet (%d frames)", bestD, int32(first-marker)/160)
	}
	aligned := window(timeline, at(bestD), len(x))

	const rate = 8000
	stoiRelay, err := stoi.PCM(x, aligned, rate)
	if err != nil {
		t.Fatalf("STOI of the relayed stream: %v", err)
	}
	heardAligned := make([]int16, len(x))
	for i := range heardAligned {
		if j := i + lag; j >= 0 && j < len(heard) {
			heardAligned[i] = int16(max(-32768, min(32767, heard[j])))
		}
	}
	stoiHeard, err := stoi.PCM(x, heardAligned, rate)
	if err != nil {
		t.Fatalf("STOI of 102's recording: %v", err)
	}
	phase := ((-lead)%160 + 160) % 160
	const seeds = 8
	controls := make([]float64, 0, seeds)
	for seed := range uint64(seeds) {
		v, err := stoi.PCM(x, alignedNoiseControl(x, phase, 160, seed+1), rate)
		if err != nil {
			t.Fatalf("STOI of the noise control: %v", err)
		}
		controls = append(controls, v)
	}
	control, spread := meanStd(controls)
	t.Logf("STOI against the speech: 102's recording %.4f; relayed to 102 (scrambled) %.4f; noise control %.4f (sd %.4f over %d seeds); relayed - control %+.4f",
		stoiHeard, stoiRelay, control, spread, seeds, stoiRelay-control)
	if stoiHeard < 0.9 {
		t.Errorf("STOI of 102's recording is %.4f, want >= 0.9", stoiHeard)
	}
	if stoiRelay > control+0.05 {
		t.Errorf("STOI of the relayed stream is %.4f, want <= noise control %.4f + 0.05", stoiRelay, control)
	}
	p.waitCDR("101", "102", "ANSWERED")
}

// markerTimestamp is the RTP timestamp of the first G.711 packet with the
// marker bit sent from a port in from to a port in to.
func markerTimestamp(dgrams []udpDatagram, from, to portRange) (uint32, bool) {
	for _, d := range dgrams {
		if !from.has(d.src.Port()) || !to.has(d.dst.Port()) {
			continue
		}
		var pkt rtp.Packet
		if pkt.Unmarshal(d.payload) != nil || pkt.Version != 2 {
			continue
		}
		if (pkt.PayloadType == 0 || pkt.PayloadType == 8) && pkt.Marker {
			return pkt.Timestamp, true
		}
	}
	return 0, false
}

// frameRMS is the RMS of each 160-sample frame of x.
func frameRMS(x []int16) []float64 {
	e := frameEnergies(x)
	for i := range e {
		e[i] = math.Sqrt(e[i] / 160)
	}
	return e
}

// pearson is the correlation coefficient of a and b (over the shorter).
func pearson(a, b []float64) float64 {
	n := min(len(a), len(b))
	if n == 0 {
		return 0
	}
	ma, _ := meanStd(a[:n])
	mb, _ := meanStd(b[:n])
	var ab, aa, bb float64
	for i := range n {
		ab += (a[i] - ma) * (b[i] - mb)
		aa += (a[i] - ma) * (a[i] - ma)
		bb += (b[i] - mb) * (b[i] - mb)
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}
