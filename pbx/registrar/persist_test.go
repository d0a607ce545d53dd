package registrar

import (
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

func TestSnapshotLoad(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	a := NewLocation()
	a.now = func() time.Time { return now }
	var u1, u2 sip.Uri
	sip.ParseUri("sip:101@10.0.0.5:5062;transport=tcp", &u1)
	sip.ParseUri("sip:102@10.0.0.6", &u2)
	a.update("101", []Binding{{Extension: "101", Contact: u1, Expires: now.Add(time.Hour), Source: "10.0.0.5:40000", Transport: "TCP", CallID: "c1", CSeq: 3}}, nil, false, nil, MaxContacts, nil)
	a.update("102", []Binding{{Extension: "102", Contact: u2, Expires: now.Add(time.Minute), Source: "10.0.0.6:5060", Transport: "UDP"}}, nil, false, nil, MaxContacts, nil)
	a.update("103", []Binding{{Extension: "103", Contact: u2, Expires: now.Add(time.Hour)}}, nil, false, nil, MaxContacts, nil)
	data, err := a.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	b := NewLocation()
	later := now.Add(2 * time.Minute) // 102's binding has lapsed by then
	b.now = func() time.Time { return later }
	n, err := b.Load(data, func(ext string) bool { return ext != "103" }) // 103 was deleted
	if err != nil || n != 1 {
		t.Fatalf("kept %d, %v; want only 101's", n, err)
	}
	got := b.Lookup("101")
	if len(got) != 1 || got[0].Contact.String() != u1.String() || got[0].Source != "10.0.0.5:40000" || got[0].Transport != "TCP" || got[0].CSeq != 3 {
		t.Fatalf("restored %+v", got)
	}
	if _, err := b.Load([]byte("{garbage"), func(string) bool { return true }); err == nil {
		t.Fatal("garbage accepted")
	}
}
