package interop

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"
)

// providerTrunk adds a SIP provider trunk at 127.0.0.1:port.
func providerTrunk(t *testing.T, p *pbx, port int, extra ...string) {
	t.Helper()
	args := append([]string{"trunk", "add", "provider", "--kind", "sip",
		"--address", "127.0.0.1:" + strconv.Itoa(port), "--user", "acct-77", "--password", "prov-secret-77",
		"--prefix", "0", "--strip", "1"}, extra...)
	p.run(args...)
}

// The box registers its account at a provider: the provider (sipp)
// challenges, checks the digest with the right password, and the trunk is
// listed as registered.
func TestProviderRegistration(t *testing.T) {
	requireTool(t, "sipp")
	p := startPBX(t, md5First...)
	port := freePort(t)
	prov := startSipp(t, "provider registrar", sippOpts{
		Scenario: "provider_register.xml", Port: port,
		Keys: map[string]string{"user": "acct-77", "password": "prov-secret-77"},
	})
	providerTrunk(t, p, port, "--register")
	prov.wait()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var ts []struct {
			Name, Status string
		}
		if err := json.Unmarshal([]byte(p.run("trunk", "list", "--json")), &ts); err != nil {
			t.Fatal(err)
		}
		if len(ts) == 1 && strings.HasPrefix(ts[0].Status, "registered") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("trunk status %+v, want registered", ts)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if strings.Contains(p.run("trunk", "list", "--json"), "prov-secret-77") {
		t.Fatal("trunk list shows the provider password")
	}
}

// 101 dials 0 + a number: the call leaves on the provider trunk without
// the prefix, answers the provider's 407 with the account's credentials,
// and is connected; the CDR records it.
func TestProviderOutboundCall(t *testing.T) {
	requireTool(t, "sipp")
	requireFile(t, sippPcap)
	p := newCallPBX(t)
	port := freePort(t)
	probe := newRTPProbe(t, 20)
	prov := startSipp(t, "provider", sippOpts{
		Scenario: "provider_call.xml", Port: port, Service: "5551000",
		Keys: map[string]string{"user": "acct-77", "password": "prov-secret-77", "probe_port": strconv.Itoa(probe.port)},
	})
	providerTrunk(t, p, port)
	uac := startSipp(t, "caller 101", sippOpts{
		Scenario: "uac_call.xml", Target: p.addr(), Service: "05551000",
		User: "101", Password: "pw-101-interop",
		Keys: map[string]string{"caller": "101"}, MediaPort: freeUDPRange(t, 4),
	})
	uac.wait()
	prov.wait()
	fromCaller, _, _, _ := probe.counts()
	if fromCaller == 0 {
		t.Error("no RTP reached the provider's media address through the relay")
	}
	p.waitCDR("101", "05551000", "ANSWERED")
}

// The provider delivers a call to one of the box's numbers (a DID): it
// rings the extension the DID maps to, without any password, because it
// comes from the provider's address.
func TestProviderInboundDID(t *testing.T) {
	requireTool(t, "sipp")
	p := newCallPBX(t)
	provPort := freePort(t)
	providerTrunk(t, p, provPort, "--did", "5551234=102")
	probe := newRTPProbe(t, 20)
	uasPort := freePort(t)
	registerSipp(t, p, "102", "pw-102-interop", uasPort)
	uas := startSipp(t, "callee 102", sippOpts{
		Scenario: "uas_answer.xml", Port: uasPort, Service: "102",
		Keys: map[string]string{"probe_port": strconv.Itoa(probe.port)}, Extra: []string{"-aa"},
	})
	in := startSipp(t, "provider inbound", sippOpts{
		Scenario: "provider_inbound.xml", Target: p.addr(), Port: provPort, Service: "5551234",
		MediaPort: freeUDPRange(t, 4),
	})
	in.wait()
	uas.wait()
	p.waitCDR("102", "ANSWERED", "ANSWERED")
}
