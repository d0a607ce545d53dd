package srtp

import (
	"testing"
)

func mustNew(t *testing.T, tag int, s Suite) Crypto {
	t.Helper()
	c, err := NewCrypto(tag, s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNegotiate(t *testing.T) {
	cm80 := mustNew(t, 1, AES128CMSHA1_80)
	cm32 := mustNew(t, 2, AES128CMSHA1_32)
	gcm := mustNew(t, 3, AEADAES128GCM)
	gcm256 := mustNew(t, 4, AEADAES256GCM)
	cm256 := mustNew(t, 5, AES256CMSHA1_80)
	broken := cm80
	broken.Tag = 6
	broken.Key = broken.Key[:10]
	cm80b := mustNew(t, 8, AES128CMSHA1_80)

	tests := []struct {
		name    string
		offered []Crypto
		want    Crypto
		ok      bool
	}{
		{"baresip: one line", []Crypto{cm80}, cm80, true},
		{"gcm preferred over cm", []Crypto{cm80, gcm}, gcm, true},
		{"gcm256 strongest", []Crypto{cm80, gcm, gcm256, cm256}, gcm256, true},
		{"cm256 over cm128", []Crypto{cm80, cm256}, cm256, true},
		{"80 over 32", []Crypto{cm32, cm80}, cm80, true},
		{"32 when alone", []Crypto{cm32}, cm32, true},
		{"first on a tie", []Crypto{cm80, cm80b}, cm80, true},
		{"invalid skipped", []Crypto{broken, cm32}, cm32, true},
		{"only invalid", []Crypto{broken}, Crypto{}, false},
		{"none", nil, Crypto{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			remote, local, ok := Negotiate(tc.offered)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if !ok {
				return
			}
			if remote.Tag != tc.want.Tag || !remote.Equal(tc.want) {
				t.Errorf("chose %v, want %v", remote, tc.want)
			}
			if local.Tag != remote.Tag || local.Suite != remote.Suite || local.Validate() != nil {
				t.Errorf("answer %v does not match %v", local, remote)
			}
			if local.Equal(remote) {
				t.Error("answer reuses the offerer's key; hushbox must use its own")
			}
		})
	}
}

func TestNegotiateReuse(t *testing.T) {
	offer := []Crypto{mustNew(t, 1, AES128CMSHA1_80), mustNew(t, 2, AEADAES128GCM)}
	prevGCM := mustNew(t, 9, AEADAES128GCM)
	prevCM := mustNew(t, 9, AES128CMSHA1_80)
	_, local, ok := Negotiate(offer, prevCM, prevGCM)
	if !ok || !local.Equal(prevGCM) || local.Tag != 2 {
		t.Errorf("reuse: got %v (ok %v), want hushbox's previous GCM key under tag 2", local, ok)
	}
	_, local, _ = Negotiate(offer[:1], prevGCM)
	if local.Equal(prevGCM) || local.Suite != AES128CMSHA1_80 {
		t.Errorf("reuse of another suite: got %v", local)
	}
	withMKI := prevCM
	withMKI.MKI = []byte{1}
	_, local, _ = Negotiate(offer[:1], withMKI)
	if local.Equal(withMKI) || len(local.MKI) != 0 {
		t.Errorf("reuse of a key with MKI: got %v", local)
	}
}

func TestSelect(t *testing.T) {
	ours := DefaultOffer()
	ans := mustNew(t, ours[1].Tag, ours[1].Suite)
	got, ok := Select(ours, ans)
	if !ok || !got.Equal(ours[1]) {
		t.Errorf("Select = %v, %v; want our tag %d", got, ok, ours[1].Tag)
	}
	wrongSuite := mustNew(t, ours[0].Tag, AES128CMSHA1_80)
	if _, ok := Select(ours, wrongSuite); ok {
		t.Error("Select accepted a changed suite")
	}
	unknown := mustNew(t, 42, AES128CMSHA1_80)
	if _, ok := Select(ours, unknown); ok {
		t.Error("Select accepted an unknown tag")
	}
}
