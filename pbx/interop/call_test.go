package interop

import (
	"strconv"
	"testing"
)

const sippPcap = "/usr/share/sip-tester/g711a.pcap"

// callPeers registers 102 from a sipp port and starts the callee's sipp on
// that port with uasScenario, then runs the caller 101 with uacScenario and
// waits for both.
func callPeers(t *testing.T, p *pbx, uasScenario, uacScenario string, probePort int, uacExtra ...string) {
	t.Helper()
	uasPort := freePort(t)
	registerSipp(t, p, "102", "pw-102-interop", uasPort)
	uas := startSipp(t, "callee 102", sippOpts{
		Scenario: uasScenario, Port: uasPort, Service: "102",
		Keys:  map[string]string{"probe_port": strconv.Itoa(probePort)},
		Extra: []string{"-aa"},
	})
	uac := startSipp(t, "caller 101", sippOpts{
		Scenario: uacScenario, Target: p.addr(), Service: "102",
		User: "101", Password: "pw-101-interop",
		Keys: map[string]string{"caller": "101"}, MediaPort: freeUDPRange(t, 4),
		Extra: uacExtra,
	})
	uac.wait()
	uas.wait()
}

func newCallPBX(t *testing.T) *pbx {
	p := startPBX(t, md5First...)
	p.addExt("101", "pw-101-interop")
	p.addExt("102", "pw-102-interop")
	return p
}

// TestSippCallAnswered: 101 calls 102 through the PBX (407 auth on the
// INVITE), 102 answers, 101 plays sipp's G.711 A-law pcap. The RTP must
// arrive at 102's media address through the relay, 102's own RTP must make
// the round trip through the relay to 101 and back, and an ANSWERED CDR must
// be written.
func TestSippCallAnswered(t *testing.T) {
	requireTool(t, "sipp")
	requireFile(t, sippPcap)
	want, err := pcapPackets(sippPcap)
	if err != nil {
		t.Fatal(err)
	}
	p := newCallPBX(t)
	const nProbe = 100
	probe := newRTPProbe(t, nProbe)
	callPeers(t, p, "uas_answer.xml", "uac_call.xml", probe.port, "-rtp_echo")

	fromCaller, returned, sent, bad := probe.counts()
	t.Logf("pcap %d packets; callee got %d from caller; probe sent %d, %d came back; %d non-RTP",
		want, fromCaller, sent, returned, bad)
	if fromCaller < want*9/10 {
		t.Errorf("callee received %d RTP packets from the caller, want at least 90%% of %d", fromCaller, want)
	}
	if sent != nProbe {
		t.Errorf("probe sent %d packets, want %d (did the relay reach the callee?)", sent, nProbe)
	}
	if returned < sent*9/10 {
		t.Errorf("%d of %d callee packets came back through caller and relay, want 90%%", returned, sent)
	}
	if bad != 0 {
		t.Errorf("callee media port received %d non-RTP datagrams", bad)
	}
	p.waitCDR("101", "102", "ANSWERED")
}

// TestSippCallCancelled: 102 rings, 101 cancels; 101 gets 487 and the CDR
// says CANCELLED.
func TestSippCallCancelled(t *testing.T) {
	requireTool(t, "sipp")
	p := newCallPBX(t)
	probe := newRTPProbe(t, 0)
	callPeers(t, p, "uas_ring_cancel.xml", "uac_cancel.xml", probe.port)
	p.waitCDR("101", "102", "CANCELLED")
}

// TestSippCallBusy: 102 answers 486; 101 gets 486 and the CDR says BUSY.
func TestSippCallBusy(t *testing.T) {
	requireTool(t, "sipp")
	p := newCallPBX(t)
	probe := newRTPProbe(t, 0)
	callPeers(t, p, "uas_busy.xml", "uac_busy.xml", probe.port)
	p.waitCDR("101", "102", "BUSY")
}
