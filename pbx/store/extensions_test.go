package store

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"hushbox/pbx/digest"
)

var (
	ha1MD5    = digest.HA1(digest.MD5, "1001", "hushbox", "pw")
	ha1SHA256 = digest.HA1(digest.SHA256, "1001", "hushbox", "pw")
)

func TestValidNumber(t *testing.T) {
	tests := []struct {
		num string
		ok  bool
	}{
		{"10", true},
		{"1001", true},
		{"007", true},
		{"123456789012345", true},
		{"1", false},
		{"", false},
		{"1234567890123456", false},
		{"+4930123", false},
		{"10a", false},
		{"١٢٣", false}, // Arabic-Indic digits
		{"10 ", false},
	}
	for _, tt := range tests {
		err := ValidNumber(tt.num)
		if (err == nil) != tt.ok {
			t.Errorf("ValidNumber(%q) = %v, want ok=%v", tt.num, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("ValidNumber(%q) error does not wrap ErrInvalid", tt.num)
		}
	}
}

func TestValidName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"", true},
		{"Front Desk", true},
		{"Zoë Müller", true},
		{strings.Repeat("é", MaxNameLen), true},
		{strings.Repeat("a", MaxNameLen+1), false},
		{"tab\there", false},
		{"new\nline", false},
		{"\xff", false},
	}
	for _, tt := range tests {
		if err := ValidName(tt.name); (err == nil) != tt.ok {
			t.Errorf("ValidName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestExtensionValidate(t *testing.T) {
	good := Extension{Number: "1001", Name: "Desk", Realm: "hushbox", HA1MD5: ha1MD5, HA1SHA256: ha1SHA256}
	tests := []struct {
		name   string
		modify func(*Extension)
		ok     bool
	}{
		{"good", func(*Extension) {}, true},
		{"no HA1 at all", func(e *Extension) { e.HA1MD5, e.HA1SHA256 = "", "" }, true},
		{"bad number", func(e *Extension) { e.Number = "1" }, false},
		{"bad name", func(e *Extension) { e.Name = "a\x00" }, false},
		{"empty realm", func(e *Extension) { e.Realm = "" }, false},
		{"realm with newline", func(e *Extension) { e.Realm = "a\nb" }, false},
		{"md5 HA1 wrong length", func(e *Extension) { e.HA1MD5 = ha1SHA256 }, false},
		{"sha HA1 wrong length", func(e *Extension) { e.HA1SHA256 = ha1MD5 }, false},
		{"HA1 is a password", func(e *Extension) { e.HA1MD5 = "secret" }, false},
	}
	for _, tt := range tests {
		e := good
		tt.modify(&e)
		if err := e.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: Validate = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestExtensionCRUD(t *testing.T) {
	clock := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	db := openTest(t, WithClock(func() time.Time { return clock }))

	ext := Extension{Number: "1001", Name: "Desk", Realm: "hushbox", HA1MD5: ha1MD5, HA1SHA256: ha1SHA256}
	if err := db.AddExtension(ext); err != nil {
		t.Fatalf("AddExtension: %v", err)
	}
	if err := db.AddExtension(ext); !errors.Is(err, ErrExists) {
		t.Errorf("second AddExtension = %v, want ErrExists", err)
	}
	if err := db.AddExtension(Extension{Number: "x", Realm: "hushbox"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("AddExtension with bad number = %v, want ErrInvalid", err)
	}
	got, err := db.Extension("1001")
	if err != nil {
		t.Fatal(err)
	}
	want := ext
	want.Created, want.Updated = clock, clock
	if got != want {
		t.Errorf("Extension = %+v, want %+v", got, want)
	}
	if got.HA1(digest.MD5) != ha1MD5 || got.HA1("") != ha1MD5 || got.HA1("sha-256") != ha1SHA256 || got.HA1("MD5-sess") != "" {
		t.Error("Extension.HA1 picks the wrong value")
	}

	// Change the password: Created stays, Updated moves.
	clock = clock.Add(time.Hour)
	ext.HA1MD5 = digest.HA1(digest.MD5, "1001", "hushbox", "new")
	ext.HA1SHA256 = ""
	if err := db.PutExtension(ext); err != nil {
		t.Fatalf("PutExtension: %v", err)
	}
	got, _ = db.Extension("1001")
	if got.HA1MD5 != ext.HA1MD5 || got.HA1SHA256 != "" {
		t.Errorf("PutExtension did not replace HA1 values: %+v", got)
	}
	if !got.Created.Equal(want.Created) || !got.Updated.Equal(clock) {
		t.Errorf("Created %v Updated %v, want %v and %v", got.Created, got.Updated, want.Created, clock)
	}

	// PutExtension also creates.
	if err := db.PutExtension(Extension{Number: "20", Realm: "hushbox"}); err != nil {
		t.Fatal(err)
	}
	if err := db.AddExtension(Extension{Number: "100", Realm: "hushbox"}); err != nil {
		t.Fatal(err)
	}
	list, err := db.Extensions()
	if err != nil {
		t.Fatal(err)
	}
	var nums []string
	for _, e := range list {
		nums = append(nums, e.Number)
	}
	if fmt.Sprint(nums) != "[20 100 1001]" {
		t.Errorf("Extensions order = %v, want [20 100 1001]", nums)
	}

	if err := db.DeleteExtension("1001"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Extension("1001"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Extension after delete = %v, want ErrNotFound", err)
	}
	if err := db.DeleteExtension("1001"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second DeleteExtension = %v, want ErrNotFound", err)
	}
	if _, err := db.Extension("9999"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Extension(unknown) = %v, want ErrNotFound", err)
	}
}

func TestExtensionsEmpty(t *testing.T) {
	db := openTest(t)
	list, err := db.Extensions()
	if err != nil || len(list) != 0 {
		t.Errorf("Extensions on a new store = %v, %v", list, err)
	}
}

func BenchmarkExtensionLookup(b *testing.B) {
	db := openTest(b)
	for i := range 200 {
		if err := db.AddExtension(Extension{Number: fmt.Sprint(1000 + i), Realm: "hushbox", HA1MD5: ha1MD5}); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		if _, err := db.Extension("1100"); err != nil {
			b.Fatal(err)
		}
	}
}
