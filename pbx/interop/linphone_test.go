package interop

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// extListEntry is one row of `hushbox ext list --json`.
type extListEntry struct {
	Number        string `json:"number"`
	Registrations int    `json:"registrations"`
}

// registrations returns the number of registered contacts of ext, from
// `hushbox ext list --json`.
func (p *pbx) registrations(ext string) int {
	p.t.Helper()
	out := p.run("ext", "list", "--json")
	var list []extListEntry
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		p.t.Fatalf("hushbox ext list --json: %v\n%s", err, out)
	}
	for _, e := range list {
		if e.Number == ext {
			return e.Registrations
		}
	}
	p.t.Fatalf("extension %s not in ext list:\n%s", ext, out)
	return 0
}

// waitRegistered polls until ext has at least one registration (bounded).
func (p *pbx) waitRegistered(ext string, bound time.Duration) {
	p.t.Helper()
	for deadline := time.Now().Add(bound); ; time.Sleep(200 * time.Millisecond) {
		if p.registrations(ext) > 0 {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("extension %s not registered within %v", ext, bound)
		}
	}
}

// linphonerc is a linphonec configuration: UDP SIP on a free 127.0.0.1
// port, PCMA only, no sound card needed, one proxy account on the PBX.
func linphonerc(p *pbx, ext, password string, sipPort, rtpLo int) string {
	return fmt.Sprintf(`[sip]
sip_port=%d
sip_tcp_port=0
sip_tls_port=0
use_ipv6=0
default_proxy=0
register_only_when_network_is_up=0
guess_hostname=1
inc_timeout=30

[net]
mtu=1300

[rtp]
audio_rtp_port=%d-%d
audio_jitt_comp=60

[sound]
echocancellation=0

[video]
enabled=0
capture=0
display=0

[proxy_0]
reg_proxy=<sip:%s;transport=udp>
reg_identity=<sip:%s@%s>
reg_expires=300
reg_sendregister=1
publish=0
dial_escape_plus=0
quality_reporting_enabled=0

[auth_info_0]
username=%s
userid=%s
passwd=%s
realm=%s

[audio_codec_0]
mime=PCMA
rate=8000
channels=1
enabled=1

[audio_codec_1]
mime=PCMU
rate=8000
channels=1
enabled=0
`, sipPort, rtpLo, rtpLo+9, p.addr(), ext, p.addr(), ext, ext, password, testRealm)
}

// TestLinphonecCall: linphonec registers as 101 (the PBX lists the
// registration) and calls 102, a sipp callee, through the PBX; the call is
// answered, hung up by linphonec, and leaves an ANSWERED CDR. The daemon
// offers both MD5 (first, for the sipp callee) and SHA-256.
func TestLinphonecCall(t *testing.T) {
	bin := requireTool(t, "linphonec")
	requireTool(t, "sipp")
	p := startPBX(t, md5First...)
	p.addExt("101", "linphone-101-pw")
	p.addExt("102", "pw-102-interop")

	dir := t.TempDir()
	// liblinphone does not start its SIP stack when it cannot open its
	// database under $HOME.
	if err := os.MkdirAll(filepath.Join(dir, ".local", "share", "linphone"), 0o700); err != nil {
		t.Fatal(err)
	}
	rc := filepath.Join(dir, "linphonerc")
	if err := os.WriteFile(rc, []byte(linphonerc(p, "101", "linphone-101-pw", freePort(t), freeUDPRange(t, 10))), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", rc, "-d", "3", "-l", filepath.Join(dir, "linphone.log"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	out := &lockedBuffer{}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start linphonec: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(outPipe)
		for sc.Scan() {
			out.WriteLine(sc.Text())
		}
		_ = cmd.Wait()
		close(exited)
	}()
	send := func(line string) {
		if _, err := io.WriteString(stdin, line+"\n"); err != nil {
			t.Errorf("linphonec stdin %q: %v", line, err)
		}
	}
	t.Cleanup(func() {
		send("quit")
		stdin.Close()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("linphonec output:\n%s", lastBytes([]byte(out.String()), 6000))
			if log, err := os.ReadFile(filepath.Join(dir, "linphone.log")); err == nil {
				t.Logf("linphone.log:\n%s", lastBytes(log, 10000))
			}
		}
	})

	p.waitRegistered("101", 20*time.Second)

	// 102: a sipp callee that answers and waits for the BYE.
	probe := newRTPProbe(t, 0)
	uasPort := freePort(t)
	registerSipp(t, p, "102", "pw-102-interop", uasPort)
	uas := startSipp(t, "callee 102", sippOpts{
		Scenario: "uas_answer.xml", Port: uasPort, Service: "102",
		Keys:  map[string]string{"probe_port": fmt.Sprint(probe.port)},
		Extra: []string{"-aa"},
	})

	// No sound card: linphonec's file "sound card" plays a WAV into the call.
	tone := filepath.Join(dir, "tone.wav")
	samples := make([]int16, 8000*4)
	for i := range samples {
		samples[i] = int16(8000 * math.Sin(2*math.Pi*440*float64(i)/8000))
	}
	if err := os.WriteFile(tone, wav16(samples), 0o600); err != nil {
		t.Fatal(err)
	}
	send("soundcard use files")
	send(fmt.Sprintf("call sip:102@%s", p.addr()))
	for deadline := time.Now().Add(15 * time.Second); !strings.Contains(out.String(), "connected"); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("linphonec call not connected within 15 s")
		}
	}
	send("play " + tone)
	// Hold the call for a few seconds of RTP, then hang up from linphonec.
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if n, _, _, _ := probe.counts(); n >= 100 {
			break
		}
		if time.Now().After(deadline) {
			n, _, _, _ := probe.counts()
			t.Errorf("callee got %d RTP packets from linphonec, want 100 (2 s)", n)
			break
		}
	}
	send("terminate")
	uas.wait()
	p.waitCDR("101", "102", "ANSWERED")
}
