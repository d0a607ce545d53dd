package auth

import (
	"fmt"
	"testing"

	"github.com/emiago/sipgo/sip"

	"hushbox/pbx/digest"
	"hushbox/pbx/sipmsg"
	"hushbox/pbx/store"
)

// oneUser is a directory holding extension 101.
type oneUser struct{ realm, password string }

func (d oneUser) Extension(num string) (store.Extension, error) {
	if num != "101" {
		return store.Extension{}, store.ErrNotFound
	}
	return store.Extension{Number: "101", Realm: d.realm,
		HA1MD5:    digest.HA1(digest.MD5, "101", d.realm, d.password),
		HA1SHA256: digest.HA1(digest.SHA256, "101", d.realm, d.password)}, nil
}

func register(user string) *sip.Request {
	msg, err := sip.ParseMessage([]byte(fmt.Sprintf("REGISTER sip:pbx SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bK-1\r\n"+
		"From: <sip:%s@pbx>;tag=1\r\nTo: <sip:%s@pbx>\r\nCall-ID: hook@test\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n", user, user)))
	if err != nil {
		panic(err)
	}
	req := msg.(*sip.Request)
	req.SetSource("192.0.2.9:5060")
	return req
}

// The failure hook hears of wrong passwords, for known and unknown users,
// and of nothing else: not the first, credential-less request, not a
// right password.
func TestFailureHook(t *testing.T) {
	a := New("hook.test", make([]byte, 32), oneUser{"hook.test", "right"}, nil)
	var heard []string
	a.SetFailureHook(func(src string) { heard = append(heard, src) })
	for _, tc := range []struct {
		user, password string
		want           Outcome
		hook           bool
	}{
		{"101", "right", OK, false},
		{"101", "wrong", Forbidden, true},
		{"999", "wrong", Forbidden, true},
	} {
		heard = nil
		req := register(tc.user)
		if _, o := a.Check(req, false, tc.user); o != Challenge || len(heard) != 0 {
			t.Fatalf("%+v: first request: %v, hook %v", tc, o, heard)
		}
		if err := sipmsg.AnswerChallenge(req, a.ChallengeResponse(req, false, false), tc.user, tc.password); err != nil {
			t.Fatal(err)
		}
		_, o := a.Check(req, false, tc.user)
		if o != tc.want || (len(heard) == 1) != tc.hook {
			t.Fatalf("%+v: %v, hook heard %v", tc, o, heard)
		}
		if tc.hook && heard[0] != "192.0.2.9:5060" {
			t.Fatalf("hook heard source %q", heard[0])
		}
	}
}

// The success hook hears of right passwords only, with the source.
func TestSuccessHook(t *testing.T) {
	a := New("hook.test", make([]byte, 32), oneUser{"hook.test", "right"}, nil)
	var heard []string
	a.SetSuccessHook(func(src string) { heard = append(heard, src) })
	for _, tc := range []struct {
		user, password string
		want           Outcome
		hook           bool
	}{
		{"101", "right", OK, true},
		{"101", "wrong", Forbidden, false},
		{"999", "wrong", Forbidden, false},
	} {
		heard = nil
		req := register(tc.user)
		if _, o := a.Check(req, false, tc.user); o != Challenge || len(heard) != 0 {
			t.Fatalf("%+v: first request: %v, hook %v", tc, o, heard)
		}
		if err := sipmsg.AnswerChallenge(req, a.ChallengeResponse(req, false, false), tc.user, tc.password); err != nil {
			t.Fatal(err)
		}
		_, o := a.Check(req, false, tc.user)
		if o != tc.want || (len(heard) == 1) != tc.hook {
			t.Fatalf("%+v: %v, hook heard %v", tc, o, heard)
		}
		if tc.hook && heard[0] != "192.0.2.9:5060" {
			t.Fatalf("hook heard source %q", heard[0])
		}
	}
}
