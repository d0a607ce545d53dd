package daemon

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"hushbox/crypto/keys"
	"hushbox/pbx/store"
)

// trunkInvite is an INVITE as a peer hushbox sends it, with the given key
// share attribute value.
func trunkInvite(transport, local, target, binding, share string) string {
	sdpBody := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n" +
		"a=hushbox-call:" + binding + "\r\na=hushbox-key:" + share + "\r\n"
	return "INVITE sip:" + target + " SIP/2.0\r\n" +
		"Via: SIP/2.0/" + transport + " " + local + ";branch=z9hG4bK" + strconv.FormatInt(time.Now().UnixNano(), 36) + "\r\n" +
		"From: <sip:101@office-a>;tag=peer1\r\nTo: <sip:102@office-b>\r\n" +
		"Call-ID: trunk-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "\r\nCSeq: 1 INVITE\r\n" +
		"Contact: <sip:hushbox@" + local + ";transport=" + strings.ToLower(transport) + ">\r\nMax-Forwards: 70\r\n" +
		"Content-Type: application/sdp\r\nContent-Length: " + strconv.Itoa(len(sdpBody)) + "\r\n\r\n" + sdpBody
}

// finalStatus reads responses from r until a final one and returns its code.
func finalStatus(t *testing.T, r *bufio.Reader) int {
	t.Helper()
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading response: %v", err)
		}
		if !strings.HasPrefix(line, "SIP/2.0 ") {
			continue
		}
		code, _ := strconv.Atoi(strings.Fields(line)[1])
		if code >= 200 {
			return code
		}
	}
}

// A hushbox trunk INVITE is refused when it carries a bad signature for a
// pinned identity (403) or arrives without TLS (403); each refusal is
// logged and the box lives on. A share that names no pinned box (malformed
// or a stranger's) is not a trunk call at all: it gets the digest challenge
// any phone gets (407), so a stranger learns nothing about the trunks.
func TestE2ETrunkRefusals(t *testing.T) {
	ctx := testCtx(t, 30*time.Second)
	b := startPBX(t, pbxOptions{tls: true})
	pinned, err := keys.NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := keys.NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.admin().AddTrunk(ctx, store.Trunk{Name: "office-a", Kind: store.TrunkHushbox, Address: "127.0.0.1:9",
		Transport: "tls", Prefix: "1", PeerKey: pinned.Public().String()}, ""); err != nil {
		t.Fatal(err)
	}
	share := func(id *keys.Identity, binding string) string {
		ex, err := keys.NewExchange(id, keys.Offer, binding)
		if err != nil {
			t.Fatal(err)
		}
		return ex.Attribute()
	}
	forged := func(binding string) string {
		s, err := keys.ParseAttribute(share(pinned, binding))
		if err != nil {
			t.Fatal(err)
		}
		s.Signature[7] ^= 0x40
		return s.String()
	}
	sendTLS := func(msg func(local string) string) int {
		conn, err := tls.Dial("tcp", b.tlsAddr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := conn.Write([]byte(msg(conn.LocalAddr().String()))); err != nil {
			t.Fatal(err)
		}
		return finalStatus(t, bufio.NewReader(conn))
	}
	binding := keys.NewBinding()
	cases := []struct {
		name  string
		share string
		want  int
		log   string
	}{
		{"malformed share", "1 not-a-key", 407, ""},
		{"unknown identity", share(stranger, binding), 407, ""},
		{"bad signature", forged(binding), 403, "bad signature refused"},
	}
	for _, c := range cases {
		got := sendTLS(func(local string) string { return trunkInvite("TLS", local, "102@"+b.tlsAddr, binding, c.share) })
		if got != c.want {
			t.Errorf("%s: answered %d, want %d", c.name, got, c.want)
		}
		if c.log != "" {
			waitUntil(t, ctx, "log of "+c.name, func() bool { return strings.Contains(b.logs.String(), c.log) })
		}
	}
	// A genuine share over plain UDP: refused, trunks run over TLS only.
	conn, err := net.Dial("udp", b.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprint(conn, trunkInvite("UDP", conn.LocalAddr().String(), "102@"+b.addr, binding, share(pinned, binding)))
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no answer over UDP: %v", err)
		}
		line := string(buf[:n])
		if strings.HasPrefix(line, "SIP/2.0 1") {
			continue
		}
		if !strings.HasPrefix(line, "SIP/2.0 403") {
			t.Fatalf("trunk INVITE over UDP answered %q, want 403", strings.SplitN(line, "\r\n", 2)[0])
		}
		break
	}
	// The control: a genuine share over TLS from the pinned box gets
	// through to the phone, so the refusals above were about the shares.
	phone := newPhone(t, b, "102")
	phone.setMode(ringOnly)
	phone.mustRegister(ctx)
	conn2, err := tls.Dial("tcp", b.tlsAddr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close()
	if _, err := conn2.Write([]byte(trunkInvite("TLS", conn2.LocalAddr().String(), "102@"+b.tlsAddr, binding, share(pinned, binding)))); err != nil {
		t.Fatal(err)
	}
	ic := phone.waitCall(ctx)
	if strings.Contains(string(ic.req.Body()), "hushbox-key") {
		t.Fatal("the peer's key share was passed on to the phone")
	}
}
