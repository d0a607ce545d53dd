package interop

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// baresip is one baresip instance driven through its ctrl_tcp module
// (netstring-framed JSON commands and events).
type baresip struct {
	t      testing.TB
	name   string
	dir    string
	cmd    *exec.Cmd
	log    *lockedBuffer
	ctrl   net.Conn
	events chan map[string]any
	exited chan struct{}
}

// baresipConfig writes a config folder: SIP and RTP on 127.0.0.1 only,
// G.711 A-law only, audio from the src WAV (aufile), what it hears dumped
// by the sndfile filter into dump-*-dec.wav in the same folder (baresip 1.0
// has no aufile player), one account that registers with the PBX and
// answers calls by itself.
func baresipConfig(t testing.TB, p *pbx, ext, password, src string, sipPort, ctrlPort, rtpLo int) string {
	t.Helper()
	return baresipConfigAccount(t, baresipAccount(p, "udp", ext, password), "", src, sipPort, ctrlPort, rtpLo)
}

// baresipConfigAccount is baresipConfig for any account line, with extra
// lines appended to the config file (e.g. sip_cafile for TLS).
func baresipConfigAccount(t testing.TB, account, extra, src string, sipPort, ctrlPort, rtpLo int) string {
	t.Helper()
	dir := t.TempDir()
	config := fmt.Sprintf(`poll_method		poll
sip_listen		127.0.0.1:%d
net_interface		127.0.0.1
call_local_timeout	60
call_max_calls		2
audio_source		aufile,%s
ausrc_srate		8000
auplay_srate		8000
ausrc_channels		1
auplay_channels		1
audio_buffer		20-160
rtp_ports		%d-%d
rtcp_mux		no
jitter_buffer_delay	5-10
module_path		/usr/lib/baresip/modules
module			g711.so
module			aufile.so
module			sndfile.so
snd_path		%s
module_tmp		account.so
module_app		menu.so
module_app		ctrl_tcp.so
ctrl_tcp_listen		127.0.0.1:%d
%s`, sipPort, src, rtpLo, rtpLo+9, dir, ctrlPort, extra)
	for name, data := range map[string]string{"config": config, "accounts": account, "contacts": ""} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// startBaresip runs baresip on a config folder and connects to ctrl_tcp.
func startBaresip(t testing.TB, name, dir string, ctrlPort int) *baresip {
	t.Helper()
	bin := requireTool(t, "baresip")
	b := &baresip{t: t, name: name, dir: dir, log: &lockedBuffer{},
		events: make(chan map[string]any, 64), exited: make(chan struct{})}
	b.cmd = exec.Command(bin, "-4", "-f", dir)
	b.cmd.Dir = dir
	out, err := b.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	b.cmd.Stderr = b.cmd.Stdout
	if err := b.cmd.Start(); err != nil {
		t.Fatalf("start baresip %s: %v", name, err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			b.log.WriteLine(sc.Text())
		}
		_ = b.cmd.Wait()
		close(b.exited)
	}()
	t.Cleanup(func() {
		if b.ctrl != nil {
			_ = b.command("quit", "")
			b.ctrl.Close()
		}
		select {
		case <-b.exited:
		case <-time.After(5 * time.Second):
			_ = b.cmd.Process.Kill()
			<-b.exited
		}
		if t.Failed() {
			t.Logf("baresip %s output:\n%s", name, lastBytes([]byte(b.log.String()), 8000))
		}
	})
	// ctrl_tcp listens once the modules are loaded.
	addr := fmt.Sprintf("127.0.0.1:%d", ctrlPort)
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			b.ctrl = c
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("baresip %s ctrl_tcp %s: %v\n%s", name, addr, err, b.log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	go b.readEvents()
	return b
}

// readEvents decodes netstrings "LEN:JSON," from ctrl_tcp into events.
func (b *baresip) readEvents() {
	r := bufio.NewReader(b.ctrl)
	for {
		msg, err := readNetstring(r, 1<<20)
		if err != nil {
			close(b.events)
			return
		}
		var m map[string]any
		if json.Unmarshal(msg, &m) == nil {
			b.events <- m
		}
	}
}

// readNetstring reads one netstring ("5:hello,"), refusing lengths over max.
func readNetstring(r *bufio.Reader, max int) ([]byte, error) {
	head, err := r.ReadString(':')
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(head[:len(head)-1]))
	if err != nil || n < 0 || n > max {
		return nil, fmt.Errorf("netstring length %q", head)
	}
	buf := make([]byte, n+1)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	if buf[n] != ',' {
		return nil, fmt.Errorf("netstring without trailing comma")
	}
	return buf[:n], nil
}

// command sends one ctrl_tcp command.
func (b *baresip) command(cmd, params string) error {
	msg, err := json.Marshal(map[string]string{"command": cmd, "params": params, "token": cmd})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(b.ctrl, "%d:%s,", len(msg), msg)
	return err
}

// waitEvent waits for an event of the given type (REGISTER_OK,
// CALL_ESTABLISHED, ...), failing on REGISTER_FAIL or when bound runs out.
func (b *baresip) waitEvent(typ string, bound time.Duration) map[string]any {
	b.t.Helper()
	timer := time.NewTimer(bound)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-b.events:
			if !ok {
				b.t.Fatalf("baresip %s: control connection closed waiting for %s", b.name, typ)
			}
			et, _ := ev["type"].(string)
			if et == typ {
				return ev
			}
			if et == "REGISTER_FAIL" && typ == "REGISTER_OK" {
				b.t.Fatalf("baresip %s: %v", b.name, ev)
			}
		case <-timer.C:
			b.t.Fatalf("baresip %s: no %s within %v", b.name, typ, bound)
			return nil
		}
	}
}

