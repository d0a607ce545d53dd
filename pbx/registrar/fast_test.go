package registrar

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"hushbox/pbx/digest"
	"hushbox/pbx/sipmsg"
)

// slowAnswer is the general path of the daemon for a UDP REGISTER: sipgo
// parses, sipmsg.Validate checks, Handle answers. nil: no answer (garbage).
func slowAnswer(r *Registrar, data []byte, src string) *sip.Response {
	msg, err := sip.ParseMessage(data)
	if err != nil {
		return nil
	}
	req, ok := msg.(*sip.Request)
	if !ok || req.Method != sip.REGISTER {
		return nil
	}
	req.SetSource(src)
	req.SetTransport("UDP")
	if code, reason := sipmsg.Validate(req); code != 0 {
		return r.signer.Response(req, code, reason, nil)
	}
	return r.Handle(req).Res
}

func md5hex(s string) string { x := md5.Sum([]byte(s)); return hex.EncodeToString(x[:]) }

var nonceParam = regexp.MustCompile(`nonce="[^"]*"`)

// answerShape is what a phone reads in an answer: status, the copied
// headers, challenges (nonces aside: they are random), bindings, and the
// names of all headers. The To tag's value is random too; its presence
// counts.
func answerShape(res *sip.Response) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s\n", res.StatusCode, res.Reason)
	var names, contacts []string
	for _, h := range res.Headers() {
		names = append(names, h.Name())
		v := h.Value()
		switch h.Name() {
		case "To":
			to := h.(*sip.ToHeader)
			tag, _ := to.Params.Get("tag")
			c := to.Params.Clone()
			c.Remove("tag")
			v = fmt.Sprintf("%s tag:%v params:%s", to.Address.String(), tag != "", c.String())
		case "WWW-Authenticate":
			v = nonceParam.ReplaceAllString(v, `nonce=N`)
		case "Date":
			v = "present"
		case "Contact":
			// Contacts of one REGISTER share their update time: their
			// order is the map's, on either path.
			contacts = append(contacts, v)
			continue
		}
		fmt.Fprintf(&b, "%s: %s\n", h.Name(), v)
	}
	slices.Sort(contacts)
	fmt.Fprintf(&b, "contacts %q\n", contacts)
	slices.Sort(names)
	fmt.Fprintf(&b, "names %v\n", names)
	return b.String()
}

// pair is two registrars over identical state: one answers through
// sipgo, the other through AnswerFast. Nonces of one are good at the other
// (same key), so a challenge from either can be answered to both.
type pair struct {
	slow, fast *fixture
}

func newPair(t testing.TB) *pair {
	p := &pair{slow: newFixture(t), fast: newFixture(t)}
	p.fast.now = p.slow.now
	return p
}

// send gives data to both paths and fails the test when they answer
// differently. wantFast says whether the fast path must take it. It
// returns the general path's answer.
func (p *pair) send(t testing.TB, data string, src string, wantFast bool) *sip.Response {
	t.Helper()
	data = strings.ReplaceAll(data, "\n", "\r\n")
	return p.sendRaw(t, data, src, &wantFast)
}

// sendRaw is send without the line end conversion; a nil wantFast takes
// either path.
func (p *pair) sendRaw(t testing.TB, data string, src string, wantFast *bool) *sip.Response {
	t.Helper()
	slow := slowAnswer(p.slow.reg, []byte(data), src)
	out, ok := p.fast.reg.AnswerFast([]byte(data), netip.MustParseAddrPort(src), nil)
	if wantFast != nil && ok != *wantFast {
		t.Fatalf("fast path took it: %v, want %v\n%s", ok, wantFast, data)
	}
	if !ok {
		return slow
	}
	if slow == nil {
		t.Fatalf("the fast path answered what sipgo cannot parse:\n%s", data)
	}
	msg, err := sip.ParseMessage(out)
	if err != nil {
		t.Fatalf("fast answer does not parse: %v\n%s", err, out)
	}
	fast, isRes := msg.(*sip.Response)
	if !isRes {
		t.Fatalf("fast answer is not a response: %s", out)
	}
	if a, b := answerShape(slow), answerShape(fast); a != b {
		t.Fatalf("answers differ for\n%s\n--- general path:\n%s--- fast path:\n%s", data, a, b)
	}
	return slow
}

