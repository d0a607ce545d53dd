package registrar

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"hushbox/pbx/accounts"
	"hushbox/pbx/auth"
	"hushbox/pbx/digest"
	"hushbox/pbx/sipmsg"
	"hushbox/pbx/store"
)

const realm = "test.realm"

type fixture struct {
	reg *Registrar
	db  *store.DB
	now time.Time
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := accounts.Add(db, realm, "101", "Alice", "password101"); err != nil {
		t.Fatal(err)
	}
	if _, err := accounts.Add(db, realm, "102", "Bob", "password102"); err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	a := auth.New(realm, key, db, nil)
	f := &fixture{db: db, now: time.Now()}
	loc := NewLocation()
	loc.now = func() time.Time { return f.now }
	f.reg = New(loc, a, db, sipmsg.Signer{Name: "hushbox/test"}, nil)
	f.reg.now = func() time.Time { return f.now }
	return f
}

func parse(t *testing.T, raw string) *sip.Request {
	t.Helper()
	raw = strings.ReplaceAll(raw, "\n", "\r\n")
	msg, err := sip.ParseMessage([]byte(raw))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, raw)
	}
	req := msg.(*sip.Request)
	req.SetSource("127.0.0.1:5070")
	return req
}

type regOpts struct {
	user, authUser, password string
	contacts                 []string
	expires                  string // Expires header, "" = none
	cseq                     int
	callID                   string
	alg                      string
	challenge                *sip.Response
}

func register(t *testing.T, o regOpts) *sip.Request {
	t.Helper()
	if o.callID == "" {
		o.callID = "call-1"
	}
	if o.cseq == 0 {
		o.cseq = 1
	}
	var b strings.Builder
	fmt.Fprintf(&b, "REGISTER sip:hushbox SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK%d%s\n", o.cseq, o.callID)
	fmt.Fprintf(&b, "From: <sip:%s@hushbox>;tag=f1\nTo: <sip:%s@hushbox>\nCall-ID: %s\nCSeq: %d REGISTER\nMax-Forwards: 70\n", o.user, o.user, o.callID, o.cseq)
	for _, c := range o.contacts {
		fmt.Fprintf(&b, "Contact: %s\n", c)
	}
	if o.expires != "" {
		fmt.Fprintf(&b, "Expires: %s\n", o.expires)
	}
	if o.challenge != nil {
		b.WriteString("Authorization: " + answer(t, o.challenge, o.alg, o.authUser, o.password, "REGISTER", "sip:hushbox") + "\n")
	}
	b.WriteString("Content-Length: 0\n\n")
	return parse(t, b.String())
}

// answer computes a digest response to the challenge of the given algorithm.
func answer(t *testing.T, res *sip.Response, alg, user, password, method, uri string) string {
	t.Helper()
	if alg == "" {
		alg = digest.MD5
	}
	var nonce string
	for _, h := range res.GetHeaders("WWW-Authenticate") {
		if strings.Contains(h.Value(), "algorithm="+alg) {
			i := strings.Index(h.Value(), `nonce="`)
			rest := h.Value()[i+7:]
			nonce = rest[:strings.IndexByte(rest, '"')]
		}
	}
	if nonce == "" {
		t.Fatalf("no %s challenge in %s", alg, res)
	}
	var hf func() hash.Hash = md5.New
	if alg == digest.SHA256 {
		hf = sha256.New
	}
	h := func(s string) string { x := hf(); x.Write([]byte(s)); return hex.EncodeToString(x.Sum(nil)) }
	ha1 := h(user + ":" + realm + ":" + password)
	ha2 := h(method + ":" + uri)
	resp := h(ha1 + ":" + nonce + ":00000001:abcdef:auth:" + ha2)
	return fmt.Sprintf(`Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=%s, qop=auth, nc=00000001, cnonce="abcdef"`,
		user, realm, nonce, uri, resp, alg)
}

func (f *fixture) challenge(t *testing.T, user string) *sip.Response {
	rep := f.reg.Handle(register(t, regOpts{user: user, contacts: []string{"<sip:" + user + "@127.0.0.1:5070>"}}))
	if rep.Res.StatusCode != 401 || !rep.Stateless {
		t.Fatalf("first REGISTER: %d stateless=%v, want 401 stateless", rep.Res.StatusCode, rep.Stateless)
	}
	return rep.Res
}