// waitRegistered waits for baresip's own report of a 200 OK to its
// REGISTER ("... 200 OK (...) [1 binding]"); registration starts before
// ctrl_tcp accepts connections, so its event may come before anyone listens.
func (b *baresip) waitRegistered(bound time.Duration) {
	b.t.Helper()
	for deadline := time.Now().Add(bound); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		out := b.log.String()
		if strings.Contains(out, " 200 OK (") && strings.Contains(out, "binding]") {
			return
		}
		select {
		case <-b.exited:
			b.t.Fatalf("baresip %s exited before registering", b.name)
		default:
		}
	}
	b.t.Fatalf("baresip %s: not registered within %v", b.name, bound)
}

// speechWAV makes an 8 kHz mono 16-bit WAV of text with espeak-ng and sox
// (speech), and a copy padded with 0.5 s of silence before and 5 s after to
// play into the call (source).
func speechWAV(t testing.TB, dir, name, text string) (speech, source string) {
	t.Helper()
	espeak := requireTool(t, "espeak-ng")
	sox := requireTool(t, "sox")
	raw := filepath.Join(dir, name+"-raw.wav")
	out := filepath.Join(dir, name+".wav")
	padded := filepath.Join(dir, name+"-padded.wav")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if b, err := exec.CommandContext(ctx, espeak, "-w", raw, text).CombinedOutput(); err != nil {
		t.Fatalf("espeak-ng: %v\n%s", err, b)
	}
	if b, err := exec.CommandContext(ctx, sox, raw, "-r", "8000", "-c", "1", "-b", "16", out).CombinedOutput(); err != nil {
		t.Fatalf("sox: %v\n%s", err, b)
	}
	if b, err := exec.CommandContext(ctx, sox, out, padded, "pad", "0.5", "5").CombinedOutput(); err != nil {
		t.Fatalf("sox pad: %v\n%s", err, b)
	}
	return out, padded
}

// TestBaresipCallAudio: two baresip phones register as 101 and 102 over
// UDP, 101 calls 102 (auto answer), each plays its own speech WAV into the
// call and records what it hears. What 102 recorded must be 101's speech
// (normalised cross-correlation > 0.95 at the best lag) and the other way
// round.
func TestBaresipCallAudio(t *testing.T) {
	requireTool(t, "baresip")
	p := startPBX(t, md5Only...)
	baresipAudioCall(t, p, "udp", "udp", nil)
}

