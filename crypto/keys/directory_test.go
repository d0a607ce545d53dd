package keys

import (
	"strings"
	"testing"
)

func TestDirectory(t *testing.T) {
	a, b, c := mustIdentity(t).Public(), mustIdentity(t).Public(), mustIdentity(t).Public()
	d := Directory{"alice": a, "bob@desk": b, "bob-phone": b}
	if !d.Trusted(a) || !d.Trusted(b) || d.Trusted(c) {
		t.Fatal("Trusted wrong")
	}
	if n, ok := d.Name(b); !ok || n != "bob-phone" {
		t.Fatalf("Name(b) = %q, %v", n, ok)
	}
	if _, ok := d.Name(c); ok {
		t.Fatal("Name of an unknown key")
	}
	text, err := d.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	want := "alice " + a.String() + "\nbob-phone " + b.String() + "\nbob@desk " + b.String() + "\n"
	if string(text) != want {
		t.Fatalf("MarshalText:\n%s\nwant:\n%s", text, want)
	}
	var back Directory
	if err := back.UnmarshalText(text); err != nil {
		t.Fatal(err)
	}
	if len(back) != len(d) || back["alice"] != a || back["bob@desk"] != b || back["bob-phone"] != b {
		t.Fatalf("round trip: %v", back)
	}
	// Comments, blank lines, tabs.
	p, err := ParseDirectory([]byte("# pinned keys\n\n  carol\t" + c.String() + "  \r\n"))
	if err != nil || p["carol"] != c || len(p) != 1 {
		t.Fatalf("ParseDirectory: %v, %v", p, err)
	}
	if _, err := (Directory{"bad name": a}).MarshalText(); err == nil {
		t.Fatal("MarshalText accepted a name with a space")
	}
}

func TestParseDirectoryRefuses(t *testing.T) {
	k := mustIdentity(t).Public().String()
	for _, s := range []string{
		"alice",
		"alice " + k + " extra",
		"alice hbx1:xyz",
		"alice " + k + "\nalice " + k,
		"al/ice " + k,
		strings.Repeat("a", MaxNameLen+1) + " " + k,
		"alice " + strings.Repeat("A", 70000),
	} {
		if _, err := ParseDirectory([]byte(s)); err == nil {
			t.Errorf("ParseDirectory(%.40q) accepted", s)
		}
	}
}