func TestChallengeSameForKnownAndUnknown(t *testing.T) {
	f := newFixture(t)
	known := f.challenge(t, "101")
	unknown := f.challenge(t, "999")
	shape := func(r *sip.Response) string {
		var parts []string
		for _, h := range r.Headers() {
			v := h.Value()
			if h.Name() == "WWW-Authenticate" {
				i := strings.Index(v, `nonce="`)
				j := strings.IndexByte(v[i+7:], '"')
				v = v[:i] + v[i+7+j+1:]
			}
			if h.Name() == "To" || h.Name() == "From" {
				v = "" // name the user asked about
			}
			parts = append(parts, h.Name()+":"+v)
		}
		return strings.Join(parts, "\n")
	}
	if shape(known) != shape(unknown) {
		t.Fatalf("known and unknown users get different challenges:\n%s\n---\n%s", shape(known), shape(unknown))
	}
	if got := len(known.GetHeaders("WWW-Authenticate")); got != 2 {
		t.Fatalf("%d challenges, want SHA-256 and MD5", got)
	}
	if !strings.Contains(known.GetHeaders("WWW-Authenticate")[0].Value(), "SHA-256") {
		t.Fatal("SHA-256 must be offered first (RFC 8760)")
	}
	// A wrong password for a known user and any password for an unknown
	// one get the same refusal.
	wrongKnown := f.reg.Handle(register(t, regOpts{user: "101", authUser: "101", password: "nope", contacts: []string{"<sip:101@127.0.0.1:5070>"}, challenge: known, cseq: 2}))
	wrongUnknown := f.reg.Handle(register(t, regOpts{user: "999", authUser: "999", password: "nope", contacts: []string{"<sip:999@127.0.0.1:5070>"}, challenge: unknown, cseq: 2}))
	if wrongKnown.Res.StatusCode != 403 || wrongUnknown.Res.StatusCode != 403 {
		t.Fatalf("wrong password: %d / %d, want 403 / 403", wrongKnown.Res.StatusCode, wrongUnknown.Res.StatusCode)
	}
	if f.reg.Loc.Count() != 0 {
		t.Fatal("a refused REGISTER left a binding")
	}
}

func TestRegisterFlows(t *testing.T) {
	for _, alg := range []string{digest.MD5, digest.SHA256} {
		t.Run(alg, func(t *testing.T) {
			f := newFixture(t)
			ch := f.challenge(t, "101")
			contact := "<sip:101@127.0.0.1:5070;transport=udp>"
			rep := f.reg.Handle(register(t, regOpts{user: "101", authUser: "101", password: "password101", alg: alg,
				contacts: []string{contact}, expires: "600", challenge: ch, cseq: 2}))
			if rep.Res.StatusCode != 200 || rep.Stateless {
				t.Fatalf("REGISTER: %d", rep.Res.StatusCode)
			}
			if got := rep.Res.GetHeaders("Contact"); len(got) != 1 || !strings.Contains(got[0].Value(), "expires=600") {
				t.Fatalf("200 contacts: %v", got)
			}
			if rep.Res.GetHeader("Server").Value() != "hushbox/test" {
				t.Fatal("no Server header")
			}
			bs := f.reg.Loc.Lookup("101")
			if len(bs) != 1 || bs[0].Source != "127.0.0.1:5070" || bs[0].Transport != "UDP" {
				t.Fatalf("bindings %+v", bs)
			}
			// A replay of the exact same authorised request is not accepted.
			again := f.reg.Handle(register(t, regOpts{user: "101", authUser: "101", password: "password101", alg: alg,
				contacts: []string{contact}, expires: "600", challenge: ch, cseq: 3}))
			if again.Res.StatusCode != 401 {
				t.Fatalf("replayed nonce count: %d, want 401 (stale)", again.Res.StatusCode)
			}
		})
	}
}

func (f *fixture) registerOK(t *testing.T, o regOpts) *sip.Response {
	t.Helper()
	o.challenge = f.challenge(t, o.user)
	o.authUser, o.password = o.user, "password"+o.user
	if o.user == "999" {
		o.password = "x"
	}
	return f.reg.Handle(register(t, o)).Res
}

