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
// the success hook of right passwords, each with the source; neither hears
// of the first, credential-less request.
func TestHooks(t *testing.T) {
	a := New("hook.test", make([]byte, 32), oneUser{"hook.test", "right"}, nil)
	var failed, succeeded []string
	a.SetFailureHook(func(src string) { failed = append(failed, src) })
	a.SetSuccessHook(func(src string) { succeeded = append(succeeded, src) })
	for _, tc := range []struct {
		user, password string
		want           Outcome
		failure        bool // the failure hook hears of it, else the success hook
	}{
		{"101", "right", OK, false},
		{"101", "wrong", Forbidden, true},
		{"999", "wrong", Forbidden, true},
	} {
		failed, succeeded = nil, nil
		req := register(tc.user)
		if _, o := a.Check(req, false, tc.user); o != Challenge || len(failed)+len(succeeded) != 0 {
			t.Fatalf("%+v: first request: %v, hooks heard %v %v", tc, o, failed, succeeded)
		}
		if err := sipmsg.AnswerChallenge(req, a.ChallengeResponse(req, false, false), tc.user, tc.password); err != nil {
			t.Fatal(err)
		}
		_, o := a.Check(req, false, tc.user)
		heard, other := succeeded, failed
		if tc.failure {
			heard, other = failed, succeeded
		}
		if o != tc.want || len(heard) != 1 || len(other) != 0 {
			t.Fatalf("%+v: %v, failure hook heard %v, success hook %v", tc, o, failed, succeeded)
		}
		if heard[0] != "192.0.2.9:5060" {
			t.Fatalf("hook heard source %q", heard[0])
		}
	}
}
