package peer

import (
	"encoding/json"
	"testing"

	"hushbox/crypto/keys"
)

// FuzzParseMessage: the pairing endpoint's parser never panics, and what
// it accepts is well-formed.
func FuzzParseMessage(f *testing.F) {
	id, err := keys.NewIdentity()
	if err != nil {
		f.Fatal(err)
	}
	good := Message{Hello: Hello{Version: 1, Name: "box", Role: RoleBoard, Identity: id.Public(),
		CertFP:   "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99",
		PeerPort: 8444, SIPPort: 5061, Nonce: make([]byte, 32)}, MAC: make([]byte, 32)}
	b, _ := json.Marshal(good)
	f.Add(b)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"v":1,"name":"x"} {}`))
	f.Add([]byte(`{"v":1,"identity":"hbx1:AAAA"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseMessage(data)
		if err != nil {
			return
		}
		if m.Version != Protocol || len(m.Nonce) != nonceSize || len(m.MAC) != macSize || !validFP(m.CertFP) || !validBoxName(m.Name) {
			t.Fatalf("accepted a malformed message: %+v", m)
		}
	})
}
