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
