package daemon

import (
	"bytes"
	"testing"
)

// TestFastRegisterBufferReuse: the fast path recycles a datagram's buffer
// once it is answered, so nothing the registrar keeps may point into it.
// A registration is answered from a buffer that is then overwritten; the
// binding must still hold the phone's contact and source.
func TestFastRegisterBufferReuse(t *testing.T) {
	f, conn := newBenchFast(t)
	buf := sippRegister(1, 1, "")
	if !f.answer(buf, benchFrom) {
		t.Fatal("REGISTER without credentials not answered")
	}
	if !bytes.HasPrefix(conn.last, []byte("SIP/2.0 401 ")) {
		t.Fatalf("want a 401 challenge, got %q", conn.last)
	}
	m := benchNonceRE.FindSubmatch(conn.last)
	if m == nil {
		t.Fatalf("no nonce in %q", conn.last)
	}
	buf = sippRegister(1, 2, sippAuthorization(string(m[1])))
	if !f.answer(buf, benchFrom) {
		t.Fatal("REGISTER with credentials not answered")
	}
	if !bytes.HasPrefix(conn.last, []byte("SIP/2.0 200 ")) {
		t.Fatalf("want 200 OK, got %q", conn.last)
	}
	answer := bytes.Clone(conn.last)
	for i := range buf {
		buf[i] = 'X' // what the next datagram in the recycled buffer does
	}
	got := f.reg.Loc.Lookup(benchUser)
	if len(got) != 1 {
		t.Fatalf("%d bindings for %s, want 1", len(got), benchUser)
	}
	if c := got[0].Contact.String(); c != "sip:9001@127.0.0.1:5070" {
		t.Errorf("binding contact %q after the buffer was reused", c)
	}
	if got[0].Source != benchFrom.String() || got[0].UserAgent != "sipp-interop" {
		t.Errorf("binding source %q, user agent %q after the buffer was reused", got[0].Source, got[0].UserAgent)
	}
	if !bytes.Contains(answer, []byte("Contact: <sip:9001@127.0.0.1:5070>;expires=3600")) {
		t.Errorf("200 OK does not list the binding: %q", answer)
	}
}
