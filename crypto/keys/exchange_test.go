package keys

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"strings"
	"testing"
)

// TestExchangeAgrees: both sides derive the same keys and SAS, with the
// directions crossed, for various bindings.
func TestExchangeAgrees(t *testing.T) {
	alice, bob := mustIdentity(t), mustIdentity(t)
	for _, binding := range []string{
		"a84b4c76e66710@pc33.example.com;1928301774",
		"x",
		NewBinding(),
		strings.Repeat("b", MaxBinding),
		"binding with spaces and ünïcode",
	} {
		off := mustExchange(t, alice, Offer, binding)
		ans := mustExchange(t, bob, Answer, binding)
		bk, err := ans.Complete(off.Attribute(), trustOnly(alice.Public()))
		if err != nil {
			t.Fatalf("answerer Complete: %v", err)
		}
		ak, err := off.Complete(ans.Attribute(), trustOnly(bob.Public()))
		if err != nil {
			t.Fatalf("offerer Complete: %v", err)
		}
		if ak.ScrambleTx != bk.ScrambleRx || ak.ScrambleRx != bk.ScrambleTx {
			t.Errorf("scramble keys do not cross")
		}
		if ak.SRTPTx != bk.SRTPRx || ak.SRTPRx != bk.SRTPTx {
			t.Errorf("SRTP keys do not cross")
		}
		if ak.ScrambleTx == ak.ScrambleRx || ak.SRTPTx == ak.SRTPRx {
			t.Errorf("both directions got the same key")
		}
		if ak.ScrambleTx == [32]byte{} || ak.SRTPTx == [30]byte{} {
			t.Errorf("zero key")
		}
		if ak.SAS != bk.SAS {
			t.Errorf("SAS %q vs %q", ak.SAS, bk.SAS)
		}
		if len(ak.SAS) != 4 || strings.Trim(ak.SAS, sasAlphabet) != "" {
			t.Errorf("SAS %q is not 4 z-base-32 characters", ak.SAS)
		}
		if ak.PeerIdentity != bob.Public() || bk.PeerIdentity != alice.Public() {
			t.Errorf("peer identities wrong")
		}
	}
}

// TestExchangeFresh: two calls between the same identities and binding
// get unrelated keys.
func TestExchangeFresh(t *testing.T) {
	alice, bob := mustIdentity(t), mustIdentity(t)
	seen := map[[32]byte]bool{}
	for range 20 {
		off := mustExchange(t, alice, Offer, "call")
		ans := mustExchange(t, bob, Answer, "call")
		k, err := ans.Complete(off.Attribute(), TrustAny)
		if err != nil {
			t.Fatal(err)
		}
		if seen[k.ScrambleTx] {
			t.Fatal("scramble key repeated across calls")
		}
		seen[k.ScrambleTx] = true
	}
}

// TestAttributeFormat checks the wire format documented in doc.go.
func TestAttributeFormat(t *testing.T) {
	id := mustIdentity(t)
	e := mustExchange(t, id, Offer, "call-1")
	a := e.Attribute()
	if len(a) != AttributeLen || AttributeLen != 176 {
		t.Fatalf("attribute length %d (AttributeLen %d), want 176", len(a), AttributeLen)
	}
	f := strings.Split(a, " ")
	if len(f) != 4 || f[0] != "1" || len(f[1]) != 43 || len(f[2]) != 43 || len(f[3]) != 86 {
		t.Fatalf("attribute %q does not match \"1 <43> <43> <86>\"", a)
	}
	if f[1] != strings.TrimPrefix(id.Public().String(), PublicKeyPrefix) {
		t.Errorf("identity field is not the identity key")
	}
	// The signature covers the transcript exactly as documented.
	var eph [32]byte
	if err := decodeFixed(eph[:], f[2]); err != nil {
		t.Fatal(err)
	}
	var sig [64]byte
	if err := decodeFixed(sig[:], f[3]); err != nil {
		t.Fatal(err)
	}
	pub := id.Public()
	msg := []byte("hushbox-key v1\x01\x00\x00\x00\x06call-1")
	msg = append(append(msg, eph[:]...), pub[:]...)
	if !ed25519.Verify(pub[:], msg, sig[:]) {
		t.Fatal("signature does not cover the documented transcript")
	}
	if v, ok := AttributeValue([]string{"maxptime:20", AttributeName + ":" + a}); !ok || v != a {
		t.Errorf("AttributeValue = %q, %v", v, ok)
	}
	if _, ok := AttributeValue([]string{"hushbox-keys:x"}); ok {
		t.Errorf("AttributeValue matched another attribute")
	}
}

