package store

import (
	"errors"
	"fmt"
	"testing"
)

// Reads after every kind of write see the write, although reads are cached.
func TestExtensionCacheCoherent(t *testing.T) {
	db := openTest(t)
	e := Extension{Number: "101", Name: "Alice", Realm: "r"}
	if err := db.AddExtension(e); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Extension("101"); got.Name != "Alice" {
		t.Fatalf("got %+v", got)
	}
	e.Name = "Alicia"
	if err := db.PutExtension(e); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Extension("101"); got.Name != "Alicia" {
		t.Fatalf("after put: %+v", got)
	}
	if err := db.DeleteExtension("101"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Extension("101"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	for i := range 1000 {
		db.Extension(fmt.Sprint(5000 + i))
	}
	if n := len(db.exts.m); n != 0 {
		t.Fatalf("unknown numbers cached: %d", n)
	}
}

// The trunk list is cached, but every add and delete is seen at once.
func TestTrunkCacheCoherent(t *testing.T) {
	db := openTest(t)
	if ts, _ := db.Trunks(); len(ts) != 0 {
		t.Fatal(ts)
	}
	tr := Trunk{Name: "b", Kind: TrunkHushbox, Address: "h:5061", Transport: "tls", Prefix: "2", PeerKey: "k"}
	if err := db.AddTrunk(tr); err != nil {
		t.Fatal(err)
	}
	ts, _ := db.Trunks()
	if len(ts) != 1 {
		t.Fatalf("after add: %v", ts)
	}
	ts[0].Name = "scribbled" // a caller's copy must not reach the cache
	if again, _ := db.Trunks(); again[0].Name != "b" {
		t.Fatal("cache shared with the caller")
	}
	if err := db.DeleteTrunk("b"); err != nil {
		t.Fatal(err)
	}
	if ts, _ := db.Trunks(); len(ts) != 0 {
		t.Fatalf("after delete: %v", ts)
	}
}