// msgOpts builds a REGISTER as text (LF line ends; send makes them CRLF).
type msgOpts struct {
	user     string // To and From user
	via      string // the Via line(s), default one UDP Via with rport
	contacts []string
	expires  string
	cseq     int
	callID   string
	authz    string // Authorization value
	extra    string // more header lines, each ending in \n
	compact  bool
	body     string
}

func (o msgOpts) text() string {
	if o.callID == "" {
		o.callID = "call-1"
	}
	if o.cseq == 0 {
		o.cseq = 1
	}
	if o.via == "" {
		o.via = fmt.Sprintf("Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK%d%s;rport\n", o.cseq, o.callID)
	}
	n := map[string]string{"from": "From", "to": "To", "call-id": "Call-ID", "contact": "Contact", "l": "Content-Length"}
	if o.compact {
		n = map[string]string{"from": "f", "to": "t", "call-id": "i", "contact": "m", "l": "l"}
	}
	var b strings.Builder
	b.WriteString("REGISTER sip:hushbox SIP/2.0\n" + o.via)
	fmt.Fprintf(&b, "%s: <sip:%s@hushbox>;tag=f1\n%s: <sip:%s@hushbox>\n%s: %s\nCSeq: %d REGISTER\nMax-Forwards: 70\n",
		n["from"], o.user, n["to"], o.user, n["call-id"], o.callID, o.cseq)
	for _, c := range o.contacts {
		fmt.Fprintf(&b, "%s: %s\n", n["contact"], c)
	}
	if o.expires != "" {
		fmt.Fprintf(&b, "Expires: %s\n", o.expires)
	}
	if o.authz != "" {
		b.WriteString("Authorization: " + o.authz + "\n")
	}
	b.WriteString(o.extra)
	fmt.Fprintf(&b, "%s: %d\n\n%s", n["l"], len(o.body), o.body)
	return b.String()
}

const src4 = "127.0.0.1:5070"

// registered runs a first try and the answer to its challenge through
// both paths; the contacts are o's.
func (p *pair) registered(t *testing.T, o msgOpts, alg string, wantFast bool) *sip.Response {
	t.Helper()
	o.cseq = 1
	ch := p.send(t, o.text(), src4, wantFast)
	o.cseq = 2
	o.authz = answer(t, ch, alg, o.user, "password"+o.user, "REGISTER", "sip:hushbox")
	return p.send(t, o.text(), src4, wantFast)
}

