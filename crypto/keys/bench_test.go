package keys

import "testing"

// BenchmarkExchange is one whole call set-up: both sides make their share
// and complete with the other's.
func BenchmarkExchange(b *testing.B) {
	alice, bob := mustIdentity(b), mustIdentity(b)
	dir := Directory{"alice": alice.Public(), "bob": bob.Public()}
	for b.Loop() {
		off := mustExchange(b, alice, Offer, "a84b4c76e66710@pc33;1928301774")
		ans := mustExchange(b, bob, Answer, "a84b4c76e66710@pc33;1928301774")
		if _, err := ans.Complete(off.Attribute(), dir.Trusted); err != nil {
			b.Fatal(err)
		}
		if _, err := off.Complete(ans.Attribute(), dir.Trusted); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNewExchange(b *testing.B) {
	id := mustIdentity(b)
	for b.Loop() {
		mustExchange(b, id, Offer, "binding")
	}
}

func BenchmarkParseAttribute(b *testing.B) {
	a := mustExchange(b, mustIdentity(b), Offer, "binding").Attribute()
	for b.Loop() {
		if _, err := ParseAttribute(a); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRefuseForged: the cost an attacker imposes per forged share.
func BenchmarkRefuseForged(b *testing.B) {
	alice, bob := mustIdentity(b), mustIdentity(b)
	forged := flipB64(mustExchange(b, alice, Offer, "b").Attribute(), 3, 5)
	e := mustExchange(b, bob, Answer, "b")
	for b.Loop() {
		if _, err := e.Complete(forged, TrustAny); err == nil {
			b.Fatal("forged share accepted")
		}
	}
}