// TestDerivationMatchesSpec recomputes the keys as doc.go specifies them.
func TestDerivationMatchesSpec(t *testing.T) {
	alice, bob := mustIdentity(t), mustIdentity(t)
	const binding = "spec"
	off := mustExchange(t, alice, Offer, binding)
	ans := mustExchange(t, bob, Answer, binding)
	priv, err := ecdh.X25519().NewPrivateKey(off.ephPriv)
	if err != nil {
		t.Fatal(err)
	}
	peer, err := ecdh.X25519().NewPublicKey(ans.share.Ephemeral[:])
	if err != nil {
		t.Fatal(err)
	}
	shared, err := priv.ECDH(peer)
	if err != nil {
		t.Fatal(err)
	}
	ak, err := off.Complete(ans.Attribute(), TrustAny)
	if err != nil {
		t.Fatal(err)
	}
	salt := sha256.Sum256(append(off.share.Ephemeral[:], ans.share.Ephemeral[:]...))
	info := binary.BigEndian.AppendUint32([]byte("hushbox call keys v1"), uint32(len(binding)))
	info = append(info, binding...)
	ai, bi := alice.Public(), bob.Public()
	info = append(append(info, ai[:]...), bi[:]...)
	okm, err := hkdf.Key(sha256.New, shared, salt[:], string(info), 128)
	if err != nil {
		t.Fatal(err)
	}
	if string(ak.ScrambleTx[:]) != string(okm[0:32]) || string(ak.ScrambleRx[:]) != string(okm[32:64]) ||
		string(ak.SRTPTx[:]) != string(okm[64:94]) || string(ak.SRTPRx[:]) != string(okm[94:124]) {
		t.Fatal("keys differ from the documented derivation")
	}
	v := binary.BigEndian.Uint32(okm[124:])
	want := string([]byte{sasAlphabet[v>>27], sasAlphabet[v>>22&31], sasAlphabet[v>>17&31], sasAlphabet[v>>12&31]})
	if ak.SAS != want {
		t.Fatalf("SAS %q, want %q", ak.SAS, want)
	}
}

// flipB64 changes one character of field i (1 identity, 2 ephemeral, 3
// signature) of an attribute value into another valid base64url character.
func flipB64(attr string, field, pos int) string {
	f := strings.Split(attr, " ")
	b := []byte(f[field])
	if b[pos] == 'A' {
		b[pos] = 'B'
	} else {
		b[pos] = 'A'
	}
	f[field] = string(b)
	return strings.Join(f, " ")
}

// TestCompleteRefuses: every way a share can be wrong gives the right
// sentinel error.
func TestCompleteRefuses(t *testing.T) {
	alice, bob, mallory := mustIdentity(t), mustIdentity(t), mustIdentity(t)
	const binding = "call-id-1;from-tag-1"
	offer := mustExchange(t, alice, Offer, binding).Attribute()
	otherCall := mustExchange(t, alice, Offer, "call-id-2;from-tag-2").Attribute()
	asAnswer := mustExchange(t, alice, Answer, binding).Attribute()
	byMallory := mustExchange(t, mallory, Offer, binding).Attribute()
	// Mallory's ephemeral key and signature under Alice's identity.
	spliced := strings.Join([]string{"1", strings.Fields(offer)[1], strings.Fields(byMallory)[2], strings.Fields(byMallory)[3]}, " ")

	for _, tc := range []struct {
		name    string
		attr    string
		trusted func(PublicKey) bool
		want    error
	}{
		{"replayed into another binding", otherCall, trustOnly(alice.Public()), ErrBadSignature},
		{"reflected role", asAnswer, trustOnly(alice.Public()), ErrBadSignature},
		{"tampered identity", flipB64(offer, 1, 10), TrustAny, ErrBadSignature},
		{"tampered ephemeral", flipB64(offer, 2, 10), TrustAny, ErrBadSignature},
		{"tampered signature", flipB64(offer, 3, 10), TrustAny, ErrBadSignature},
		{"tampered signature S", flipB64(offer, 3, 60), TrustAny, ErrBadSignature},
		{"spliced ephemeral", spliced, TrustAny, ErrBadSignature},
		{"untrusted identity", byMallory, trustOnly(alice.Public()), ErrUntrusted},
		{"nil trust policy", offer, nil, ErrUntrusted},
		{"empty directory", offer, Directory{}.Trusted, ErrUntrusted},
		{"empty", "", TrustAny, ErrMalformed},
		{"version 2", "2" + offer[1:], TrustAny, ErrMalformed},
		{"missing field", offer[:strings.LastIndexByte(offer, ' ')], TrustAny, ErrMalformed},
		{"extra field", offer + " x", TrustAny, ErrMalformed},
		{"trailing space", offer + " ", TrustAny, ErrMalformed},
		{"double space", strings.Replace(offer, " ", "  ", 1), TrustAny, ErrMalformed},
		{"padding", strings.Replace(offer, " ", "= ", 2), TrustAny, ErrMalformed},
		{"std base64 alphabet", offer[:len(offer)-1] + "+", TrustAny, ErrMalformed},
		{"nonzero trailing bits", offer[:len(offer)-1] + "B", TrustAny, ErrMalformed},
		{"line break", offer + "\r\n", TrustAny, ErrMalformed},
		{"huge", strings.Repeat("1 ", 10000), TrustAny, ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := mustExchange(t, bob, Answer, binding)
			_, err := e.Complete(tc.attr, tc.trusted)
			wantErr(t, err, tc.want)
			// The failure leaves the exchange usable for the genuine offer.
			if _, err := e.Complete(offer, trustOnly(alice.Public())); err != nil {
				t.Fatalf("genuine offer after a refused one: %v", err)
			}
		})
	}
}

// TestLowOrderEphemeral: a signer that sends a low-order X25519 key (all
// zero here) gets ErrMalformed, not a zero shared secret.
func TestLowOrderEphemeral(t *testing.T) {
	mallory, bob := mustIdentity(t), mustIdentity(t)
	s := Share{Identity: mallory.Public()}
	sig, err := mallory.sign(transcript(Offer, "b", s.Ephemeral, s.Identity))
	if err != nil {
		t.Fatal(err)
	}
	copy(s.Signature[:], sig)
	_, err = mustExchange(t, bob, Answer, "b").Complete(s.String(), TrustAny)
	wantErr(t, err, ErrMalformed)
}

func TestExchangeLifecycle(t *testing.T) {
	alice, bob := mustIdentity(t), mustIdentity(t)
	off := mustExchange(t, alice, Offer, "b")
	ans := mustExchange(t, bob, Answer, "b")
	if _, err := off.Complete(ans.Attribute(), TrustAny); err != nil {
		t.Fatal(err)
	}
	if off.ephPriv != nil {
		t.Error("ephemeral private key kept after Complete")
	}
	_, err := off.Complete(ans.Attribute(), TrustAny)
	wantErr(t, err, ErrDestroyed)
	if off.Attribute() == "" {
		t.Error("Attribute gone after Complete")
	}

	ans.Destroy()
	ans.Destroy()
	_, err = ans.Complete(off.Attribute(), TrustAny)
	wantErr(t, err, ErrDestroyed)

	alice.Destroy()
	_, err = NewExchange(alice, Offer, "b")
	wantErr(t, err, ErrDestroyed)
	if alice.Public() == (PublicKey{}) {
		t.Error("Public gone after Destroy")
	}
}

func TestNewExchangeArguments(t *testing.T) {
	id := mustIdentity(t)
	for _, tc := range []struct {
		role    Role
		binding string
		ok      bool
	}{
		{Offer, "x", true},
		{Answer, strings.Repeat("x", MaxBinding), true},
		{Offer, "", false},
		{Offer, strings.Repeat("x", MaxBinding+1), false},
		{0, "x", false},
		{3, "x", false},
	} {
		_, err := NewExchange(id, tc.role, tc.binding)
		if (err == nil) != tc.ok {
			t.Errorf("NewExchange(%s, %d bytes) error %v, want ok=%v", tc.role, len(tc.binding), err, tc.ok)
		}
	}
}

// TestBindingAttribute: the offerer's drawn binding reaches the answerer
// through the SDP attributes and makes the two sides agree.
func TestBindingAttribute(t *testing.T) {
	alice, bob := mustIdentity(t), mustIdentity(t)
	b1, b2 := NewBinding(), NewBinding()
	if len(b1) != 22 || b1 == b2 {
		t.Fatalf("NewBinding: %q, %q", b1, b2)
	}
	off := mustExchange(t, alice, Offer, b1)
	extra := []string{"maxptime:20", BindingAttributeName + ":" + b1, AttributeName + ":" + off.Attribute()}
	b, ok := BindingValue(extra)
	if !ok || b != b1 {
		t.Fatalf("BindingValue = %q, %v", b, ok)
	}
	a, _ := AttributeValue(extra)
	ans := mustExchange(t, bob, Answer, b)
	if _, err := ans.Complete(a, TrustAny); err != nil {
		t.Fatal(err)
	}
	if _, err := off.Complete(ans.Attribute(), TrustAny); err != nil {
		t.Fatal(err)
	}
}

func TestRoleString(t *testing.T) {
	if Offer.String() != "offer" || Answer.String() != "answer" || Role(9).String() != "Role(9)" {
		t.Error("Role.String")
	}
}