func TestFastSameAsGeneral(t *testing.T) {
	alice := []string{"<sip:101@127.0.0.1:5070>"}
	cases := []struct {
		name string
		run  func(t *testing.T, p *pair)
	}{
		{"first try is challenged", func(t *testing.T, p *pair) {
			p.send(t, msgOpts{user: "101", contacts: alice}.text(), src4, true)
			p.send(t, msgOpts{user: "999", contacts: alice}.text(), src4, true) // unknown user: same answer
		}},
		{"challenge answered MD5", func(t *testing.T, p *pair) {
			if res := p.registered(t, msgOpts{user: "101", contacts: alice, expires: "600"}, digest.MD5, true); res.StatusCode != 200 {
				t.Fatalf("got %d", res.StatusCode)
			}
		}},
		{"challenge answered SHA-256", func(t *testing.T, p *pair) {
			if res := p.registered(t, msgOpts{user: "101", contacts: alice}, digest.SHA256, true); res.StatusCode != 200 {
				t.Fatalf("got %d", res.StatusCode)
			}
		}},
		{"wrong password", func(t *testing.T, p *pair) {
			o := msgOpts{user: "101", contacts: alice}
			ch := p.send(t, o.text(), src4, true)
			o.cseq, o.authz = 2, answer(t, ch, digest.MD5, "101", "wrong", "REGISTER", "sip:hushbox")
			if res := p.send(t, o.text(), src4, true); res.StatusCode != 403 {
				t.Fatalf("got %d", res.StatusCode)
			}
		}},
		{"someone else's address", func(t *testing.T, p *pair) {
			o := msgOpts{user: "102", contacts: alice}
			ch := p.send(t, o.text(), src4, true)
			o.cseq, o.authz = 2, answer(t, ch, digest.MD5, "101", "password101", "REGISTER", "sip:hushbox")
			if res := p.send(t, o.text(), src4, true); res.StatusCode != 403 {
				t.Fatalf("got %d", res.StatusCode)
			}
		}},
		{"stale nonce", func(t *testing.T, p *pair) {
			old := digest.NewNonces(make([]byte, 32), time.Minute).New(time.Now().Add(-time.Hour))
			ch := &sip.Response{}
			ch.AppendHeader(sip.NewHeader("WWW-Authenticate", `Digest realm="test.realm", nonce="`+old+`", algorithm=MD5`))
			o := msgOpts{user: "101", contacts: alice, cseq: 2}
			o.authz = answer(t, ch, digest.MD5, "101", "password101", "REGISTER", "sip:hushbox")
			res := p.send(t, o.text(), src4, true)
			if res.StatusCode != 401 || !strings.Contains(res.GetHeader("WWW-Authenticate").Value(), "stale=true") {
				t.Fatalf("got %s", res)
			}
		}},
		{"replayed answer", func(t *testing.T, p *pair) {
			o := msgOpts{user: "101", contacts: alice}
			ch := p.send(t, o.text(), src4, true)
			o.cseq, o.authz = 2, answer(t, ch, digest.MD5, "101", "password101", "REGISTER", "sip:hushbox")
			p.send(t, o.text(), src4, true)
			o.cseq = 3
			if res := p.send(t, o.text(), src4, true); res.StatusCode != 401 {
				t.Fatalf("got %d", res.StatusCode)
			}
		}},
		{"retransmission gets the same answer", func(t *testing.T, p *pair) {
			o := msgOpts{user: "101", contacts: alice}
			ch := p.send(t, o.text(), src4, true)
			o.cseq, o.authz = 2, answer(t, ch, digest.MD5, "101", "password101", "REGISTER", "sip:hushbox")
			first := p.send(t, o.text(), src4, true)
			again := p.send(t, o.text(), src4, true) // its nonce count is spent: only the memory answers 200
			if first.StatusCode != 200 || again.String() != first.String() {
				t.Fatalf("first %d, retransmission:\n%s", first.StatusCode, again)
			}
			// From elsewhere it is a replay, not a retransmission.
			if res := p.send(t, o.text(), "127.0.0.1:5999", true); res.StatusCode != 401 {
				t.Fatalf("same request from another source: %d, want 401", res.StatusCode)
			}
		}},
		{"unregister all", func(t *testing.T, p *pair) {
			p.registered(t, msgOpts{user: "101", contacts: alice}, digest.MD5, true)
			res := p.registered(t, msgOpts{user: "101", contacts: []string{"*"}, expires: "0", callID: "c2"}, digest.MD5, true)
			if res.StatusCode != 200 || p.fast.reg.Loc.Count() != 0 || p.slow.reg.Loc.Count() != 0 {
				t.Fatalf("got %d, bindings %d / %d", res.StatusCode, p.slow.reg.Loc.Count(), p.fast.reg.Loc.Count())
			}
		}},
		{"wildcard without Expires 0", func(t *testing.T, p *pair) {
			if res := p.registered(t, msgOpts{user: "101", contacts: []string{"*"}}, digest.MD5, true); res.StatusCode != 400 {
				t.Fatalf("got %d", res.StatusCode)
			}
		}},
		{"multiple contacts, one removed, query", func(t *testing.T, p *pair) {
			two := []string{"<sip:101@10.0.0.1:5060>;expires=120", `"Desk" <sip:101@10.0.0.2:5062;transport=udp>`}
			if res := p.registered(t, msgOpts{user: "101", contacts: two}, digest.MD5, true); len(res.GetHeaders("Contact")) != 2 {
				t.Fatalf("got %s", res)
			}
			p.registered(t, msgOpts{user: "101", contacts: []string{"<sip:101@10.0.0.1:5060>;expires=0"}, callID: "c3"}, digest.MD5, true)
			if res := p.registered(t, msgOpts{user: "101", callID: "c4"}, digest.MD5, true); len(res.GetHeaders("Contact")) != 1 {
				t.Fatalf("query: %s", res)
			}
		}},
		{"interval too brief", func(t *testing.T, p *pair) {
			if res := p.registered(t, msgOpts{user: "101", contacts: alice, expires: "30"}, digest.MD5, true); res.StatusCode != 423 {
				t.Fatalf("got %d", res.StatusCode)
			}
		}},
		{"too many contacts", func(t *testing.T, p *pair) {
			var many []string
			for i := range MaxContacts + 1 {
				many = append(many, fmt.Sprintf("<sip:101@10.0.0.%d:5060>", i+1))
			}
			if res := p.registered(t, msgOpts{user: "101", contacts: many}, digest.MD5, true); res.StatusCode != 403 {
				t.Fatalf("got %d", res.StatusCode)
			}
		}},
		{"out of order CSeq", func(t *testing.T, p *pair) {
			o := msgOpts{user: "101", contacts: alice, cseq: 5}
			ch := p.send(t, o.text(), src4, true)
			o.authz = answer(t, ch, digest.MD5, "101", "password101", "REGISTER", "sip:hushbox")
			p.send(t, o.text(), src4, true)
			ch = p.send(t, msgOpts{user: "101", contacts: alice, cseq: 6}.text(), src4, true)
			o.cseq, o.authz = 4, answer(t, ch, digest.MD5, "101", "password101", "REGISTER", "sip:hushbox")
			if res := p.send(t, o.text(), src4, true); res.StatusCode != 500 {
				t.Fatalf("got %d", res.StatusCode)
			}
		}},
		{"compact forms", func(t *testing.T, p *pair) {
			if res := p.registered(t, msgOpts{user: "101", contacts: alice, compact: true}, digest.MD5, true); res.StatusCode != 200 {
				t.Fatalf("got %d", res.StatusCode)
			}
		}},
		{"header names in any case", func(t *testing.T, p *pair) {
			p.send(t, strings.NewReplacer("Call-ID:", "CALL-ID:", "From:", "fRoM:", "CSeq:", "cseq:").Replace(
				msgOpts{user: "101", contacts: alice}.text()), src4, true)
		}},
		{"IPv6", func(t *testing.T, p *pair) {
			via := "Via: SIP/2.0/UDP [2001:db8::5]:5070;branch=z9hG4bK-v6;rport\n"
			o := msgOpts{user: "101", via: via, contacts: []string{"<sip:101@[2001:db8::5]:5070>"}}
			ch := p.send(t, o.text(), "[2001:db8::5]:5070", true)
			o.cseq, o.authz = 2, answer(t, ch, digest.MD5, "101", "password101", "REGISTER", "sip:hushbox")
			if res := p.send(t, o.text(), "[2001:db8::5]:5070", true); res.StatusCode != 200 {
				t.Fatalf("got %d", res.StatusCode)
			}
		}},
		{"two Vias, no rport", func(t *testing.T, p *pair) {
			via := "Via: SIP/2.0/UDP proxy.example:5060;branch=z9hG4bKp1\nVia: SIP/2.0/UDP 10.1.1.1;branch=z9hG4bKa;received=10.9.9.9;rport=5999\n"
			p.send(t, msgOpts{user: "101", via: via, contacts: alice}.text(), src4, true)
		}},
		{"sipp REGISTER", func(t *testing.T, p *pair) {
			// As sipp sends pbx/interop/testdata/register.xml (MD5, no qop).
			first := "REGISTER sip:127.0.0.1:5060 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1-1-0\n" +
				"From: <sip:101@127.0.0.1>;tag=4242SIPpTag01\nTo: <sip:101@127.0.0.1>\nCall-ID: 1-4242@127.0.0.1\n" +
				"CSeq: 1 REGISTER\nContact: <sip:101@127.0.0.1:5070>\nMax-Forwards: 70\nExpires: 3600\n" +
				"User-Agent: sipp-interop\nContent-Length: 0\n\n"
			ch := p.send(t, first, src4, true)
			nonce := nonceParam.FindString(ch.GetHeaders("WWW-Authenticate")[1].Value())
			nonce = strings.TrimSuffix(strings.TrimPrefix(nonce, `nonce="`), `"`)
			ha1 := digest.HA1(digest.MD5, "101", realm, "password101")
			resp := md5hex(ha1 + ":" + nonce + ":" + md5hex("REGISTER:sip:127.0.0.1:5060"))
			second := strings.Replace(strings.Replace(first, "CSeq: 1", "CSeq: 2", 1), "Max-Forwards",
				`Authorization: Digest username="101",realm="test.realm",uri="sip:127.0.0.1:5060",nonce="`+nonce+
					`",response="`+resp+`",algorithm=MD5`+"\nMax-Forwards", 1)
			if res := p.send(t, second, src4, true); res.StatusCode != 200 {
				t.Fatalf("got %d", res.StatusCode)
			}
		}},
		// What the fast path leaves to sipgo.
		{"falls back", func(t *testing.T, p *pair) {
			base := msgOpts{user: "101", contacts: alice}
			for _, data := range []string{
				msgOpts{user: "101", contacts: alice, body: "hello"}.text(),
				msgOpts{user: "101", contacts: alice, extra: "Require: gruu\n"}.text(),
				msgOpts{user: "101", contacts: alice, extra: "Route: <sip:proxy;lr>\n"}.text(),
				msgOpts{user: "101", contacts: []string{"<sip:101@10.0.0.1>, <sip:101@10.0.0.2>"}}.text(),
				msgOpts{user: "101", via: "Via: SIP/2.0/UDP a.example;branch=z9hG4bK1, SIP/2.0/UDP b.example;branch=z9hG4bK2\n", contacts: alice}.text(),
				msgOpts{user: "101", via: "Via: SIP/2.0/TCP a.example;branch=z9hG4bK1\n", contacts: alice}.text(),
				strings.Replace(base.text(), "Max-Forwards: 70\n", "Max-Forwards:\n 70\n", 1), // folded
				strings.Replace(base.text(), "CSeq: 1 REGISTER", "CSeq: 1 INVITE", 1),
				strings.Replace(base.text(), "To: <sip:101@hushbox>\n", "", 1),
				strings.Replace(base.text(), "REGISTER sip:hushbox", "REGISTER tel:+123", 1),
				strings.Replace(base.text(), "<sip:101@127.0.0.1:5070>", "sip:101@127.0.0.1:5070", 1),
				strings.Replace(base.text(), "Content-Length: 0\n", "Content-Length: 0\nl: 0\n", 1),
				strings.Replace(base.text(), "Content-Length: 0\n", "", 1) + "garbage",
			} {
				p.send(t, data, src4, false)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, newPair(t)) })
	}
}

// FuzzAnswerFast: for any datagram the fast path answers, the general
// path gives the same answer (and the fast answer parses).
func FuzzAnswerFast(f *testing.F) {
	f.Add(crlf(msgOpts{user: "101", contacts: []string{"<sip:101@127.0.0.1:5070>"}}.text()))
	f.Add(crlf(msgOpts{user: "101", contacts: []string{"*"}, expires: "0", compact: true}.text()))
	f.Add(crlf(msgOpts{user: "999", via: "Via: SIP/2.0/UDP [2001:db8::5]:5070;branch=z9hG4bK-v6;rport\n", contacts: []string{"\"Desk\" <sip:101@10.0.0.2:5062;transport=udp>;expires=30"}}.text()))
	f.Add(crlf(msgOpts{user: "101", contacts: []string{"<sip:101@127.0.0.1:5070>"},
		authz: `Digest username="101", realm="test.realm", nonce="x", uri="sip:hushbox", response="00", algorithm=MD5`}.text()))
	p := newPair(f)
	f.Fuzz(func(t *testing.T, data string) {
		p.sendRaw(t, data, src4, nil)
	})
}

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }
