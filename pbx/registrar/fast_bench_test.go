package registrar

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"regexp"
	"testing"

	"hushbox/pbx/auth"
	"hushbox/pbx/digest"
	"hushbox/pbx/sipmsg"
	"hushbox/pbx/store"
)

// memDir is an in-memory extension directory, as the store's cache is.
type memDir map[string]store.Extension

func (d memDir) Extension(num string) (store.Extension, error) {
	if e, ok := d[num]; ok {
		return e, nil
	}
	return store.Extension{}, store.ErrNotFound
}

const benchPW = "bench-secret-pw"

func newBenchRegistrar(b *testing.B) *Registrar {
	log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError}))
	dir := memDir{"9001": {Number: "9001", Realm: realm, HA1MD5: digest.HA1(digest.MD5, "9001", realm, benchPW)}}
	a := auth.New(realm, bytes.Repeat([]byte{7}, 32), dir, log)
	a.SetAlgorithms([]string{digest.MD5})
	return New(NewLocation(), a, dir, sipmsg.Signer{Name: "hushbox"}, log)
}

// benchRegister is sipp's REGISTER (pbx/interop/testdata/register.xml).
func benchRegister(cseq int, authz string) []byte {
	if authz != "" {
		authz = "Authorization: " + authz + "\r\n"
	}
	return []byte(fmt.Sprintf("REGISTER sip:127.0.0.1:5060 SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1-%d-0\r\n"+
		"From: <sip:9001@127.0.0.1>;tag=4242SIPpTag01\r\n"+
		"To: <sip:9001@127.0.0.1>\r\n"+
		"Call-ID: 1-4242@127.0.0.1\r\n"+
		"CSeq: %d REGISTER\r\n"+
		"Contact: <sip:9001@127.0.0.1:5070>\r\n"+
		"%s"+
		"Max-Forwards: 70\r\n"+
		"Expires: 3600\r\n"+
		"User-Agent: sipp-interop\r\n"+
		"Content-Length: 0\r\n\r\n", cseq, cseq, authz))
}

var benchNonce = regexp.MustCompile(`nonce="([^"]+)"`)

// benchAuthorization answers the challenge in res as sipp does (MD5, no qop).
func benchAuthorization(b *testing.B, res []byte) string {
	m := benchNonce.FindSubmatch(res)
	if m == nil {
		b.Fatalf("no nonce in %q", res)
	}
	nonce := string(m[1])
	ha1 := digest.HA1(digest.MD5, "9001", realm, benchPW)
	resp := md5hex(ha1 + ":" + nonce + ":" + md5hex("REGISTER:sip:127.0.0.1:5060"))
	return fmt.Sprintf(`Digest username="9001",realm="%s",uri="sip:127.0.0.1:5060",nonce="%s",response="%s",algorithm=MD5`, realm, nonce, resp)
}

// sipgoAnswer is the general path: sipgo parse, Validate, Handle, and the
// response written out.
func sipgoAnswer(r *Registrar, data []byte, out *bytes.Buffer) []byte {
	res := slowAnswer(r, data, "127.0.0.1:5070")
	out.Reset()
	res.StringWrite(out)
	return out.Bytes()
}

var benchSrc = netip.MustParseAddrPort("127.0.0.1:5070")

// benchRegistration measures one path over sipp's two REGISTERs; the
// authenticated ones (a fresh nonce each, as sipp does) are prepared in
// batches outside the timer.
func benchRegistration(b *testing.B, answer func(r *Registrar, data []byte) []byte, challenge bool) {
	r := newBenchRegistrar(b)
	const batch = 256
	msgs := make([][]byte, 0, batch)
	cseq := 1
	prepare := func() {
		msgs = msgs[:0]
		for range batch {
			cseq += 2
			ch := bytes.Clone(answer(r, benchRegister(cseq, "")))
			msgs = append(msgs, benchRegister(cseq+1, benchAuthorization(b, ch)))
		}
	}
	first := benchRegister(1, "")
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if challenge {
			if res := answer(r, first); !bytes.HasPrefix(res, []byte("SIP/2.0 401 ")) {
				b.Fatalf("got %q", res)
			}
			continue
		}
		if n%batch == 0 {
			b.StopTimer()
			prepare()
			b.StartTimer()
		}
		if res := answer(r, msgs[n%batch]); !bytes.HasPrefix(res, []byte("SIP/2.0 200 ")) {
			b.Fatalf("got %q", res)
		}
		n++
	}
}

func fastAnswer() func(r *Registrar, data []byte) []byte {
	var out []byte
	return func(r *Registrar, data []byte) []byte {
		var ok bool
		out, ok = r.AnswerFast(data, benchSrc, out[:0])
		if !ok {
			panic("fast path refused sipp's REGISTER")
		}
		return out
	}
}

func slowAnswerFunc() func(r *Registrar, data []byte) []byte {
	var out bytes.Buffer
	return func(r *Registrar, data []byte) []byte { return sipgoAnswer(r, data, &out) }
}

// BenchmarkRegisterFast: REGISTER with credentials -> 200, through AnswerFast.
func BenchmarkRegisterFast(b *testing.B) { benchRegistration(b, fastAnswer(), false) }

// BenchmarkRegisterSipgo: the same through sipgo's parser and Handle.
func BenchmarkRegisterSipgo(b *testing.B) { benchRegistration(b, slowAnswerFunc(), false) }

// BenchmarkChallengeFast: REGISTER without credentials -> 401, AnswerFast.
func BenchmarkChallengeFast(b *testing.B) { benchRegistration(b, fastAnswer(), true) }

// BenchmarkChallengeSipgo: the same through sipgo's parser and Handle.
func BenchmarkChallengeSipgo(b *testing.B) { benchRegistration(b, slowAnswerFunc(), true) }