// baresipAudioCall registers two baresip phones as 101 (over transportA)
// and 102 (over transportB: "udp", "tcp" or "tls"), makes 101 call 102
// (auto answer) with speech both ways, hangs up at 101 and checks that 102
// saw the hangup, that each side recorded the other's speech (normalised
// cross-correlation > 0.95 at the best lag) and that the CDR says ANSWERED.
// registered, when not nil, runs once both phones are registered.
// It returns the two config folders (101's, 102's).
func baresipAudioCall(t *testing.T, p *pbx, transportA, transportB string, registered func()) (dirA, dirB string) {
	t.Helper()
	work := t.TempDir()
	speechA, srcA := speechWAV(t, work, "from-101", "This is extension one oh one calling through hushbox. The quick brown fox jumps over the lazy dog.")
	speechB, srcB := speechWAV(t, work, "from-102", "Extension one oh two answers. Pack my box with five dozen liquor jugs, please.")

	p.addExt("101", "baresip-101-pw")
	p.addExt("102", "baresip-102-pw")

	ctrlA, ctrlB := freePort(t), freePort(t)
	dirA = baresipConfigAccount(t, baresipAccount(p, transportA, "101", "baresip-101-pw"), baresipTLSConfig(p, transportA),
		srcA, freeSIPPort(t), ctrlA, freeUDPRange(t, 10))
	dirB = baresipConfigAccount(t, baresipAccount(p, transportB, "102", "baresip-102-pw"), baresipTLSConfig(p, transportB),
		srcB, freeSIPPort(t), ctrlB, freeUDPRange(t, 10))
	b := startBaresip(t, "102", dirB, ctrlB)
	a := startBaresip(t, "101", dirA, ctrlA)
	b.waitRegistered(15 * time.Second)
	a.waitRegistered(15 * time.Second)
	if registered != nil {
		registered()
	}

	if err := a.command("dial", p.dialURI(transportA, "102")); err != nil {
		t.Fatalf("dial: %v", err)
	}
	a.waitEvent("CALL_ESTABLISHED", 15*time.Second)
	b.waitEvent("CALL_ESTABLISHED", 15*time.Second)

	// Let both speeches play to the end, then hang up while the sources
	// still play their trailing silence (baresip ends the call when its
	// source file ends).
	durA, durB := wavSeconds(t, speechA), wavSeconds(t, speechB)
	time.Sleep(time.Duration((max(durA, durB)+1.5)*1000) * time.Millisecond)
	if err := a.command("hangup", ""); err != nil {
		t.Fatalf("hangup: %v", err)
	}
	a.waitEvent("CALL_CLOSED", 10*time.Second)
	b.waitEvent("CALL_CLOSED", 10*time.Second)
	// quit flushes and closes the recordings.
	for _, x := range []*baresip{a, b} {
		_ = x.command("quit", "")
		select {
		case <-x.exited:
		case <-time.After(10 * time.Second):
			t.Fatalf("baresip %s did not quit", x.name)
		}
	}

	var once sync.Once
	check := func(dir, speech, recDir string) {
		sig, err := readWAVMono16(speech)
		if err != nil {
			t.Fatalf("%s: %v", speech, err)
		}
		recs, _ := filepath.Glob(filepath.Join(recDir, "dump-*-dec.wav"))
		if len(recs) != 1 {
			t.Errorf("%s: want one recording in %s, found %v", dir, recDir, recs)
			return
		}
		got, err := readWAVMono16(recs[0])
		if err != nil {
			t.Errorf("%s: %v", dir, err)
			return
		}
		r, lag := bestNormXCorr(sig, got, 8000*3)
		t.Logf("%s: recording %.2f s, source %.2f s, best lag %d samples, correlation %.4f",
			dir, float64(len(got))/8000, float64(len(sig))/8000, lag, r)
		if r <= 0.95 {
			t.Errorf("%s: correlation %.4f at lag %d, want > 0.95", dir, r, lag)
			once.Do(func() { t.Logf("WAVs kept in %s", work) })
		}
	}
	check("101 -> 102", speechA, dirB)
	check("102 -> 101", speechB, dirA)
	p.waitCDR("101", "102", "ANSWERED")
	return dirA, dirB
}

// baresipAccount is the accounts line of ext registering with p over
// transport ("udp", "tcp" or "tls": TLS goes to the daemon's --sip-tls
// port), answering calls by itself with G.711 A-law.
func baresipAccount(p *pbx, transport, ext, password string) string {
	uri := fmt.Sprintf("sip:%s@%s", ext, p.addr())
	switch transport {
	case "tcp":
		uri += ";transport=tcp"
	case "tls":
		uri = fmt.Sprintf("sip:%s@%s:%d;transport=tls", ext, p.host, p.tlsPort)
	}
	return fmt.Sprintf("<%s>;auth_user=%s;auth_pass=%s;answermode=auto;audio_codecs=PCMA;regint=300;ptime=20;mediaenc=\n",
		uri, ext, password)
}

// dialURI is the URI a phone registered over transport dials to reach ext
// through p: baresip 1.0 sends a call over its account's transport (it adds
// ";transport=tls" to a URI without one), so a TLS phone must dial the TLS
// port.
func (p *pbx) dialURI(transport, ext string) string {
	if transport == "tls" {
		return fmt.Sprintf("sip:%s@%s:%d;transport=tls", ext, p.host, p.tlsPort)
	}
	return fmt.Sprintf("sip:%s@%s", ext, p.addr())
}

// baresipTLSConfig is the extra config of a TLS account: trust the daemon's
// self-signed certificate (DATA/sip.crt). baresip 1.0 (libre 1.1) loads it
// but does not enforce it: its TLS client never turns on peer verification
// (see TestTLSRegisterVerifiedCert for a client that does).
func baresipTLSConfig(p *pbx, transport string) string {
	if transport != "tls" {
		return ""
	}
	return fmt.Sprintf("sip_cafile\t\t%s\n", filepath.Join(p.data, "sip.crt"))
}

// wavSeconds is the duration of an 8 kHz mono WAV.
func wavSeconds(t testing.TB, path string) float64 {
	t.Helper()
	s, err := readWAVMono16(path)
	if err != nil {
		t.Fatal(err)
	}
	return float64(len(s)) / 8000
}
