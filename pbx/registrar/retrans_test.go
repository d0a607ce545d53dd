package registrar

import (
	"fmt"
	"testing"
	"time"
)

func TestAnsweredMemory(t *testing.T) {
	a := newAnswered()
	now := time.Now()
	key := appendKey(nil, "10.0.0.1:5060", []byte("z9hG4bK1"), []byte("call"), []byte("2 REGISTER"), []byte("Digest x"))
	if _, c := a.claim(key, now, nil); c != claimProceed {
		t.Fatalf("first sight of a request: claim %d, want proceed", c)
	}
	if _, c := a.claim(key, now, nil); c != claimInFlight {
		t.Fatalf("retransmission while the original is answered: claim %d, want in flight", c)
	}
	a.finish(key, []byte("SIP/2.0 200 OK\r\n\r\n"), now)
	cases := []struct {
		name string
		key  []byte
		at   time.Time
		want int
	}{
		{"same request", key, now.Add(time.Second), claimAnswered},
		{"after a transaction's lifetime", key, now.Add(retransmissionTTL + time.Second), claimProceed},
		{"another CSeq", appendKey(nil, "10.0.0.1:5060", []byte("z9hG4bK1"), []byte("call"), []byte("3 REGISTER"), []byte("Digest x")), now, claimProceed},
		{"another source", appendKey(nil, "10.0.0.2:5060", []byte("z9hG4bK1"), []byte("call"), []byte("2 REGISTER"), []byte("Digest x")), now, claimProceed},
		// Fields cannot run into each other: "a"+"bc" differs from "ab"+"c".
		{"shifted fields", appendKey(nil, "10.0.0.1:5060", []byte("z9hG4bK1c"), []byte("all"), []byte("2 REGISTER"), []byte("Digest x")), now, claimProceed},
	}
	for _, c := range cases {
		a := newAnswered()
		a.claim(key, now, nil)
		a.finish(key, []byte("SIP/2.0 200 OK\r\n\r\n"), now)
		res, got := a.claim(c.key, c.at, nil)
		if got != c.want || got == claimAnswered && string(res) != "SIP/2.0 200 OK\r\n\r\n" {
			t.Errorf("%s: claim %d (%q), want %d", c.name, got, res, c.want)
		}
	}
	// A claim finished without an answer (a challenge, a refusal) is forgotten.
	other := []byte("other")
	a.claim(other, now, nil)
	a.finish(other, nil, now)
	if _, c := a.claim(other, now, nil); c != claimProceed {
		t.Errorf("after a refusal: claim %d, want proceed", c)
	}
	// A full memory forgets its oldest answers, and only those.
	for i := range retransmissionSlots {
		k := []byte(fmt.Sprint("k", i))
		a.claim(k, now, nil)
		a.finish(k, []byte("r"), now)
	}
	if _, c := a.claim(key, now, nil); c != claimProceed {
		t.Error("the oldest answer survived a full round of newer ones")
	}
	if _, c := a.claim([]byte("k1000"), now, nil); c != claimAnswered {
		t.Error("a recent answer was forgotten")
	}
	if len(a.index) > retransmissionSlots {
		t.Errorf("index holds %d entries for %d slots", len(a.index), retransmissionSlots)
	}
}
