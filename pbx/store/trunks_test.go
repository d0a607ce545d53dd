package store

import (
	"errors"
	"testing"
)

func TestTrunks(t *testing.T) {
	db := openTest(t)
	good := Trunk{Name: "office-b", Kind: TrunkHushbox, Address: "10.0.0.2:5061", Transport: "tls", Prefix: "2",
		PeerKey: "hbx1:abc"}
	if err := db.AddTrunk(good); err != nil {
		t.Fatal(err)
	}
	if err := db.AddTrunk(good); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate: %v", err)
	}
	bad := []Trunk{
		{Name: "Office", Kind: TrunkSIP, Address: "a:5060", Transport: "udp"},
		{Name: "p", Kind: "isdn", Address: "a:5060", Transport: "udp"},
		{Name: "p", Kind: TrunkSIP, Address: "a", Transport: "udp"},
		{Name: "p", Kind: TrunkSIP, Address: "a:99999", Transport: "udp"},
		{Name: "p", Kind: TrunkSIP, Address: "a:5060", Transport: "sctp"},
		{Name: "p", Kind: TrunkHushbox, Address: "a:5061", Transport: "tls"},
		{Name: "p", Kind: TrunkHushbox, Address: "a:5061", Transport: "udp", PeerKey: "k"},
		{Name: "p", Kind: TrunkSIP, Address: "a:5060", Transport: "udp", Prefix: "9x"},
		{Name: "p", Kind: TrunkSIP, Address: "a:5060", Transport: "udp", Prefix: "9", Strip: 2},
		{Name: "p", Kind: TrunkSIP, Address: "a:5060", Transport: "udp", DIDs: map[string]string{"5551234": "1"}},
		{Name: "p", Kind: TrunkSIP, Address: "a:5060", Transport: "udp", Username: "a\r\nb"},
	}
	for _, tr := range bad {
		if err := db.AddTrunk(tr); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v accepted: %v", tr, err)
		}
	}
	sipTrunk := Trunk{Name: "provider", Kind: TrunkSIP, Address: "sip.example.net:5060", Transport: "udp", Prefix: "9",
		Strip: 1, Username: "u", PasswordSealed: []byte{1, 2}, Register: true, DIDs: map[string]string{"+15551234": "101"}}
	if err := db.AddTrunk(sipTrunk); err != nil {
		t.Fatal(err)
	}
	ts, err := db.Trunks()
	if err != nil || len(ts) != 2 || ts[0].Name != "office-b" || ts[1].DIDs["+15551234"] != "101" {
		t.Fatalf("trunks: %+v %v", ts, err)
	}
	if err := db.DeleteTrunk("office-b"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteTrunk("office-b"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

func TestKeys(t *testing.T) {
	db := openTest(t)
	if _, err := db.Key("identity"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing key: %v", err)
	}
	got, err := db.PutKeyIfAbsent("identity", []byte("one"))
	if err != nil || string(got) != "one" {
		t.Fatal(got, err)
	}
	got, err = db.PutKeyIfAbsent("identity", []byte("two"))
	if err != nil || string(got) != "one" {
		t.Fatalf("second put replaced the key: %q %v", got, err)
	}
}