func TestBindings(t *testing.T) {
	f := newFixture(t)
	c1, c2 := "<sip:101@127.0.0.1:5070>", "<sip:101@127.0.0.1:5071>"
	if r := f.registerOK(t, regOpts{user: "101", contacts: []string{c1}, cseq: 1}); r.StatusCode != 200 {
		t.Fatal(r.StatusCode)
	}
	if r := f.registerOK(t, regOpts{user: "101", contacts: []string{c2}, cseq: 1, callID: "call-2"}); r.StatusCode != 200 {
		t.Fatal(r.StatusCode)
	}
	if n := len(f.reg.Loc.Lookup("101")); n != 2 {
		t.Fatalf("%d bindings, want 2 (two phones)", n)
	}
	// Too brief.
	r := f.registerOK(t, regOpts{user: "101", contacts: []string{c1 + ";expires=10"}, cseq: 5})
	if r.StatusCode != 423 || r.GetHeader("Min-Expires") == nil {
		t.Fatalf("short expiry: %d", r.StatusCode)
	}
	// Out of order CSeq on the same Call-ID.
	r = f.registerOK(t, regOpts{user: "101", contacts: []string{c1}, cseq: 1})
	if r.StatusCode != 500 {
		t.Fatalf("stale CSeq: %d, want 500", r.StatusCode)
	}
	// Unregister one.
	r = f.registerOK(t, regOpts{user: "101", contacts: []string{c1}, expires: "0", cseq: 6})
	if r.StatusCode != 200 || len(f.reg.Loc.Lookup("101")) != 1 {
		t.Fatalf("unregister: %d, %d left", r.StatusCode, len(f.reg.Loc.Lookup("101")))
	}
	// Bindings expire.
	f.now = f.now.Add(2 * time.Hour)
	if n := len(f.reg.Loc.Lookup("101")); n != 0 {
		t.Fatalf("%d bindings after expiry", n)
	}
	if f.reg.Loc.Sweep() != 1 {
		t.Fatal("sweep did not drop the expired binding")
	}
}

func TestWildcardAndBadContacts(t *testing.T) {
	f := newFixture(t)
	f.registerOK(t, regOpts{user: "101", contacts: []string{"<sip:101@127.0.0.1:5070>", "<sip:101@127.0.0.1:5072>"}, cseq: 1})
	if r := f.registerOK(t, regOpts{user: "101", contacts: []string{"*"}, cseq: 2}); r.StatusCode != 400 {
		t.Fatalf("wildcard without Expires: 0 answered %d", r.StatusCode)
	}
	if r := f.registerOK(t, regOpts{user: "101", contacts: []string{"*"}, expires: "0", cseq: 3}); r.StatusCode != 200 {
		t.Fatalf("wildcard: %d", r.StatusCode)
	}
	if n := len(f.reg.Loc.Lookup("101")); n != 0 {
		t.Fatalf("%d bindings after Contact: *", n)
	}
	if r := f.registerOK(t, regOpts{user: "101", contacts: []string{"<sip:101@127.0.0.1:5070>;expires=abc"}, cseq: 4}); r.StatusCode != 400 {
		t.Fatalf("bad expires param answered %d", r.StatusCode)
	}
}

func TestCannotRegisterSomeoneElse(t *testing.T) {
	f := newFixture(t)
	ch := f.challenge(t, "102")
	// 101's valid credentials used to register 102's address.
	rep := f.reg.Handle(register(t, regOpts{user: "102", authUser: "101", password: "password101",
		contacts: []string{"<sip:102@127.0.0.1:5070>"}, challenge: ch, cseq: 2}))
	if rep.Res.StatusCode != 403 {
		t.Fatalf("registering another user's address: %d, want 403", rep.Res.StatusCode)
	}
	if f.reg.Loc.Count() != 0 {
		t.Fatal("binding created")
	}
}

func TestMaxContacts(t *testing.T) {
	f := newFixture(t)
	for i := 0; i < MaxContacts+3; i++ {
		r := f.registerOK(t, regOpts{user: "101", contacts: []string{fmt.Sprintf("<sip:101@127.0.0.1:%d>", 6000+i)}, cseq: 1, callID: fmt.Sprint("c", i)})
		if r.StatusCode != 200 {
			t.Fatal(r.StatusCode)
		}
		f.now = f.now.Add(time.Second)
	}
	if n := len(f.reg.Loc.Lookup("101")); n != MaxContacts {
		t.Fatalf("%d bindings, want the cap %d", n, MaxContacts)
	}
}
